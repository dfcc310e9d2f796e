//! Case ids a phone made for an absence another device had reported first: each names the row
//! the server joined it to, so the phone's later mutations on its own id land on that row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `case_aliases`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000021_case_aliases"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum CaseAliases {
    Table,
    Id,
    CaseId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseAliases::Table)
                    .col(uuid(CaseAliases::Id).primary_key())
                    .col(uuid(CaseAliases::CaseId))
                    .col(timestamp_with_time_zone(CaseAliases::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseAliases::Table).to_owned())
            .await
    }
}
