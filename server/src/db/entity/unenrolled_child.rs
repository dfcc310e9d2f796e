//! Children of school age on the household register and on no school roll (R6).

use sea_orm::entity::prelude::*;

/// A row of `unenrolled_children`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "unenrolled_children")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub district_id: Uuid,
    pub township_id: Uuid,
    pub village_id: Uuid,
    pub name: String,
    pub birth_date: Date,
    pub id_number_enc: String,
    pub id_number_lookup: String,
    pub as_of: Date,
    pub found_at: DateTimeUtc,
    pub found_by: Uuid,
    /// The name, sealed (`name` is empty then; it holds the name of a row written before).
    pub name_enc: Option<String>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
