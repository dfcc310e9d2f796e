//! The partner department each participant of a joint attempt came for (R12).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `attempt_participants.department`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000007_participant_departments"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum AttemptParticipants {
    Table,
    Department,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AttemptParticipants::Table)
                    .add_column(text_null(AttemptParticipants::Department))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AttemptParticipants::Table)
                    .drop_column(AttemptParticipants::Department)
                    .to_owned(),
            )
            .await
    }
}
