//! Resumable (tus) uploads in progress (their bytes are kept by [`crate::storage`]).

use sea_orm::entity::prelude::*;

/// A row of `uploads`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    /// The declared SHA-256 of the whole file.
    pub sha256: String,
    pub length: i64,
    pub offset: i64,
    pub file_name: String,
    /// `attempt` or `document`.
    pub target_kind: String,
    pub target_id: Uuid,
    pub case_id: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// While a PATCH is receiving: the lease that keeps a second PATCH out.
    pub busy_until: Option<DateTimeUtc>,
    /// The server instance holding it until `busy_until`.
    pub busy_by: Option<Uuid>,
    /// When the phone says the file was made.
    pub captured_at: Option<DateTimeUtc>,
    /// Where the phone says it was made: latitude.
    pub lat: Option<f64>,
    /// Where the phone says it was made: longitude.
    pub lon: Option<f64>,
    /// The SHA-256 state after the first `offset` bytes (see [`crate::media::upload_hash`]).
    pub hash_state: Option<Vec<u8>>,
    /// The phone's own key for the file (`client_key` in `Upload-Metadata`): a creation
    /// repeated with it finds this upload (see [`crate::media::uploads::repeated`]).
    pub client_key: Option<String>,
    /// For a photo's preview: the SHA-256 of the photo it previews.
    pub preview_of: Option<String>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
