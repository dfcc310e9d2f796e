//! A student's record, and the roll: transfers (R7) and the comparison with the household
//! register (R6). A student's record is a minor's personal data: reading it is audited (R23).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cases::wire_enum;
use crate::ids::{OrgUnitId, StudentId};

wire_enum!(
    /// Gender as recorded on the roll.
    Gender {
        /// Male.
        Male => "male",
        /// Female.
        Female => "female",
    }
);

wire_enum!(
    /// One of the special groups (R22), as a filter names it.
    SpecialGroup {
        /// Left-behind child (留守儿童).
        LeftBehind => "left_behind",
        /// Orphan.
        Orphan => "orphan",
        /// Disabled.
        Disabled => "disabled",
        /// Registered poor household.
        PoorHousehold => "poor_household",
        /// Migrant child.
        Migrant => "migrant",
    }
);

/// Special groups reported separately (R22).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecialGroups {
    /// Left-behind child (留守儿童).
    pub left_behind: bool,
    /// Orphan.
    pub orphan: bool,
    /// Disabled.
    pub disabled: bool,
    /// Registered poor household (建档立卡/脱贫户).
    pub poor_household: bool,
    /// Migrant child (随迁子女).
    pub migrant: bool,
}

impl SpecialGroups {
    /// The groups the student belongs to, in declaration order.
    pub fn members(self) -> Vec<SpecialGroup> {
        [
            (self.left_behind, SpecialGroup::LeftBehind),
            (self.orphan, SpecialGroup::Orphan),
            (self.disabled, SpecialGroup::Disabled),
            (self.poor_household, SpecialGroup::PoorHousehold),
            (self.migrant, SpecialGroup::Migrant),
        ]
        .into_iter()
        .filter_map(|(yes, group)| yes.then_some(group))
        .collect()
    }
}

/// A guardian and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Guardian {
    /// Name.
    pub name: String,
    /// Relation to the student (父亲, 母亲, 祖父…).
    pub relation: String,
    /// Phone number.
    pub phone: String,
}

/// One pupil of a school's roll, as `GET /api/v1/roll` lists it for a phone to report an
/// absence offline: the name and where the child belongs, no personal data beyond the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollEntry {
    /// The student.
    pub id: StudentId,
    /// Name.
    pub name: String,
    /// School.
    pub school_id: OrgUnitId,
    /// Village of residence.
    pub village_id: OrgUnitId,
    /// Township.
    pub township_id: OrgUnitId,
    /// Grade (1–9).
    pub grade: i32,
    /// Class.
    pub class_name: String,
}

/// `GET /api/v1/students/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StudentDetail {
    /// The student's id.
    pub id: StudentId,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Gender,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// National ID number (身份证号).
    pub id_number: String,
    /// Student registration number (学籍号).
    pub registration_no: String,
    /// The school on the roll.
    pub school_id: OrgUnitId,
    /// Grade, 1–9.
    pub grade: i32,
    /// Class within the grade.
    pub class_name: String,
    /// Household-registration address (户籍地).
    pub household_address: String,
    /// The village of residence.
    pub village_id: OrgUnitId,
    /// Residence address.
    pub residence_address: String,
    /// Guardians.
    pub guardians: Vec<Guardian>,
    /// Special-group flags.
    pub groups: SpecialGroups,
}

/// Body of `POST /api/v1/students/{id}/transfer`: where a student moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The new school.
    pub school_id: OrgUnitId,
    /// The new village of residence.
    pub village_id: OrgUnitId,
}

/// One child of the household register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisteredChild {
    /// Name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// National ID number (身份证号).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub id_number: String,
    /// The village (or community) of residence.
    pub village_id: OrgUnitId,
}

/// Body of `POST /api/v1/roll-comparisons`: the household register's children of the district.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RollComparison {
    /// The day ages are counted on (the school year's start).
    pub as_of: NaiveDate,
    /// The children on the register (at most 20,000 per request).
    pub children: Vec<RegisteredChild>,
}

/// A child on the register and on no roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnenrolledChild {
    /// The finding.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Village of residence.
    pub village_id: uuid::Uuid,
    /// Township of residence, which persuades the family.
    pub township_id: uuid::Uuid,
    /// The comparison's day.
    pub as_of: NaiveDate,
}

/// What a roll comparison found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComparisonReport {
    /// Children compared.
    pub children: u64,
    /// Of those, younger than 6 or older than 16 on `as_of`.
    pub out_of_age: u64,
    /// On a school's roll.
    pub on_roll: u64,
    /// Listed as unenrolled by an earlier comparison already.
    pub already_listed: u64,
    /// Newly listed, each routed to the township of residence.
    pub unenrolled: Vec<UnenrolledChild>,
}

/// Body of `POST /api/v1/roll-reconciliations`: a school confirms its roll reconciled for the
/// current term (R7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReconcileRoll {
    /// The school (the caller's own).
    pub school_id: OrgUnitId,
    /// What changed (transfers, suspensions, graduations), in the school's words.
    #[serde(default)]
    pub notes: String,
}

/// One school's roll reconciliation of a term (R7): due, done, or overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchoolReconciliation {
    /// The school.
    pub school_id: OrgUnitId,
    /// Its name.
    pub school: String,
    /// Who confirmed it, once done.
    pub reconciled_by: Option<crate::ids::UserId>,
    /// When, once done.
    pub reconciled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the school wrote.
    pub notes: String,
    /// Not done and past its day.
    pub overdue: bool,
}

/// `GET /api/v1/roll-reconciliations`: the current term's reconciliation of each school in the
/// caller's scope (R7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reconciliations {
    /// The term's first day.
    pub term_start: NaiveDate,
    /// The last day to reconcile: two weeks after the term's start.
    pub due_on: NaiveDate,
    /// Each school, by name.
    pub schools: Vec<SchoolReconciliation>,
}
