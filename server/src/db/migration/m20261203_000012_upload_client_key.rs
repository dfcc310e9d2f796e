//! The phone's own key for a file (`client_key` in a creation's `Upload-Metadata`), kept on its
//! upload, so that a creation repeated by a phone that never heard the answer finds the upload
//! already made instead of starting another.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `uploads.client_key` and the index `uploads_user_client_key`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000012_upload_client_key"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Uploads {
    Table,
    UserId,
    ClientKey,
}

const INDEX: &str = "uploads_user_client_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .add_column(text_null(Uploads::ClientKey))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Uploads::Table)
                    .col(Uploads::UserId)
                    .col(Uploads::ClientKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite drops no column an index names: the index goes first.
        manager
            .drop_index(Index::drop().name(INDEX).table(Uploads::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .drop_column(Uploads::ClientKey)
                    .to_owned(),
            )
            .await
    }
}
