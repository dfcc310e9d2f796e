//! The history of each case's status (one row per move along the case machine), and the
//! closure request's reason on the case.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `case_moves` (who moved a case from which status to which, and when) and adds
/// `cases.closure_reason`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000006_case_moves"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum CaseMoves {
    Table,
    Id,
    CaseId,
    FromStatus,
    ToStatus,
    MovedBy,
    /// When the move was made (the mutation's stamp, pulled back if it was ahead).
    MovedAt,
    /// When the server stored it.
    RecordedAt,
    MutationId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    ClosureReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseMoves::Table)
                    .col(uuid(CaseMoves::Id).primary_key())
                    .col(uuid(CaseMoves::CaseId))
                    .col(text(CaseMoves::FromStatus))
                    .col(text(CaseMoves::ToStatus))
                    .col(uuid(CaseMoves::MovedBy))
                    .col(timestamp_with_time_zone(CaseMoves::MovedAt))
                    .col(timestamp_with_time_zone(CaseMoves::RecordedAt))
                    .col(uuid(CaseMoves::MutationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_moves_case")
                    .table(CaseMoves::Table)
                    .col(CaseMoves::CaseId)
                    .col(CaseMoves::MovedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(text_null(Cases::ClosureReason))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::ClosureReason)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(CaseMoves::Table).to_owned())
            .await
    }
}
