//! Photo previews: a small copy of a photo that a phone on a slow link sends before the photo
//! itself, so a supervisor sees the visit first. An upload and the media object it makes name the
//! photo a preview is of (`preview_of`, its SHA-256).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `uploads.preview_of` and `media_objects.preview_of`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000013_photo_previews"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Uploads {
    Table,
    PreviewOf,
}

#[derive(DeriveIden, Clone, Copy)]
enum MediaObjects {
    Table,
    PreviewOf,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .add_column(text_null(Uploads::PreviewOf))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MediaObjects::Table)
                    .add_column(text_null(MediaObjects::PreviewOf))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MediaObjects::Table)
                    .drop_column(MediaObjects::PreviewOf)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .drop_column(Uploads::PreviewOf)
                    .to_owned(),
            )
            .await
    }
}
