//! A case with everything a supervisor reviews (`GET /api/v1/cases/{id}`): the ledger row with
//! what is due and its version, every attempt with its participants, the evidence files with
//! their download and thumbnail links, the documents, the reviews, the moves along the case
//! machine, and the conflicts sync kept.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::{Attempt, CaseStatus, CaseSummary};
use crate::evidence::{Document, Review};
use crate::ids::{MediaId, UserId};
use crate::media::{MediaKind, MediaRef};
use crate::sync::Conflict;

/// A case with its records, each list oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseDetail {
    /// The ledger row, with what is due and its version.
    #[serde(flatten)]
    pub case: CaseSummary,
    /// Every attempt, with its participants.
    pub attempts: Vec<Attempt>,
    /// The evidence files of the attempts and documents (each names its `target_kind` and
    /// `target_id`), with their links.
    #[serde(default)]
    pub media: Vec<MediaLink>,
    /// The documents.
    #[serde(default)]
    pub documents: Vec<Document>,
    /// The supervisors' reviews of attempts, documents and the closure request.
    #[serde(default)]
    pub reviews: Vec<Review>,
    /// The moves along the case machine, with who made them. The server's answer carries
    /// them; a phone's own view of a case leaves them out (moves are not synced).
    #[serde(default)]
    pub moves: Vec<CaseMove>,
    /// The conflicts sync kept: who changed what, which value was kept.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

/// An evidence file with where to fetch it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaLink {
    /// The file.
    #[serde(flatten)]
    pub media: MediaRef,
    /// Its bytes (`GET`, byte ranges served).
    pub download_url: String,
    /// A small JPEG of a photo; none for other kinds.
    #[serde(default)]
    pub thumbnail_url: Option<String>,
}

impl MediaLink {
    /// The links of `media` on this API.
    pub fn of(media: MediaRef) -> Self {
        let download_url = media_path(media.id);
        let thumbnail_url =
            (media.kind == MediaKind::Photo).then(|| format!("{download_url}/thumbnail"));
        Self {
            media,
            download_url,
            thumbnail_url,
        }
    }
}

/// The path of the media object `id`.
fn media_path(id: MediaId) -> String {
    format!("/api/v1/media/{id}")
}

/// One move along the case machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseMove {
    /// The status it left.
    pub from: CaseStatus,
    /// The status it entered.
    pub to: CaseStatus,
    /// Who made it.
    pub moved_by: UserId,
    /// When it counts as made (the device's stamp, bounded: docs/case-workflow.md).
    pub moved_at: DateTime<Utc>,
    /// When the server stored it.
    pub recorded_at: DateTime<Utc>,
}
