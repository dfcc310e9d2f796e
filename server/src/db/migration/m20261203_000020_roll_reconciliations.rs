//! Each school's reconciliation of its roll at the start of a term (R7): one row per school and
//! term, with who confirmed it and when.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `roll_reconciliations`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000020_roll_reconciliations"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum RollReconciliations {
    Table,
    Id,
    SchoolId,
    TermStart,
    ReconciledBy,
    ReconciledAt,
    Notes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RollReconciliations::Table)
                    .col(uuid(RollReconciliations::Id).primary_key())
                    .col(uuid(RollReconciliations::SchoolId))
                    .col(date(RollReconciliations::TermStart))
                    .col(uuid(RollReconciliations::ReconciledBy))
                    .col(timestamp_with_time_zone(RollReconciliations::ReconciledAt))
                    .col(text(RollReconciliations::Notes))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("roll_reconciliations_school_term")
                    .table(RollReconciliations::Table)
                    .col(RollReconciliations::SchoolId)
                    .col(RollReconciliations::TermStart)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RollReconciliations::Table).to_owned())
            .await
    }
}
