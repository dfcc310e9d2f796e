//! The audit log as a hash chain: each entry keeps the hash of the one before and its own, and
//! `audit_head` the last, so an entry deleted behind the append-only trigger's back (or the
//! tail cut off) shows in `server verify`. Entries written before this migration stay unchained.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `audit_log.prev_hash`, `audit_log.hash` and the table `audit_head`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000016_audit_chain"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    PrevHash,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditHead {
    Table,
    Id,
    LastId,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [AuditLog::PrevHash, AuditLog::Hash] {
            super::add_column(manager, AuditLog::Table, text_null(column)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .col(integer(AuditHead::Id).primary_key())
                    .col(big_integer(AuditHead::LastId))
                    .col(text(AuditHead::Hash))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditHead::Table).to_owned())
            .await?;
        for column in [AuditLog::Hash, AuditLog::PrevHash] {
            super::drop_column(manager, AuditLog::Table, column).await?;
        }
        Ok(())
    }
}
