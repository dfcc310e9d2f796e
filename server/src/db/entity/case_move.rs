//! The status history of cases: one row per move along the case machine.

use sea_orm::entity::prelude::*;

/// A row of `case_moves`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_moves")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub from_status: String,
    pub to_status: String,
    pub moved_by: Uuid,
    pub moved_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
    pub mutation_id: Uuid,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
