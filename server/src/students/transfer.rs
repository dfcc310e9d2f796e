//! Moving a student to another school or village (a roll change, R7). The student's cases move
//! with them, and every record of those cases leaves the old scope: the change log tells the old
//! scope's phones to drop them and the new scope's phones to fetch them.

use chrono::Utc;
use sea_orm::TransactionTrait;
use sync_protocol::ErrorCode;
use sync_protocol::org::{OrgUnitKind, Role};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db;
use crate::db::changes::{ChangeSet, RecordScope};
use crate::error::ApiError;
use crate::state::AppState;

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
    let student = db::students::in_scope(&txn, user.scope(), student_id)
        .await?
        .ok_or_else(|| ApiError::not_found("student"))?;
    let unit = |id, kind| db::org::unit_in_district(&txn, id, kind, student.district_id);
    let invalid = |what: &str| {
        ApiError::invalid(
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
    let now = Utc::now();
    db::students::move_to(&txn, student_id, (school.id, village.id, township), now).await?;

    let mut changes = ChangeSet::default();
    for row in db::cases::of_student(&txn, student_id).await? {
        let old_scope = RecordScope::from(&row);
        let new_scope = RecordScope {
            case_id: row.id,
            school_id: school.id,
            village_id: village.id,
            township_id: township,
            district_id: student.district_id,
        };
        let records = db::case_parts::of_case(&txn, row.id).await?;
        db::cases::move_to(&txn, row.id, new_scope, now).await?;
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
    // A transfer moves the cases, not their histories: what is due stays as it was.
    let _moved = changes.append(&txn).await?;
    txn.commit().await?;
    Ok(())
}
