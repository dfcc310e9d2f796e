//! A participant's verified signature of an attempt (R21).

use sea_orm::entity::prelude::*;

/// A row of `attempt_signatures`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attempt_signatures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub attempt_id: Uuid,
    pub user_id: Uuid,
    pub key_id: Uuid,
    /// The digest of the content signed, lowercase hex.
    pub content_digest: String,
    /// The Ed25519 signature, standard base64.
    pub signature: String,
    pub signed_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
    /// The participants vouched for, as JSON (`Vec<signing::Vouched>`).
    pub vouched: String,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
