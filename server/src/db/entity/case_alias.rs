//! A case id a phone made, joined to the row that was open already.

use sea_orm::entity::prelude::*;

/// A row of `case_aliases`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_aliases")]
pub struct Model {
    /// The id the phone made.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The row it names.
    pub case_id: Uuid,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
