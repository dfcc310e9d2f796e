//! The tamper-evident ledger: a hash chain of every case's events (attempts, documents,
//! reviews, moves, media), and each chain's head.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `ledger_events` and `ledger_heads`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000008_ledger_chain"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum LedgerEvents {
    Table,
    CaseId,
    Seq,
    EntityKind,
    EntityId,
    /// SHA-256 of the record's canonical content when the event was appended.
    ContentSha256,
    PrevHash,
    Hash,
    RecordedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LedgerHeads {
    Table,
    CaseId,
    Seq,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LedgerEvents::Table)
                    .col(uuid(LedgerEvents::CaseId))
                    .col(big_integer(LedgerEvents::Seq))
                    .col(text(LedgerEvents::EntityKind))
                    .col(uuid(LedgerEvents::EntityId))
                    .col(text(LedgerEvents::ContentSha256))
                    .col(text(LedgerEvents::PrevHash))
                    .col(text(LedgerEvents::Hash))
                    .col(timestamp_with_time_zone(LedgerEvents::RecordedAt))
                    .primary_key(
                        Index::create()
                            .col(LedgerEvents::CaseId)
                            .col(LedgerEvents::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LedgerHeads::Table)
                    .col(uuid(LedgerHeads::CaseId).primary_key())
                    .col(big_integer(LedgerHeads::Seq))
                    .col(text(LedgerHeads::Hash))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LedgerHeads::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LedgerEvents::Table).to_owned())
            .await
    }
}
