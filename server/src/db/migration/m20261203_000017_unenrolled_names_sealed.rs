//! The names of unenrolled children sealed like their ID numbers (R23): `name_enc` holds the
//! sealed name; rows written before are sealed by the server at its next start (the migration
//! holds no key), leaving `name` empty.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `unenrolled_children.name_enc`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000017_unenrolled_names_sealed"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum UnenrolledChildren {
    Table,
    NameEnc,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::add_column(
            manager,
            UnenrolledChildren::Table,
            text_null(UnenrolledChildren::NameEnc),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::drop_column(
            manager,
            UnenrolledChildren::Table,
            UnenrolledChildren::NameEnc,
        )
        .await
    }
}
