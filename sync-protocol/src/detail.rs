//! A case with everything a supervisor reviews (`GET /api/v1/cases/{id}`): the ledger row with
//! what is due and its version, every attempt with its participants, the evidence files with
//! their download and thumbnail links, the documents, the reviews, the moves along the case
//! machine, the conflicts sync kept, and the participants' signatures with how each attempt's
//! confirmation stands.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::{Attempt, CaseStatus, CaseSummary};
use crate::evidence::{Document, Review};
use crate::flags::Flag;
use crate::ids::{AttemptId, MediaId, UserId};
use crate::media::{MediaKind, MediaRef};
use crate::signing::{self, ParticipantConfirmation, Signature};
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
    /// The participants' signatures of the attempts (R21), oldest first.
    #[serde(default)]
    pub signatures: Vec<Signature>,
    /// Per attempt, who of its participants has confirmed it as it stands (R21).
    #[serde(default)]
    pub confirmations: Vec<AttemptConfirmations>,
    /// What the server noticed about the evidence (plausibility flags), oldest first, dismissed
    /// ones included. The server's answer carries them; a phone's own view leaves them out.
    #[serde(default)]
    pub flags: Vec<Flag>,
}

impl CaseDetail {
    /// The SHA-256s of `attempt`'s files here, previews left out: what its signatures cover.
    pub fn files_of(&self, attempt: AttemptId) -> Vec<&str> {
        self.media
            .iter()
            .map(|link| &link.media)
            .filter(|m| {
                m.target_kind == "attempt" && m.target_id == attempt.0 && m.preview_of.is_none()
            })
            .map(|m| m.sha256.as_str())
            .collect()
    }

    /// The case with [`CaseDetail::confirmations`] worked out from its attempts, files and
    /// signatures.
    #[must_use]
    pub fn confirmed(mut self) -> Self {
        self.confirmations = self
            .attempts
            .iter()
            .map(|a| AttemptConfirmations::of(a, &self.signatures, &self.files_of(a.id)))
            .collect();
        self
    }
}

/// How the participants of one attempt stand (R21): signed, vouched for, stale or missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptConfirmations {
    /// The attempt.
    pub attempt_id: AttemptId,
    /// The digest of its content as it stands (`signing::content_digest`).
    pub content_digest: String,
    /// Each participant, in the attempt's order.
    pub participants: Vec<ParticipantConfirmation>,
}

impl AttemptConfirmations {
    /// How `attempt`'s participants stand, given the case's `signatures` and the SHA-256s of
    /// the attempt's files (previews left out).
    pub fn of(attempt: &Attempt, signatures: &[Signature], files: &[&str]) -> Self {
        let content_digest = signing::content_digest(attempt, files.iter().copied());
        let participants = signing::confirmations(attempt, signatures, &content_digest, files);
        Self {
            attempt_id: attempt.id,
            content_digest,
            participants,
        }
    }

    /// Whether every participant has confirmed the attempt as it stands.
    pub fn complete(&self) -> bool {
        self.participants.iter().all(|p| p.confirmation.holds())
    }
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
