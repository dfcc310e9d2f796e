//! Moving a student to another school or village (a roll change, R7). The student's cases move
//! with them, and every record of those cases leaves the old scope: the change log tells the old
//! scope's phones to drop them and the new scope's phones to fetch them.

use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use sync_protocol::ErrorCode;
use sync_protocol::org::{OrgUnitKind, Role};
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::changes::{ChangeSet, RecordScope};
use crate::db::entity::{
    attempt, case, conflict, document, media_object, org_unit, review, student,
};
use crate::error::ApiError;
use crate::state::AppState;

/// The ids of every record of `case_id`, by kind.
async fn records_of(
    db: &impl sea_orm::ConnectionTrait,
    case_id: Uuid,
) -> Result<Vec<(EntityKind, Uuid)>, DbErr> {
    let mut out = vec![(EntityKind::Case, case_id)];
    let ids = |rows: Vec<Uuid>, kind| rows.into_iter().map(move |id| (kind, id));
    use sea_orm::QuerySelect as _;
    out.extend(ids(
        attempt::Entity::find()
            .select_only()
            .column(attempt::Column::Id)
            .filter(attempt::Column::CaseId.eq(case_id))
            .into_tuple()
            .all(db)
            .await?,
        EntityKind::Attempt,
    ));
    out.extend(ids(
        document::Entity::find()
            .select_only()
            .column(document::Column::Id)
            .filter(document::Column::CaseId.eq(case_id))
            .into_tuple()
            .all(db)
            .await?,
        EntityKind::Document,
    ));
    out.extend(ids(
        review::Entity::find()
            .select_only()
            .column(review::Column::Id)
            .filter(review::Column::CaseId.eq(case_id))
            .into_tuple()
            .all(db)
            .await?,
        EntityKind::Review,
    ));
    out.extend(ids(
        conflict::Entity::find()
            .select_only()
            .column(conflict::Column::Id)
            .filter(conflict::Column::CaseId.eq(case_id))
            .into_tuple()
            .all(db)
            .await?,
        EntityKind::Conflict,
    ));
    out.extend(ids(
        media_object::Entity::find()
            .select_only()
            .column(media_object::Column::Id)
            .filter(media_object::Column::CaseId.eq(case_id))
            .into_tuple()
            .all(db)
            .await?,
        EntityKind::Media,
    ));
    Ok(out)
}

/// Moves `student_id` to `school_id` and `village_id`, both inside the caller's district.
pub async fn transfer(
    state: &AppState,
    user: &AuthUser,
    student_id: Uuid,
    school_id: Uuid,
    village_id: Uuid,
) -> Result<(), ApiError> {
    if !matches!(user.role, Role::Supervisor | Role::Admin) {
        return Err(ApiError::forbidden(
            "only the bureau changes a student's roll",
        ));
    }
    let txn = state.db.write.begin().await?;
    let student = student::Entity::find_by_id(student_id)
        .filter(user.scope().condition::<student::Entity>())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("student"))?;
    let unit = |id: Uuid, kind: OrgUnitKind| {
        let txn = &txn;
        async move {
            org_unit::Entity::find_by_id(id)
                .filter(org_unit::Column::Kind.eq(kind.as_str()))
                .filter(org_unit::Column::DistrictId.eq(student.district_id))
                .one(txn)
                .await
        }
    };
    let invalid = |what: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidBody,
            format!("no such {what} in this district"),
        )
    };
    let school = unit(school_id, OrgUnitKind::School)
        .await?
        .ok_or_else(|| invalid("school"))?;
    let village = unit(village_id, OrgUnitKind::Village)
        .await?
        .ok_or_else(|| invalid("village"))?;
    let township = village.township_id.ok_or_else(|| invalid("village"))?;
    let new_scope = RecordScope {
        school_id: school.id,
        village_id: village.id,
        township_id: township,
        district_id: student.district_id,
    };

    let mut active: student::ActiveModel = student.clone().into();
    active.school_id = Set(school.id);
    active.village_id = Set(village.id);
    active.township_id = Set(township);
    active.updated_at = Set(Utc::now());
    active.update(&txn).await?;

    let mut changes = ChangeSet::default();
    for row in case::Entity::find()
        .filter(case::Column::StudentId.eq(student_id))
        .all(&txn)
        .await?
    {
        let old_scope = RecordScope::from(&row);
        let records = records_of(&txn, row.id).await?;
        let mut active: case::ActiveModel = row.into();
        active.school_id = Set(new_scope.school_id);
        active.village_id = Set(new_scope.village_id);
        active.township_id = Set(new_scope.township_id);
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        for (kind, id) in records {
            if old_scope != new_scope {
                changes.remove(kind, id, old_scope);
            }
            changes.upsert(kind, id, new_scope, false);
        }
    }
    crate::audit::record(
        &txn,
        user,
        None,
        crate::audit::Action::TransferStudent,
        Some(student_id),
        serde_json::json!({ "from_school": student.school_id, "to_school": school.id, "from_village": student.village_id, "to_village": village.id }),
    )
    .await?;
    changes.append(&txn).await?;
    txn.commit().await?;
    Ok(())
}
