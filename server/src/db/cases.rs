//! Queries on cases and attempts, always filtered by the caller's scope inside the SQL.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::auth::Scope;
use crate::db::entity::{attempt, attempt_participant, case, student};

/// Filters of the case list; every one is optional.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases in this status.
    pub status: Option<String>,
    /// Only cases with this reason category.
    pub reason: Option<String>,
    /// Only cases of this school.
    pub school_id: Option<Uuid>,
    /// Only cases of this village of residence.
    pub village_id: Option<Uuid>,
    /// Only cases of this township of residence.
    pub township_id: Option<Uuid>,
    /// Only cases with ids after this one (keyset paging).
    pub after: Option<Uuid>,
}

/// Up to `limit` cases in `scope` matching `filter`, ordered by id, each with its student's name.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &CaseFilter,
    limit: u64,
) -> Result<Vec<(case::Model, String)>, DbErr> {
    let mut query = case::Entity::find().filter(scope.condition::<case::Entity>());
    let optional = [
        (
            case::Column::Status,
            filter.status.clone().map(sea_orm::Value::from),
        ),
        (
            case::Column::Reason,
            filter.reason.clone().map(sea_orm::Value::from),
        ),
        (
            case::Column::SchoolId,
            filter.school_id.map(sea_orm::Value::from),
        ),
        (
            case::Column::VillageId,
            filter.village_id.map(sea_orm::Value::from),
        ),
        (
            case::Column::TownshipId,
            filter.township_id.map(sea_orm::Value::from),
        ),
    ];
    for (column, value) in optional {
        if let Some(value) = value {
            query = query.filter(column.eq(value));
        }
    }
    if let Some(after) = filter.after {
        query = query.filter(case::Column::Id.gt(after));
    }
    let cases = query
        .order_by_asc(case::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let names = student_names(db, cases.iter().map(|c| c.student_id)).await?;
    Ok(cases
        .into_iter()
        .map(|c| {
            let name = names.get(&c.student_id).cloned().unwrap_or_default();
            (c, name)
        })
        .collect())
}

/// The names of the students `ids`.
pub async fn student_names(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>, DbErr> {
    let ids: Vec<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Uuid, String)> = student::Entity::find()
        .select_only()
        .column(student::Column::Id)
        .column(student::Column::Name)
        .filter(student::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The case `id` if it is in `scope`, with its student's name.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<(case::Model, String)>, DbErr> {
    let Some(case) = case::Entity::find_by_id(id)
        .filter(scope.condition::<case::Entity>())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let name = student_names(db, std::iter::once(case.student_id))
        .await?
        .remove(&case.student_id)
        .unwrap_or_default();
    Ok(Some((case, name)))
}

/// Every attempt of `case_id`, oldest first, with its participants in signing order.
pub async fn attempts(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Vec<(attempt::Model, Vec<attempt_participant::Model>)>, DbErr> {
    let attempts = attempt::Entity::find()
        .filter(attempt::Column::CaseId.eq(case_id))
        .order_by_asc(attempt::Column::OccurredAt)
        .order_by_asc(attempt::Column::Id)
        .all(db)
        .await?;
    let mut participants =
        crate::db::attempts::participants_of(db, attempts.iter().map(|a| a.id).collect()).await?;
    Ok(attempts
        .into_iter()
        .map(|a| {
            let mine = participants.remove(&a.id).unwrap_or_default();
            (a, mine)
        })
        .collect())
}

/// The cases in `scope` at the school's stage (suspected, school persuasion), each with how many
/// school persuasion attempts were made on or after its opening day (China dates).
pub async fn school_stage(
    db: &impl ConnectionTrait,
    scope: Scope,
) -> Result<Vec<(case::Model, u32)>, DbErr> {
    use sync_protocol::cases::{AttemptKind, CaseStatus};
    let cases = case::Entity::find()
        .filter(scope.condition::<case::Entity>())
        .filter(case::Column::Status.is_in([
            CaseStatus::Suspected.as_str(),
            CaseStatus::SchoolPersuasion.as_str(),
        ]))
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?;
    let mut counts: std::collections::HashMap<Uuid, u32> = Default::default();
    let opened: std::collections::HashMap<Uuid, chrono::NaiveDate> =
        cases.iter().map(|c| (c.id, c.opened_on)).collect();
    for ids in cases.chunks(500) {
        let attempts = attempt::Entity::find()
            .filter(attempt::Column::CaseId.is_in(ids.iter().map(|c| c.id)))
            .filter(attempt::Column::Kind.ne(AttemptKind::JointPersuasion.as_str()))
            .all(db)
            .await?;
        for a in attempts {
            let on_time = opened
                .get(&a.case_id)
                .is_some_and(|day| crate::calendar::china_date(a.occurred_at) >= *day);
            if on_time {
                *counts.entry(a.case_id).or_default() += 1;
            }
        }
    }
    Ok(cases
        .into_iter()
        .map(|c| {
            let n = counts.get(&c.id).copied().unwrap_or(0);
            (c, n)
        })
        .collect())
}
