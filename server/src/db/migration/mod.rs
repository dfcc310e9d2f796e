//! The one migration tree, run on SQLite and PostgreSQL alike.

use sea_orm_migration::prelude::*;

mod m20261123_000001_foundation;
mod m20261123_000002_sync;
mod m20261123_000003_uploads;
mod m20261124_000004_media_metadata;
mod m20261125_000005_work_calendars;
mod m20261125_000006_case_moves;
mod m20261125_000007_participant_departments;
mod m20261125_000008_ledger_chain;
mod m20261125_000009_unenrolled_children;
mod m20261125_000010_upload_hash_state;
mod m20261129_000011_media_by_hash;
mod m20261203_000012_upload_client_key;
mod m20261203_000013_photo_previews;
mod m20261203_000014_refresh_reissue;
mod m20261203_000015_upload_holder;
mod m20261203_000016_audit_chain;
mod m20261203_000017_unenrolled_names_sealed;
mod m20261203_000018_attempt_text_sealed;
mod m20261203_000019_measures_are_statuses;
mod m20261203_000020_roll_reconciliations;
mod m20261203_000021_case_aliases;
mod m20261203_000022_console_sessions;
mod m20261204_000023_signatures;
mod m20261204_000024_plausibility_flags;
mod m20261204_000025_pull_at_scale;
mod m20261204_000026_attempts_by_author;

/// Applies every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261123_000002_sync::Migration),
            Box::new(m20261123_000003_uploads::Migration),
            Box::new(m20261124_000004_media_metadata::Migration),
            Box::new(m20261125_000005_work_calendars::Migration),
            Box::new(m20261125_000006_case_moves::Migration),
            Box::new(m20261125_000007_participant_departments::Migration),
            Box::new(m20261125_000008_ledger_chain::Migration),
            Box::new(m20261125_000009_unenrolled_children::Migration),
            Box::new(m20261125_000010_upload_hash_state::Migration),
            Box::new(m20261129_000011_media_by_hash::Migration),
            Box::new(m20261203_000012_upload_client_key::Migration),
            Box::new(m20261203_000013_photo_previews::Migration),
            Box::new(m20261203_000014_refresh_reissue::Migration),
            Box::new(m20261203_000015_upload_holder::Migration),
            Box::new(m20261203_000016_audit_chain::Migration),
            Box::new(m20261203_000017_unenrolled_names_sealed::Migration),
            Box::new(m20261203_000018_attempt_text_sealed::Migration),
            Box::new(m20261203_000019_measures_are_statuses::Migration),
            Box::new(m20261203_000020_roll_reconciliations::Migration),
            Box::new(m20261203_000021_case_aliases::Migration),
            Box::new(m20261203_000022_console_sessions::Migration),
            Box::new(m20261204_000023_signatures::Migration),
            Box::new(m20261204_000024_plausibility_flags::Migration),
            Box::new(m20261204_000025_pull_at_scale::Migration),
            Box::new(m20261204_000026_attempts_by_author::Migration),
        ]
    }
}

/// Adds `column` to `table`: the shape of most migrations after the first ones.
async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

/// Drops `column` from `table`: the way back of [`add_column`].
async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}
