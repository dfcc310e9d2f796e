//! Media objects found by their file's SHA-256: a creation asks the ledger whether the server
//! has a file already, instead of asking the object store.

use sea_orm_migration::prelude::*;

/// Adds the index `media_objects_sha256`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000011_media_by_hash"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum MediaObjects {
    Table,
    Sha256,
}

const INDEX: &str = "media_objects_sha256";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(MediaObjects::Table)
                    .col(MediaObjects::Sha256)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(MediaObjects::Table)
                    .to_owned(),
            )
            .await
    }
}
