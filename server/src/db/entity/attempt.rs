//! Persuasion attempts on a case.

use sea_orm::entity::prelude::*;

/// A row of `attempts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub met_whom: String,
    pub guardian_statement: String,
    pub outcome: String,
    pub next_step: String,
    pub notes: String,
    pub author_id: Uuid,
    pub created_at: DateTimeUtc,
    pub version: i64,
    /// Per-field clock (JSON of `FieldStamps`).
    pub field_stamps: String,
    pub initial_participants: i32,
    /// Whether `met_whom`, `guardian_statement`, `next_step` and `notes` are sealed.
    pub private_sealed: bool,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
