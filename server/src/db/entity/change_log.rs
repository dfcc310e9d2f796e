//! The change log pull reads: one row per changed record and scope, in commit order.

use sea_orm::entity::prelude::*;

/// A row of `change_log`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub entity_kind: String,
    pub entity_id: Uuid,
    /// `upsert` or `remove`.
    pub op: String,
    pub school_id: Uuid,
    pub village_id: Uuid,
    pub township_id: Uuid,
    pub district_id: Uuid,
    /// The case the record belongs to.
    pub case_id: Option<Uuid>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
