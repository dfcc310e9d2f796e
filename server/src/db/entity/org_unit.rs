//! Org units: district → township → village, and schools under a township.

use sea_orm::entity::prelude::*;

/// A row of `org_units`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "org_units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    pub code: String,
    /// The district the unit is in (itself for a district).
    pub district_id: Uuid,
    /// The township the unit is in (itself for a township), none for a district.
    pub township_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// The centre point (WGS 84), if known: how far a visit was from the village.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
