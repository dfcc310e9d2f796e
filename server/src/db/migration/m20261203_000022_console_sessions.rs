//! Sessions of the web console: a browser's cookie names one (by the SHA-256 of its secret), with
//! the sign-in session (refresh-token family) it rides on and the token its forms carry (CSRF).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `console_sessions`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000022_console_sessions"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ConsoleSessions {
    Table,
    TokenHash,
    UserId,
    Family,
    DeviceId,
    Csrf,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    .col(text(ConsoleSessions::TokenHash).primary_key())
                    .col(uuid(ConsoleSessions::UserId))
                    .col(uuid(ConsoleSessions::Family))
                    .col(uuid(ConsoleSessions::DeviceId))
                    .col(text(ConsoleSessions::Csrf))
                    .col(timestamp_with_time_zone(ConsoleSessions::CreatedAt))
                    .col(timestamp_with_time_zone(ConsoleSessions::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await
    }
}
