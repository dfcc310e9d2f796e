//! The SHA-256 state of an upload's bytes so far, saved with its offset, so that any server
//! instance, after any restart, finishes an upload knowing its hash without reading it back.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `uploads.hash_state`; ends the uploads in progress that have bytes but no saved state.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000010_upload_hash_state"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Uploads {
    Table,
    HashState,
    Offset,
    ExpiresAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .add_column(binary_null(Uploads::HashState))
                    .to_owned(),
            )
            .await?;
        // Their hash cannot be continued: they expire now, and the phone starts them again.
        manager
            .exec_stmt(
                Query::update()
                    .table(Uploads::Table)
                    .value(Uploads::ExpiresAt, Expr::col(Uploads::CreatedAt))
                    .and_where(Expr::col(Uploads::Offset).gt(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .drop_column(Uploads::HashState)
                    .to_owned(),
            )
            .await
    }
}
