//! `GET /api/v1/cases/due`: what is due on the open cases of the caller's scope, and what is
//! overdue, a page of cases at a time.

use serde::{Deserialize, Serialize};

use super::{CaseStatus, DueItem};
use crate::ids::{CaseId, OrgUnitId};

/// Query of `GET /api/v1/cases/due`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    /// Only cases with something overdue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    /// Only cases under this org unit (a township, village or school of the caller's scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<OrgUnitId>,
    /// The `next_after` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<CaseId>,
    /// Cases per page, 1–500 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u64>,
}

/// A due item and whether its day has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueEntry {
    /// The item.
    #[serde(flatten)]
    pub item: DueItem,
    /// Whether `due_on` is before today (China's date).
    pub overdue: bool,
}

/// A case with what is due on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueCase {
    /// The case.
    pub case_id: CaseId,
    /// The student's name.
    pub student_name: String,
    /// Its school.
    pub school_id: OrgUnitId,
    /// Where it stands.
    pub status: CaseStatus,
    /// What is due, by whom and by when, earliest first.
    pub items: Vec<DueEntry>,
}

/// What is due on the cases in the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueList {
    /// Open cases with something due, by case id.
    pub cases: Vec<DueCase>,
    /// Years without a holiday schedule that some deadlines of this page fall in: those
    /// deadlines are not counted until the year is loaded (`PUT /api/v1/calendars/{year}`).
    pub calendar_missing: Vec<i32>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<CaseId>,
}
