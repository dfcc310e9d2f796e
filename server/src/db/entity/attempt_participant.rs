//! Who took part in an attempt, in signing order.

use sea_orm::entity::prelude::*;

/// A row of `attempt_participants`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attempt_participants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub attempt_id: Uuid,
    pub position: i32,
    pub user_id: Option<Uuid>,
    pub name: String,
    pub unit: String,
    /// The partner department they came for (`Department`), on joint attempts (R12).
    pub department: Option<String>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
