//! A refresh answered again: a phone whose refresh answer was lost retries with the token it
//! already spent. The pair that refresh issued is kept sealed on the spent token until the new
//! refresh token is used or a short grace passes, so the retry gets the same pair instead of
//! ending the session as a reuse.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `refresh_tokens.reissue`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000014_refresh_reissue"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum RefreshTokens {
    Table,
    Reissue,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::add_column(
            manager,
            RefreshTokens::Table,
            text_null(RefreshTokens::Reissue),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::drop_column(manager, RefreshTokens::Table, RefreshTokens::Reissue).await
    }
}
