//! Queries on the schools of a scope and their roll reconciliations (R7).

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use sync_protocol::org::OrgUnitKind;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{org_unit, roll_reconciliation};

/// The schools `scope` holds, by name: a school's staff their school, a township its schools, a
/// district all of them; a village none.
pub async fn schools_in(
    db: &impl ConnectionTrait,
    scope: Scope,
) -> Result<Vec<org_unit::Model>, DbErr> {
    let unit = match scope {
        Scope::School(id) => Condition::all().add(org_unit::Column::Id.eq(id)),
        Scope::Township(id) => Condition::all().add(org_unit::Column::TownshipId.eq(id)),
        Scope::District(id) => Condition::all().add(org_unit::Column::DistrictId.eq(id)),
        Scope::Village(_) => return Ok(Vec::new()),
    };
    org_unit::Entity::find()
        .filter(org_unit::Column::Kind.eq(OrgUnitKind::School.as_str()))
        .filter(unit)
        .order_by_asc(org_unit::Column::Name)
        .all(db)
        .await
}

/// The reconciliations of the term starting `term_start` by the schools `schools`.
pub async fn of_term(
    db: &impl ConnectionTrait,
    term_start: NaiveDate,
    schools: Vec<Uuid>,
) -> Result<Vec<roll_reconciliation::Model>, DbErr> {
    roll_reconciliation::Entity::find()
        .filter(roll_reconciliation::Column::TermStart.eq(term_start))
        .filter(roll_reconciliation::Column::SchoolId.is_in(schools))
        .all(db)
        .await
}

/// Records `row` unless its school reconciled that term already; answers the reconciliation
/// that stands (the first one).
pub async fn record(
    db: &impl ConnectionTrait,
    row: roll_reconciliation::Model,
) -> Result<roll_reconciliation::Model, DbErr> {
    let earlier = of_term(db, row.term_start, vec![row.school_id]).await?;
    if let Some(first) = earlier.into_iter().next() {
        return Ok(first);
    }
    roll_reconciliation::ActiveModel::from(row).insert(db).await
}
