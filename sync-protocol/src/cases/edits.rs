//! What the web sends to open and change cases: `POST /api/v1/cases`, `PATCH
//! /api/v1/cases/{id}` and `POST /api/v1/cases/{id}/reviews`. The server turns each into one
//! mutation of a push, as a phone would send it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::FoundBy;
use crate::evidence::{ReviewTarget, Verdict};
use crate::ids::StudentId;
use crate::sync::CaseField;

/// Body of `POST /api/v1/cases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    /// The student.
    pub student_id: StudentId,
    /// How the absence was found (default: the daily roll call).
    #[serde(default)]
    pub found_by: Option<FoundBy>,
    /// The first day of the unexcused absence (default: today, China's date).
    #[serde(default)]
    pub first_absent_on: Option<NaiveDate>,
}

/// Body of `PATCH /api/v1/cases/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseChange {
    /// The case version the change was made on (as read from `GET /api/v1/cases/{id}`).
    pub base_version: i64,
    /// The changed fields only.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub fields: Vec<CaseField>,
}

/// Body of `POST /api/v1/cases/{id}/reviews`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// What is judged.
    pub target: ReviewTarget,
    /// The attempt's or document's id, or the case's own id for a closure request.
    pub target_id: uuid::Uuid,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (required unless approved).
    #[serde(default)]
    pub reason: String,
}
