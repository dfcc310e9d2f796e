//! Students. National ID, addresses are sealed (AEAD); the ID is found through a keyed hash.

use sea_orm::entity::prelude::*;

/// A row of `students`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "students")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub gender: String,
    pub birth_date: Date,
    pub id_number_enc: String,
    pub id_number_lookup: String,
    pub registration_no: String,
    pub school_id: Uuid,
    pub village_id: Uuid,
    pub township_id: Uuid,
    pub district_id: Uuid,
    pub grade: i32,
    pub class_name: String,
    pub household_address_enc: String,
    pub residence_address_enc: String,
    pub left_behind: bool,
    pub orphan: bool,
    pub disabled: bool,
    pub poor_household: bool,
    pub migrant: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
