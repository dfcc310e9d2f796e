//! Holiday schedules loaded by an administrator (the working-day calendar).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `work_calendars`: one row per year, the schedule as loaded.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000005_work_calendars"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum WorkCalendars {
    Table,
    Year,
    Source,
    Schedule,
    LoadedAt,
    LoadedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkCalendars::Table)
                    .col(integer(WorkCalendars::Year).primary_key())
                    .col(text(WorkCalendars::Source))
                    .col(text(WorkCalendars::Schedule))
                    .col(timestamp_with_time_zone(WorkCalendars::LoadedAt))
                    .col(uuid_null(WorkCalendars::LoadedBy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WorkCalendars::Table).to_owned())
            .await
    }
}
