//! Queries on students and guardians, filtered by the caller's scope inside the SQL.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sync_protocol::students::SpecialGroups;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{guardian, student};

/// The special groups (R22) the row `student` records.
pub fn groups(student: &student::Model) -> SpecialGroups {
    SpecialGroups {
        left_behind: student.left_behind,
        orphan: student.orphan,
        disabled: student.disabled,
        poor_household: student.poor_household,
        migrant: student.migrant,
    }
}

/// The student `id` if in `scope`, with their guardians in order.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<(student::Model, Vec<guardian::Model>)>, DbErr> {
    let Some(student) = in_scope(db, scope, id).await? else {
        return Ok(None);
    };
    let guardians = guardian::Entity::find()
        .filter(guardian::Column::StudentId.eq(id))
        .order_by_asc(guardian::Column::Position)
        .all(db)
        .await?;
    Ok(Some((student, guardians)))
}

/// The students `ids`, by id (no scope: the ids come from cases already read in scope).
pub async fn by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, student::Model>, DbErr> {
    Ok(student::Entity::find()
        .filter(student::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

/// How many students are in `scope`, under `unit` if given.
pub async fn count(
    db: &impl ConnectionTrait,
    scope: Scope,
    unit: Option<Uuid>,
) -> Result<u64, DbErr> {
    let mut students = student::Entity::find().filter(scope.condition::<student::Entity>());
    if let Some(unit) = unit {
        students = students.filter(crate::db::scope::under::<student::Entity>(unit));
    }
    students.count(db).await
}

/// The birth dates of the students `ids`, by id.
pub async fn birth_dates(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, chrono::NaiveDate>, DbErr> {
    let pairs: Vec<(Uuid, chrono::NaiveDate)> = student::Entity::find()
        .select_only()
        .column(student::Column::Id)
        .column(student::Column::BirthDate)
        .filter(student::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(pairs.into_iter().collect())
}

/// Every student on the roll of `school`, by grade, class and name.
pub async fn of_school(
    db: &impl ConnectionTrait,
    school: Uuid,
) -> Result<Vec<student::Model>, DbErr> {
    student::Entity::find()
        .filter(student::Column::SchoolId.eq(school))
        .order_by_asc(student::Column::Grade)
        .order_by_asc(student::Column::ClassName)
        .order_by_asc(student::Column::Name)
        .all(db)
        .await
}

/// The student `id` if in `scope`.
pub async fn in_scope(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<student::Model>, DbErr> {
    student::Entity::find_by_id(id)
        .filter(scope.condition::<student::Entity>())
        .one(db)
        .await
}

/// Moves the student `id` to a school, village and township, in that order (a roll change, R7).
pub async fn move_to(
    db: &impl ConnectionTrait,
    id: Uuid,
    (school, village, township): (Uuid, Uuid, Uuid),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    student::Entity::update_many()
        .col_expr(student::Column::SchoolId, school.into())
        .col_expr(student::Column::VillageId, village.into())
        .col_expr(student::Column::TownshipId, township.into())
        .col_expr(student::Column::UpdatedAt, now.into())
        .filter(student::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Whether a student with ID-number lookup `lookup` is on a roll of `district`.
pub async fn on_roll(
    db: &impl ConnectionTrait,
    lookup: &str,
    district: Uuid,
) -> Result<bool, DbErr> {
    Ok(student::Entity::find()
        .filter(student::Column::IdNumberLookup.eq(lookup))
        .filter(student::Column::DistrictId.eq(district))
        .one(db)
        .await?
        .is_some())
}

/// Stores the new student `row` with `guardians`.
pub async fn insert(
    db: &impl ConnectionTrait,
    row: student::Model,
    guardians: Vec<guardian::Model>,
) -> Result<student::Model, DbErr> {
    let row = student::Entity::insert(student::ActiveModel::from(row))
        .exec_with_returning(db)
        .await?;
    if !guardians.is_empty() {
        guardian::Entity::insert_many(guardians.into_iter().map(guardian::ActiveModel::from))
            .exec(db)
            .await?;
    }
    Ok(row)
}
