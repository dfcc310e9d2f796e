//! Queries on cases and attempts, always filtered by the caller's scope inside the SQL.

use crate::db::CHUNK;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sync_protocol::cases::CaseStatus;
use sync_protocol::students::SpecialGroup;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::changes::RecordScope;
use crate::db::entity::{attempt, attempt_participant, case, case_alias, case_move, student};

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
    /// Only cases of students whose name contains this, or whose roll number is this.
    pub student: Option<String>,
    /// Only cases of students in this special group (R22).
    pub special_group: Option<SpecialGroup>,
    /// Only cases with ids after this one (keyset paging).
    pub after: Option<Uuid>,
}

/// Up to `limit` cases in `scope` matching `filter`, ordered by id.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &CaseFilter,
    limit: u64,
) -> Result<Vec<case::Model>, DbErr> {
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
    if let Some(text) = filter.student.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.replace(['%', '_'], ""));
        let students = sea_orm::sea_query::Query::select()
            .column(student::Column::Id)
            .from(student::Entity)
            .cond_where(
                sea_orm::Condition::any()
                    .add(student::Column::Name.like(pattern))
                    .add(student::Column::RegistrationNo.eq(text)),
            )
            .to_owned();
        query = query.filter(case::Column::StudentId.in_subquery(students));
    }
    if let Some(group) = filter.special_group {
        let column = match group {
            SpecialGroup::LeftBehind => student::Column::LeftBehind,
            SpecialGroup::Orphan => student::Column::Orphan,
            SpecialGroup::Disabled => student::Column::Disabled,
            SpecialGroup::PoorHousehold => student::Column::PoorHousehold,
            SpecialGroup::Migrant => student::Column::Migrant,
        };
        let students = sea_orm::sea_query::Query::select()
            .column(student::Column::Id)
            .from(student::Entity)
            .and_where(column.eq(true))
            .to_owned();
        query = query.filter(case::Column::StudentId.in_subquery(students));
    }
    if let Some(after) = filter.after {
        query = query.filter(case::Column::Id.gt(after));
    }
    query
        .order_by_asc(case::Column::Id)
        .limit(limit)
        .all(db)
        .await
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

/// The case `id` if it is in `scope`.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find_by_id(id)
        .filter(scope.condition::<case::Entity>())
        .one(db)
        .await
}

/// The row of `student` that has not ended (see `CaseStatus::ENDED`), if there is one.
pub async fn open_of_student(
    db: &impl ConnectionTrait,
    student: Uuid,
) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find()
        .filter(case::Column::StudentId.eq(student))
        .filter(status_not_in(CaseStatus::ENDED))
        .one(db)
        .await
}

/// The rows that the phone-made case ids among `ids` were joined to, by id.
pub async fn aliases(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Uuid>, DbErr> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = case_alias::Entity::find()
            .filter(case_alias::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|a| (a.id, a.case_id)));
    }
    Ok(found)
}

/// Joins the phone-made case id `alias` to the open row `case_id`.
pub async fn add_alias(
    db: &impl ConnectionTrait,
    alias: Uuid,
    case_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = case_alias::Model {
        id: alias,
        case_id,
        created_at: now,
    };
    case_alias::Entity::insert(case_alias::ActiveModel::from(row))
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Which rows a walk over [`page`] takes by their status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Rows that have not ended (see `CaseStatus::ENDED`): what the due list walks.
    NotEnded,
    /// Ledger rows, open or closed, not absences (see `CaseStatus::ABSENCE`): what the ledger
    /// and its statistics walk.
    Ledger,
}

/// Which cases a walk over [`page`] takes, besides the caller's scope.
#[derive(Debug, Clone, Copy)]
pub struct Walk {
    /// Only cases under this org unit, whatever its level.
    pub unit: Option<Uuid>,
    /// Which rows by their status.
    pub rows: Rows,
    /// Only cases opened on or before this day: what a report of a period walks.
    pub opened_by: Option<chrono::NaiveDate>,
}

