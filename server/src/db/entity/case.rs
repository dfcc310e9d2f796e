//! Cases: one ledger row per student episode, with the org units that scope it.

use sea_orm::entity::prelude::*;

/// A row of `cases`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub student_id: Uuid,
    pub school_id: Uuid,
    pub village_id: Uuid,
    /// The township of residence, which runs joint persuasion.
    pub township_id: Uuid,
    pub district_id: Uuid,
    pub status: String,
    pub found_by: String,
    pub reason: Option<String>,
    pub responsible_user_id: Option<Uuid>,
    pub opened_on: Date,
    pub relapse_count: i32,
    /// The closure request's reason (`ClosureReason`), once asked.
    pub closure_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Per-field clock (JSON of `FieldStamps`).
    pub field_stamps: String,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
