//! Who holds an upload: the server instance whose request is receiving its body, beside until
//! when. A lease whose holder no longer runs (killed, restarted) is taken over at once instead of
//! when it runs out (see `instance.rs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `uploads.busy_by`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000015_upload_holder"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Uploads {
    Table,
    BusyBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::add_column(manager, Uploads::Table, uuid_null(Uploads::BusyBy)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::drop_column(manager, Uploads::Table, Uploads::BusyBy).await
    }
}
