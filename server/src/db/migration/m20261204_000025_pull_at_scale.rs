//! A pull at district scale (issue 21): what is due on each case, kept as the case changes, so
//! that a pull or a list reads it instead of rebuilding it from the case's whole history; and
//! the case of each change-log row, so that "does a later change touch this case" is asked of
//! the case's own changes, not of every later change in the caller's scope.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `case_due` (with an index on its basis, to find the stale rows); adds `change_log.case_id`, filled for the rows already there, with its
/// index.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000025_pull_at_scale"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum CaseDue {
    Table,
    /// The case.
    CaseId,
    /// Its due items (JSON of `Vec<DueItem>`), as the rules gave them.
    Items,
    /// What else they were computed from: the leaving age and the holiday schedules' marks. A
    /// row whose basis is not the server's current one is stale; an empty one was marked stale
    /// by a write, for the keeper.
    Basis,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChangeLog {
    Table,
    /// The case the changed record belongs to (null only for a removed record whose row is
    /// gone, from before this column).
    CaseId,
    Seq,
}

/// The table holding each kind's records, for the rows logged before `change_log.case_id`.
const RECORDS: [(&str, &str); 6] = [
    ("attempt", "attempts"),
    ("document", "documents"),
    ("review", "reviews"),
    ("conflict", "conflicts"),
    ("media", "media_objects"),
    ("signature", "attempt_signatures"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseDue::Table)
                    .col(uuid(CaseDue::CaseId).primary_key())
                    .col(text(CaseDue::Items))
                    .col(text(CaseDue::Basis))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("case_due_basis")
                    .table(CaseDue::Table)
                    .col(CaseDue::Basis)
                    .to_owned(),
            )
            .await?;
        super::add_column(manager, ChangeLog::Table, uuid_null(ChangeLog::CaseId)).await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE change_log SET case_id = entity_id WHERE entity_kind = 'case'",
        )
        .await?;
        for (kind, table) in RECORDS {
            db.execute_unprepared(&format!(
                "UPDATE change_log SET case_id = \
                 (SELECT r.case_id FROM {table} r WHERE r.id = change_log.entity_id) \
                 WHERE entity_kind = '{kind}'"
            ))
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("change_log_case")
                    .table(ChangeLog::Table)
                    .col(ChangeLog::CaseId)
                    .col(ChangeLog::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("change_log_case")
                    .table(ChangeLog::Table)
                    .to_owned(),
            )
            .await?;
        super::drop_column(manager, ChangeLog::Table, ChangeLog::CaseId).await?;
        manager
            .drop_table(Table::drop().table(CaseDue::Table).to_owned())
            .await
    }
}
