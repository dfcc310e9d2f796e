//! The free text of attempts (whom they met, what the guardian said, the next step, notes: a
//! minor's family circumstances) sealed at rest like other personal data (R23). A row says
//! whether its text is sealed; rows written before stay in the clear until they are next
//! changed (sealing them now would change what their ledger chains recorded).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `attempts.private_sealed`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000018_attempt_text_sealed"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Attempts {
    Table,
    PrivateSealed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::add_column(
            manager,
            Attempts::Table,
            boolean(Attempts::PrivateSealed).default(false),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::drop_column(manager, Attempts::Table, Attempts::PrivateSealed).await
    }
}
