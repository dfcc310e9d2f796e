//! Children of school age the household register knows and no school roll does (R6).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `unenrolled_children`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000009_unenrolled_children"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum UnenrolledChildren {
    Table,
    Id,
    DistrictId,
    TownshipId,
    VillageId,
    Name,
    BirthDate,
    /// Sealed like a student's.
    IdNumberEnc,
    /// Keyed hash, to match the roll and earlier comparisons.
    IdNumberLookup,
    /// The day the comparison was made for (the school year's start).
    AsOf,
    FoundAt,
    FoundBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UnenrolledChildren::Table)
                    .col(uuid(UnenrolledChildren::Id).primary_key())
                    .col(uuid(UnenrolledChildren::DistrictId))
                    .col(uuid(UnenrolledChildren::TownshipId))
                    .col(uuid(UnenrolledChildren::VillageId))
                    .col(text(UnenrolledChildren::Name))
                    .col(date(UnenrolledChildren::BirthDate))
                    .col(text(UnenrolledChildren::IdNumberEnc))
                    .col(text(UnenrolledChildren::IdNumberLookup))
                    .col(date(UnenrolledChildren::AsOf))
                    .col(timestamp_with_time_zone(UnenrolledChildren::FoundAt))
                    .col(uuid(UnenrolledChildren::FoundBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unenrolled_children_lookup")
                    .table(UnenrolledChildren::Table)
                    .col(UnenrolledChildren::IdNumberLookup)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UnenrolledChildren::Table).to_owned())
            .await
    }
}
