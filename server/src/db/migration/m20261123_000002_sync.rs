//! Sync: the change log and its counter, the idempotency records of applied mutations, conflict
//! records, and per-field clocks and versions on the records sync merges.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the sync tables and columns.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_sync"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SyncCounter {
    Table,
    Id,
    Value,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChangeLog {
    Table,
    Seq,
    EntityKind,
    EntityId,
    Op,
    SchoolId,
    VillageId,
    TownshipId,
    DistrictId,
}

#[derive(DeriveIden, Clone, Copy)]
enum AppliedMutations {
    Table,
    MutationId,
    BodyHash,
    UserId,
    DeviceId,
    Result,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Conflicts {
    Table,
    Id,
    EntityKind,
    EntityId,
    CaseId,
    Field,
    WinningValue,
    WinningHlc,
    LosingValue,
    LosingHlc,
    LosingMutationId,
    LosingDeviceId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    FieldStamps,
}

#[derive(DeriveIden, Clone, Copy)]
enum Attempts {
    Table,
    Version,
    FieldStamps,
    InitialParticipants,
}

#[derive(DeriveIden, Clone, Copy)]
enum Documents {
    Table,
    Version,
    FieldStamps,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncCounter::Table)
                    .col(integer(SyncCounter::Id).primary_key())
                    .col(big_integer(SyncCounter::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(SyncCounter::Table)
                    .columns([SyncCounter::Id, SyncCounter::Value])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChangeLog::Table)
                    .col(big_integer(ChangeLog::Seq).primary_key())
                    .col(string(ChangeLog::EntityKind))
                    .col(uuid(ChangeLog::EntityId))
                    .col(string(ChangeLog::Op))
                    .col(uuid(ChangeLog::SchoolId))
                    .col(uuid(ChangeLog::VillageId))
                    .col(uuid(ChangeLog::TownshipId))
                    .col(uuid(ChangeLog::DistrictId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("change_log_entity")
                    .table(ChangeLog::Table)
                    .col(ChangeLog::EntityId)
                    .col(ChangeLog::Op)
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("change_log_school", ChangeLog::SchoolId),
            ("change_log_village", ChangeLog::VillageId),
            ("change_log_township", ChangeLog::TownshipId),
            ("change_log_district", ChangeLog::DistrictId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ChangeLog::Table)
                        .col(column)
                        .col(ChangeLog::Seq)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AppliedMutations::Table)
                    .col(uuid(AppliedMutations::MutationId).primary_key())
                    .col(string(AppliedMutations::BodyHash))
                    .col(uuid(AppliedMutations::UserId))
                    .col(uuid(AppliedMutations::DeviceId))
                    .col(text(AppliedMutations::Result))
                    .col(timestamp_with_time_zone(AppliedMutations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Conflicts::Table)
                    .col(pk_uuid(Conflicts::Id))
                    .col(string(Conflicts::EntityKind))
                    .col(uuid(Conflicts::EntityId))
                    .col(uuid(Conflicts::CaseId))
                    .col(string(Conflicts::Field))
                    .col(text(Conflicts::WinningValue))
                    .col(text(Conflicts::WinningHlc))
                    .col(text(Conflicts::LosingValue))
                    .col(text(Conflicts::LosingHlc))
                    .col(uuid_null(Conflicts::LosingMutationId))
                    .col(uuid(Conflicts::LosingDeviceId))
                    .col(timestamp_with_time_zone(Conflicts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per statement.
        let add = |table: DynIden, column: ColumnDef| {
            Table::alter().table(table).add_column(column).to_owned()
        };
        for stmt in [
            add(
                Cases::Table.into_iden(),
                text(Cases::FieldStamps).default("{}").to_owned(),
            ),
            add(
                Attempts::Table.into_iden(),
                big_integer(Attempts::Version).default(1).to_owned(),
            ),
            add(
                Attempts::Table.into_iden(),
                text(Attempts::FieldStamps).default("{}").to_owned(),
            ),
            add(
                Attempts::Table.into_iden(),
                integer(Attempts::InitialParticipants).default(0).to_owned(),
            ),
            add(
                Documents::Table.into_iden(),
                big_integer(Documents::Version).default(1).to_owned(),
            ),
            add(
                Documents::Table.into_iden(),
                text(Documents::FieldStamps).default("{}").to_owned(),
            ),
        ] {
            manager.alter_table(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "sync tables hold acknowledged writes; no rollback".into(),
        ))
    }
}
