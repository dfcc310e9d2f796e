//! The reports of the ledger (R22): the period the exports and statistics cover, and the
//! statistics of a period. Aggregates only, no personal data.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Query of the ledger exports and statistics: a period (`from` and `to`, or `month`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// The period's first day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// The period's last day (at most three years after `from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    /// Instead of `from` and `to`: a calendar month, `YYYY-MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
    /// Only cases under this org unit (a district, township, village or school).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<uuid::Uuid>,
}

/// Dropouts in one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassCount {
    /// The school.
    pub school_id: uuid::Uuid,
    /// The school's name.
    pub school: String,
    /// The grade.
    pub grade: i32,
    /// The class.
    pub class_name: String,
    /// Dropouts.
    pub dropouts: u64,
}

/// Dropouts in each special group (a student may be in several).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCounts {
    /// 留守儿童.
    pub left_behind: u64,
    /// 孤儿.
    pub orphan: u64,
    /// 残疾.
    pub disabled: u64,
    /// 脱贫户 (建档立卡).
    pub poor_household: u64,
    /// 随迁子女.
    pub migrant: u64,
}

/// The statistics of a period: `GET /api/v1/reports/statistics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Statistics {
    /// The period's first day.
    pub from: NaiveDate,
    /// The period's last day.
    pub to: NaiveDate,
    /// The org unit counted, when one was asked for.
    pub org_unit_id: Option<uuid::Uuid>,
    /// Students on the roll in the scope.
    pub enrolled: u64,
    /// Cases open at some time in the period.
    pub open_cases: u64,
    /// Of those, opened in the period.
    pub new_cases: u64,
    /// Of the open cases, those out of school as reported to the bureau at the period's end
    /// (standing in `reported`, `joint_persuasion` or `compulsory_return` on its last day): the
    /// dropouts.
    pub dropouts: u64,
    /// Dropouts per hundred students enrolled.
    pub dropout_rate_percent: f64,
    /// Cases that returned to school (or were placed in a vocational school) in the period,
    /// counted from their recorded moves.
    pub returned: u64,
    /// Cases closed (销号) in the period.
    pub closed: u64,
    /// Cases open in the period by their status at its end.
    pub by_status: BTreeMap<String, u64>,
    /// Dropouts by reason (`unknown` while none is recorded).
    pub by_reason: BTreeMap<String, u64>,
    /// Dropouts by grade (keys are the grade numbers, as JSON object keys are: text).
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, u64>))]
    pub by_grade: BTreeMap<i32, u64>,
    /// Dropouts by class.
    pub by_class: Vec<ClassCount>,
    /// Dropouts in the special groups, counted separately.
    pub special_groups: GroupCounts,
}

/// The answer to filing a generated report: the document it became and its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FiledReport {
    /// The document of the case.
    pub document_id: crate::ids::DocumentId,
    /// Its file, a media object of the document.
    pub media_id: crate::ids::MediaId,
    /// The file's SHA-256 (hex), under which it downloads.
    pub sha256: String,
    /// The file's size in bytes.
    pub size: u64,
}
