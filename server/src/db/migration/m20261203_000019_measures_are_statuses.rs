//! R20's special measures became statuses (`compulsory_return`, `vocational_school`) instead of
//! closure reasons: a closure request asking for either no longer names a reason the server
//! knows, so it is withdrawn (`closure_reason` set to NULL). The row keeps its status, and the
//! request stays in the audit log; the supervisor moves the row to the measure instead.

use sea_orm_migration::prelude::*;

/// Withdraws closure requests that named a special measure.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000019_measures_are_statuses"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    ClosureReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let withdraw = Query::update()
            .table(Cases::Table)
            .value(Cases::ClosureReason, Option::<String>::None)
            .and_where(
                Expr::col(Cases::ClosureReason).is_in(["vocational_school", "compulsory_return"]),
            )
            .to_owned();
        manager.exec_stmt(withdraw).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The withdrawn requests are in the audit log; nothing to put back by itself.
        Ok(())
    }
}
