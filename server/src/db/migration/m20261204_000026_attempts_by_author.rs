//! An index on attempts by author and time: the plausibility check of a push's attempts reads
//! the author's attempts with a place around their times (impossible travel) in one query, which
//! without it reads every attempt of the district.

use sea_orm_migration::prelude::*;

/// Creates the index `attempts_author_time` on `attempts (author_id, occurred_at)`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000026_attempts_by_author"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Attempts {
    Table,
    AuthorId,
    OccurredAt,
}

const INDEX: &str = "attempts_author_time";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Attempts::Table)
                    .col(Attempts::AuthorId)
                    .col(Attempts::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Attempts::Table).to_owned())
            .await
    }
}
