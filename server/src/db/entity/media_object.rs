//! Stored evidence: an original addressed by SHA-256, linked to its attempt or document and case.

use sea_orm::entity::prelude::*;

/// A row of `media_objects`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "media_objects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub sha256: String,
    pub size: i64,
    pub kind: String,
    /// The type sniffed from the bytes (the client's word is not trusted).
    pub content_type: String,
    pub file_name: String,
    pub target_kind: String,
    pub target_id: Uuid,
    pub case_id: Uuid,
    pub uploaded_by: Uuid,
    pub created_at: DateTimeUtc,
    /// When the photo was taken (EXIF, else the phone's declaration).
    pub captured_at: Option<DateTimeUtc>,
    /// Where it was taken: latitude.
    pub lat: Option<f64>,
    /// Where it was taken: longitude.
    pub lon: Option<f64>,
    /// A recording's length in milliseconds.
    pub duration_ms: Option<i64>,
    /// For a photo's preview: the SHA-256 of the photo it previews (sent first on a slow link).
    pub preview_of: Option<String>,
    /// A photo's perceptual hash (64-bit difference hash of its thumbnail), once made.
    pub phash: Option<i64>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
