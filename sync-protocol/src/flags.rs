//! Plausibility flags (issue 20): what the server noticed about evidence when it arrived that a
//! supervisor should look at — a photo taken long before the visit, a visit far from the child's
//! village, a photo already used elsewhere, a recording much shorter than a visit, a record made
//! long after the visit, or one person in two far places within minutes. A flag never blocks
//! anything: it names its evidence, waits in the review queue, and a reviewer dismisses it with
//! a reason.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::wire_enum;
use crate::ids::{AttemptId, CaseId, FlagId, MediaId, UserId};

wire_enum!(
    /// What a flag says.
    FlagKind {
        /// A photo's capture time (EXIF, else as the phone declared it) far from the attempt's.
        CaptureTime => "capture_time",
        /// The attempt or its photo far from the centre point of the child's village.
        FarFromVillage => "far_from_village",
        /// The same photo (by SHA-256, or a re-encoded copy by perceptual hash) on another
        /// attempt or case.
        ReusedPhoto => "reused_photo",
        /// A visit's recording much shorter than a visit.
        ShortRecording => "short_recording",
        /// The attempt recorded on the phone long after it happened.
        LateRecord => "late_record",
        /// Attempts by one person at places too far apart for the time between them.
        ImpossibleTravel => "impossible_travel",
    }
);

/// A reviewer's dismissal of a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dismissal {
    /// Who dismissed it.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// A flag on an attempt or one of its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    /// The flag's id.
    pub id: FlagId,
    /// The case.
    pub case_id: CaseId,
    /// The attempt it concerns.
    pub attempt_id: AttemptId,
    /// The file it concerns, if it is about a file.
    #[serde(default)]
    pub media_id: Option<MediaId>,
    /// What it says.
    pub kind: FlagKind,
    /// Its evidence, in words: the values compared and the limit (English; an app shows its own
    /// words by `kind`).
    pub detail: String,
    /// The other records it names (the attempt or file the photo was already on, the other
    /// attempt of an impossible journey).
    #[serde(default)]
    pub related: Vec<uuid::Uuid>,
    /// When the server raised it.
    pub raised_at: DateTime<Utc>,
    /// The dismissal, once a reviewer dismissed it.
    #[serde(default)]
    pub dismissal: Option<Dismissal>,
}

/// A reviewer dismisses a flag (`POST /api/v1/flags/{id}/dismiss`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DismissFlag {
    /// Why the flag does not hold (required).
    pub reason: String,
}

/// An org unit's centre point (`PUT /api/v1/org-units/{id}/centre`): how far a visit was from
/// the child's village is measured from it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Centre {
    /// Latitude in degrees (WGS 84).
    pub lat: f64,
    /// Longitude in degrees (WGS 84).
    pub lon: f64,
}

/// Which flags a list holds (`GET /api/v1/flags?status=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    /// `true`: dismissed flags too; by default the open ones only.
    #[serde(default)]
    pub dismissed: bool,
}
