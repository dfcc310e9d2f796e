//! What part of the org tree a user sees, as a condition inside the SQL of every query (or, for
//! cases read by their ids, checked on each row read).

use sea_orm::{ColumnTrait, Condition};
use sync_protocol::org::Role;
use uuid::Uuid;

/// The records a caller may see: everything under one org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Teachers and school leads: their school.
    School(Uuid),
    /// Village members: their village.
    Village(Uuid),
    /// Township officers: their township (of residence, which runs joint persuasion).
    Township(Uuid),
    /// Supervisors and admins: their district.
    District(Uuid),
}

impl Scope {
    /// The scope of a user with `role` in org unit `org_unit`.
    pub fn of(role: Role, org_unit: Uuid) -> Self {
        match role {
            Role::Teacher | Role::SchoolLead => Self::School(org_unit),
            Role::VillageMember => Self::Village(org_unit),
            Role::TownshipOfficer => Self::Township(org_unit),
            Role::Supervisor | Role::Admin => Self::District(org_unit),
        }
    }

    /// Whether `case` is in this scope.
    pub fn contains(self, case: &crate::db::entity::case::Model) -> bool {
        match self {
            Self::School(id) => case.school_id == id,
            Self::Village(id) => case.village_id == id,
            Self::Township(id) => case.township_id == id,
            Self::District(id) => case.district_id == id,
        }
    }

    /// The condition on a table that carries the four org-unit columns.
    pub fn condition<E: ScopedColumns>(self) -> Condition {
        let (column, id) = match self {
            Self::School(id) => (E::SCHOOL, id),
            Self::Village(id) => (E::VILLAGE, id),
            Self::Township(id) => (E::TOWNSHIP, id),
            Self::District(id) => (E::DISTRICT, id),
        };
        Condition::all().add(column.eq(id))
    }
}

/// The condition on a table that carries the four org-unit columns: the row belongs to `unit`,
/// whatever its level (school, village, township or district).
pub fn under<E: ScopedColumns>(unit: uuid::Uuid) -> Condition {
    Condition::any()
        .add(E::SCHOOL.eq(unit))
        .add(E::VILLAGE.eq(unit))
        .add(E::TOWNSHIP.eq(unit))
        .add(E::DISTRICT.eq(unit))
}

/// A table whose rows carry the school, village, township and district they belong to.
pub trait ScopedColumns {
    /// The column type.
    type Column: ColumnTrait;
    /// The school column.
    const SCHOOL: Self::Column;
    /// The village-of-residence column.
    const VILLAGE: Self::Column;
    /// The township-of-residence column.
    const TOWNSHIP: Self::Column;
    /// The district column.
    const DISTRICT: Self::Column;
}

impl ScopedColumns for crate::db::entity::case::Entity {
    type Column = crate::db::entity::case::Column;
    const SCHOOL: Self::Column = Self::Column::SchoolId;
    const VILLAGE: Self::Column = Self::Column::VillageId;
    const TOWNSHIP: Self::Column = Self::Column::TownshipId;
    const DISTRICT: Self::Column = Self::Column::DistrictId;
}

impl ScopedColumns for crate::db::entity::student::Entity {
    type Column = crate::db::entity::student::Column;
    const SCHOOL: Self::Column = Self::Column::SchoolId;
    const VILLAGE: Self::Column = Self::Column::VillageId;
    const TOWNSHIP: Self::Column = Self::Column::TownshipId;
    const DISTRICT: Self::Column = Self::Column::DistrictId;
}

impl ScopedColumns for crate::db::entity::change_log::Entity {
    type Column = crate::db::entity::change_log::Column;
    const SCHOOL: Self::Column = Self::Column::SchoolId;
    const VILLAGE: Self::Column = Self::Column::VillageId;
    const TOWNSHIP: Self::Column = Self::Column::TownshipId;
    const DISTRICT: Self::Column = Self::Column::DistrictId;
}