/// The cases of `walk` in `scope`, by id, `limit` at a time after `after`.
pub async fn page(
    db: &impl ConnectionTrait,
    scope: Scope,
    walk: Walk,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<case::Model>, DbErr> {
    let mut query = case::Entity::find().filter(scope.condition::<case::Entity>());
    query = query.filter(status_not_in(match walk.rows {
        Rows::NotEnded => CaseStatus::ENDED,
        Rows::Ledger => CaseStatus::ABSENCE,
    }));
    if let Some(day) = walk.opened_by {
        query = query.filter(case::Column::OpenedOn.lte(day));
    }
    if let Some(unit) = walk.unit {
        query = query.filter(crate::db::scope::under::<case::Entity>(unit));
    }
    if let Some(after) = after {
        query = query.filter(case::Column::Id.gt(after));
    }
    query
        .order_by_asc(case::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Rows whose status is none of `statuses`.
fn status_not_in(statuses: &[CaseStatus]) -> sea_orm::sea_query::SimpleExpr {
    case::Column::Status.is_not_in(statuses.iter().map(|s| s.as_str()))
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

/// Every case of `student`, open or closed.
pub async fn of_student(
    db: &impl ConnectionTrait,
    student: Uuid,
) -> Result<Vec<case::Model>, DbErr> {
    case::Entity::find()
        .filter(case::Column::StudentId.eq(student))
        .all(db)
        .await
}

/// Moves the case `id` to the school, village and township of `to` (a roll change, R7).
pub async fn move_to(
    db: &impl ConnectionTrait,
    id: Uuid,
    to: RecordScope,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    case::Entity::update_many()
        .col_expr(case::Column::SchoolId, to.school_id.into())
        .col_expr(case::Column::VillageId, to.village_id.into())
        .col_expr(case::Column::TownshipId, to.township_id.into())
        .col_expr(case::Column::UpdatedAt, now.into())
        .filter(case::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// The case `id`, whatever its scope (for the operator's commands, not for a caller).
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find_by_id(id).one(db).await
}

/// The last move of `case_id`: by the day it was made, then by when it was recorded.
pub async fn last_move(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Option<case_move::Model>, DbErr> {
    case_move::Entity::find()
        .filter(case_move::Column::CaseId.eq(case_id))
        .order_by_desc(case_move::Column::MovedAt)
        .order_by_desc(case_move::Column::RecordedAt)
        .one(db)
        .await
}

/// How many cases there are, in every scope.
pub async fn count_all(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    case::Entity::find().count(db).await
}

/// Every case after `after` by id, `limit` at a time (for the operator's commands, not for a
/// caller).
pub async fn all_page(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<case::Model>, DbErr> {
    let mut query = case::Entity::find()
        .order_by_asc(case::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(case::Column::Id.gt(after));
    }
    query.all(db).await
}

/// Stores the new case `row`.
pub async fn insert(db: &impl ConnectionTrait, row: case::Model) -> Result<case::Model, DbErr> {
    case::Entity::insert(case::ActiveModel::from(row))
        .exec_with_returning(db)
        .await
}

/// The cases `ids`, in every scope (for work the server does on its own, never a caller's read).
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<case::Model>, DbErr> {
    by_ids_where(db, ids, Condition::all()).await
}

/// The cases `ids` that also meet `condition`, [`crate::db::CHUNK`] ids a query.
async fn by_ids_where(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    condition: Condition,
) -> Result<Vec<case::Model>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows = case::Entity::find()
            .filter(case::Column::Id.is_in(chunk.iter().copied()))
            .filter(condition.clone())
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The cases `ids` that are in `scope`, by id, the scope checked on each row read. The engines
/// need the read put to them differently for it to stay bounded by the ids and the scope:
/// - PostgreSQL is given the scope's condition too: with the ids alone it plans a sequential
///   scan of `cases` once the ids are a few percent of the table (a teacher's page of 2,000
///   cases in a district of 20,000: 5.5 ms against 2.2 ms through `cases_school`), which grows
///   with the district;
/// - SQLite is given the ids alone: without statistics it takes the scope's index whenever there
///   is one, reading a supervisor's whole district for every page.
pub async fn by_id_in_scope(
    db: &impl ConnectionTrait,
    scope: Scope,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, case::Model>, DbErr> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let condition = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => scope.condition::<case::Entity>(),
        _ => Condition::all(),
    };
    Ok(by_ids_where(db, &ids, condition)
        .await?
        .into_iter()
        .filter(|c| scope.contains(c))
        .map(|c| (c.id, c))
        .collect())
}

/// Records the status move `row`.
pub async fn insert_move(db: &impl ConnectionTrait, row: case_move::Model) -> Result<(), DbErr> {
    case_move::Entity::insert(case_move::ActiveModel::from(row))
        .exec(db)
        .await
        .map(|_| ())
}

/// The moves of case `id`, oldest first.
pub async fn moves_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Vec<case_move::Model>, DbErr> {
    case_move::Entity::find()
        .filter(case_move::Column::CaseId.eq(id))
        .order_by_asc(case_move::Column::MovedAt)
        .order_by_asc(case_move::Column::RecordedAt)
        .all(db)
        .await
}

/// When the latest move of case `id` counts as made, if it ever moved.
pub async fn latest_move_at(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(case_move::Entity::find()
        .select_only()
        .column_as(case_move::Column::MovedAt.max(), "latest")
        .filter(case_move::Column::CaseId.eq(id))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten())
}

/// What a merge decides of a case: the fields phones edit, its version and field clock.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The stored status name.
    pub status: String,
    /// The stored reason category.
    pub reason: Option<String>,
    /// The responsible person.
    pub responsible_user_id: Option<Uuid>,
    /// Relapses so far.
    pub relapse_count: i32,
    /// The stored closure reason.
    pub closure_reason: Option<String>,
    /// The version after the merge.
    pub version: i64,
    /// The field clock, as stored.
    pub field_stamps: String,
    /// When it was merged.
    pub updated_at: DateTime<Utc>,
}

/// Writes `merged` over the case `row` and returns the case as stored. Only those columns are
/// written: what another transaction changed meanwhile (a transfer's school) stands.
pub async fn store_merged(
    db: &impl ConnectionTrait,
    row: case::Model,
    merged: Merged,
) -> Result<case::Model, DbErr> {
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};
    let mut active: case::ActiveModel = row.into();
    active.status = Set(merged.status);
    active.reason = Set(merged.reason);
    active.responsible_user_id = Set(merged.responsible_user_id);
    active.relapse_count = Set(merged.relapse_count);
    active.closure_reason = Set(merged.closure_reason);
    active.version = Set(merged.version);
    active.field_stamps = Set(merged.field_stamps);
    active.updated_at = Set(merged.updated_at);
    active.update(db).await
}
