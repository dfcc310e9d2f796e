//! Supervisors' reviews of attempts and closure requests.

use sea_orm::entity::prelude::*;

/// A row of `reviews`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub target_kind: String,
    pub target_id: Uuid,
    pub verdict: String,
    pub reason: String,
    pub reviewer_id: Uuid,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
