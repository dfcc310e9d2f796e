//! Plausibility flags (issue 20): the flags the server raises on evidence, with their dismissal;
//! a perceptual hash of each photo (re-encoded copies); a centre point for org units (how far a
//! visit was from the child's village).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `plausibility_flags`, adds `media_objects.phash`, `org_units.lat` and `.lon`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000024_plausibility_flags"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PlausibilityFlags {
    Table,
    Id,
    /// What it is about, once: the kind and the records it names (raised once per key).
    Key,
    CaseId,
    AttemptId,
    MediaId,
    Kind,
    Detail,
    /// The other records it names, as JSON.
    Related,
    RaisedAt,
    DismissedAt,
    DismissedBy,
    DismissReason,
}

#[derive(DeriveIden, Clone, Copy)]
enum MediaObjects {
    Table,
    Phash,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrgUnits {
    Table,
    Lat,
    Lon,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlausibilityFlags::Table)
                    .col(uuid(PlausibilityFlags::Id).primary_key())
                    .col(text(PlausibilityFlags::Key).unique_key())
                    .col(uuid(PlausibilityFlags::CaseId))
                    .col(uuid(PlausibilityFlags::AttemptId))
                    .col(uuid_null(PlausibilityFlags::MediaId))
                    .col(text(PlausibilityFlags::Kind))
                    .col(text(PlausibilityFlags::Detail))
                    .col(text(PlausibilityFlags::Related))
                    .col(timestamp_with_time_zone(PlausibilityFlags::RaisedAt))
                    .col(timestamp_with_time_zone_null(
                        PlausibilityFlags::DismissedAt,
                    ))
                    .col(uuid_null(PlausibilityFlags::DismissedBy))
                    .col(text_null(PlausibilityFlags::DismissReason))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("plausibility_flags_by_case")
                    .table(PlausibilityFlags::Table)
                    .col(PlausibilityFlags::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MediaObjects::Table)
                    .add_column(big_integer_null(MediaObjects::Phash))
                    .to_owned(),
            )
            .await?;
        for column in [OrgUnits::Lat, OrgUnits::Lon] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OrgUnits::Table)
                        .add_column(double_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [OrgUnits::Lat, OrgUnits::Lon] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OrgUnits::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(MediaObjects::Table)
                    .drop_column(MediaObjects::Phash)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PlausibilityFlags::Table).to_owned())
            .await
    }
}
