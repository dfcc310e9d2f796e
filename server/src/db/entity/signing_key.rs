//! A phone's signing key: one account, one device (R21).

use sea_orm::entity::prelude::*;

/// A row of `signing_keys`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_id: Uuid,
    /// The Ed25519 public key, standard base64.
    pub public_key: String,
    pub registered_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
