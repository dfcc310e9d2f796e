//! Idempotency records: each applied mutation's body hash and first result.

use sea_orm::entity::prelude::*;

/// A row of `applied_mutations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "applied_mutations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mutation_id: Uuid,
    pub body_hash: String,
    pub user_id: Uuid,
    pub device_id: Uuid,
    /// JSON of the `MutationOutcome`.
    pub result: String,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
