//! The events of each case's hash chain.

use sea_orm::entity::prelude::*;

/// A row of `ledger_events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub entity_kind: String,
    pub entity_id: Uuid,
    pub content_sha256: String,
    pub prev_hash: String,
    pub hash: String,
    pub recorded_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
