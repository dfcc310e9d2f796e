//! Media: resumable uploads in progress, and the media objects they become.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `uploads` and `media_objects`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_uploads"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Uploads {
    Table,
    Id,
    UserId,
    Kind,
    Sha256,
    Length,
    Offset,
    FileName,
    TargetKind,
    TargetId,
    CaseId,
    CreatedAt,
    ExpiresAt,
    BusyUntil,
}

#[derive(DeriveIden, Clone, Copy)]
enum MediaObjects {
    Table,
    Id,
    Sha256,
    Size,
    Kind,
    ContentType,
    FileName,
    TargetKind,
    TargetId,
    CaseId,
    UploadedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .col(pk_uuid(Uploads::Id))
                    .col(uuid(Uploads::UserId))
                    .col(string(Uploads::Kind))
                    .col(string(Uploads::Sha256))
                    .col(big_integer(Uploads::Length))
                    .col(big_integer(Uploads::Offset))
                    .col(string(Uploads::FileName))
                    .col(string(Uploads::TargetKind))
                    .col(uuid(Uploads::TargetId))
                    .col(uuid(Uploads::CaseId))
                    .col(timestamp_with_time_zone(Uploads::CreatedAt))
                    .col(timestamp_with_time_zone(Uploads::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Uploads::BusyUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uploads_expires")
                    .table(Uploads::Table)
                    .col(Uploads::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MediaObjects::Table)
                    .col(pk_uuid(MediaObjects::Id))
                    .col(string(MediaObjects::Sha256))
                    .col(big_integer(MediaObjects::Size))
                    .col(string(MediaObjects::Kind))
                    .col(string(MediaObjects::ContentType))
                    .col(string(MediaObjects::FileName))
                    .col(string(MediaObjects::TargetKind))
                    .col(uuid(MediaObjects::TargetId))
                    .col(uuid(MediaObjects::CaseId))
                    .col(uuid(MediaObjects::UploadedBy))
                    .col(timestamp_with_time_zone(MediaObjects::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("media_objects_target")
                    .table(MediaObjects::Table)
                    .col(MediaObjects::TargetId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "media rows point at stored evidence; no rollback".into(),
        ))
    }
}
