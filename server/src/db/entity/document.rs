//! Typed evidence documents on a case.

use sea_orm::entity::prelude::*;

/// A row of `documents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub doc_type: String,
    pub title: String,
    pub issued_by: String,
    pub issued_on: Option<Date>,
    pub notes: String,
    pub author_id: Uuid,
    pub created_at: DateTimeUtc,
    pub version: i64,
    /// Per-field clock (JSON of `FieldStamps`).
    pub field_stamps: String,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
