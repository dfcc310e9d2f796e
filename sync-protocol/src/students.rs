//! A student's record. It is a minor's personal data: reading it is audited (R23).

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
