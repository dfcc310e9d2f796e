//! R21: the phones' signing keys (one account, one device, revocable) and the participants'
//! signatures of attempts, each naming the key it was made with and the content digest it covers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `signing_keys` and `attempt_signatures`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000023_signatures"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SigningKeys {
    Table,
    Id,
    UserId,
    DeviceId,
    PublicKey,
    RegisteredAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AttemptSignatures {
    Table,
    Id,
    CaseId,
    AttemptId,
    UserId,
    KeyId,
    ContentDigest,
    Signature,
    SignedAt,
    ReceivedAt,
    Vouched,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(uuid(SigningKeys::Id).primary_key())
                    .col(uuid(SigningKeys::UserId))
                    .col(uuid(SigningKeys::DeviceId))
                    .col(text(SigningKeys::PublicKey))
                    .col(timestamp_with_time_zone(SigningKeys::RegisteredAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("signing_keys_by_user")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::UserId)
                    .col(SigningKeys::DeviceId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AttemptSignatures::Table)
                    .col(uuid(AttemptSignatures::Id).primary_key())
                    .col(uuid(AttemptSignatures::CaseId))
                    .col(uuid(AttemptSignatures::AttemptId))
                    .col(uuid(AttemptSignatures::UserId))
                    .col(uuid(AttemptSignatures::KeyId))
                    .col(text(AttemptSignatures::ContentDigest))
                    .col(text(AttemptSignatures::Signature))
                    .col(timestamp_with_time_zone(AttemptSignatures::SignedAt))
                    .col(timestamp_with_time_zone(AttemptSignatures::ReceivedAt))
                    .col(text(AttemptSignatures::Vouched))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("attempt_signatures_by_case")
                    .table(AttemptSignatures::Table)
                    .col(AttemptSignatures::CaseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AttemptSignatures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await
    }
}
