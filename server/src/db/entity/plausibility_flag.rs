//! A plausibility flag on an attempt or its file (issue 20).

use sea_orm::entity::prelude::*;

/// A row of `plausibility_flags`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plausibility_flags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The kind and the records it names: a flag is raised once per key.
    pub key: String,
    pub case_id: Uuid,
    pub attempt_id: Uuid,
    pub media_id: Option<Uuid>,
    pub kind: String,
    pub detail: String,
    /// The other records it names, as JSON.
    pub related: String,
    pub raised_at: DateTimeUtc,
    pub dismissed_at: Option<DateTimeUtc>,
    pub dismissed_by: Option<Uuid>,
    pub dismiss_reason: Option<String>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
