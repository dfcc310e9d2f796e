//! Media metadata read from the bytes: capture time and place (EXIF, or the phone's word when the
//! bytes carry none) and a recording's duration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds the metadata columns to `media_objects`, and to `uploads` what the phone declares.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000004_media_metadata"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum MediaObjects {
    Table,
    DurationMs,
}

#[derive(DeriveIden, Clone, Copy)]
enum Uploads {
    Table,
}

/// Columns both tables get.
#[derive(DeriveIden, Clone, Copy)]
enum Origin {
    CapturedAt,
    Lat,
    Lon,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let mut columns = Vec::new();
        for table in [MediaObjects::Table.into_iden(), Uploads::Table.into_iden()] {
            columns.push((
                table.clone(),
                timestamp_with_time_zone_null(Origin::CapturedAt),
            ));
            columns.push((table.clone(), double_null(Origin::Lat)));
            columns.push((table, double_null(Origin::Lon)));
        }
        columns.push((
            MediaObjects::Table.into_iden(),
            big_integer_null(MediaObjects::DurationMs),
        ));
        for (table, column) in columns {
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "media metadata describes stored evidence; no rollback".into(),
        ))
    }
}
