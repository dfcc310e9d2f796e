//! The append-only audit log: who read or changed what, when, from where.

use sea_orm::entity::prelude::*;

/// A row of `audit_log`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity_kind: String,
    pub entity_id: Option<Uuid>,
    pub client_addr: Option<String>,
    pub detail: String,
    /// The hash of the entry before (64 zeros for the first), none before the chain began.
    pub prev_hash: Option<String>,
    /// SHA-256 of `prev_hash` and this entry's content.
    pub hash: Option<String>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
