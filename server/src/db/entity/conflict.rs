//! Conflict records: values that lost a concurrent edit, kept so nothing is lost silently.

use sea_orm::entity::prelude::*;

/// A row of `conflicts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conflicts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entity_kind: String,
    pub entity_id: Uuid,
    pub case_id: Uuid,
    pub field: String,
    pub winning_value: String,
    pub winning_hlc: String,
    pub losing_value: String,
    pub losing_hlc: String,
    pub losing_mutation_id: Option<Uuid>,
    pub losing_device_id: Uuid,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
