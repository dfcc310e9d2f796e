//! Reading and reviewing flags: the flags of cases in their wire shape, the flags of the
//! caller's scope, a supervisor's dismissal with a reason (audited), and the centre point an
//! administrator sets for an org unit (how far a visit was from the village is measured from it).

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait as _};
use sync_protocol::ErrorCode;
use sync_protocol::flags::{Centre, Dismissal, Flag};
use sync_protocol::org::Role;
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::db::{self, entity::plausibility_flag};
use crate::error::ApiError;
use crate::state::AppState;

/// The most flags one list answers.
const LIST_LIMIT: u64 = 1000;

/// The wire shape of a stored flag.
pub fn shaped(row: plausibility_flag::Model) -> Result<Flag, DbErr> {
    let corrupt = |e: String| DbErr::Custom(format!("corrupt flag {}: {e}", row.id));
    let dismissal = match (row.dismissed_by, row.dismissed_at) {
        (Some(by), Some(at)) => Some(Dismissal {
            by: by.into(),
            at,
            reason: row.dismiss_reason.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Flag {
        id: row.id.into(),
        case_id: row.case_id.into(),
        attempt_id: row.attempt_id.into(),
        media_id: row.media_id.map(Into::into),
        kind: row.kind.parse().map_err(corrupt)?,
        related: serde_json::from_str(&row.related).map_err(|e| corrupt(e.to_string()))?,
        detail: row.detail,
        raised_at: row.raised_at,
        dismissal,
    })
}

/// The flags of the cases `cases`, oldest first.
pub async fn of_cases(db: &impl ConnectionTrait, cases: Vec<Uuid>) -> Result<Vec<Flag>, DbErr> {
    db::flags::of_cases(db, cases)
        .await?
        .into_iter()
        .map(shaped)
        .collect()
}

/// The flags on the caller's cases (an administrator reads no case), oldest first; the open
/// ones unless `dismissed`.
pub async fn listed(
    state: &AppState,
    user: &AuthUser,
    dismissed: bool,
) -> Result<Vec<Flag>, ApiError> {
    if user.role == Role::Admin {
        return Err(ApiError::forbidden(
            "an administrator reads no case evidence",
        ));
    }
    let rows = db::flags::in_scope(&state.db.read, user.scope(), dismissed, LIST_LIMIT).await?;
    Ok(rows.into_iter().map(shaped).collect::<Result<_, _>>()?)
}

/// A supervisor dismisses flag `id` of their scope for `reason` (required); audited. A flag
/// dismissed before keeps its first dismissal.
pub async fn dismiss(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    reason: &str,
) -> Result<Flag, ApiError> {
    if user.role != Role::Supervisor {
        return Err(ApiError::forbidden("only the bureau dismisses a flag"));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApiError::invalid(
            ErrorCode::InvalidBody,
            "a dismissal says why the flag does not hold",
        ));
    }
    let txn = state.db.write.begin().await?;
    let mut flag = db::flags::find(&txn, user.scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("flag"))?;
    if flag.dismissed_at.is_none() {
        // Kept to the microsecond, as every engine stores it.
        let now = Utc::now();
        let at = chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        db::flags::dismiss(&txn, id, (user.id, at, reason)).await?;
        let detail = serde_json::json!({ "flag_id": id, "kind": flag.kind, "reason": reason });
        audit::record(
            &txn,
            user,
            None,
            audit::Action::DismissFlag,
            Some(flag.case_id),
            detail,
        )
        .await?;
        (flag.dismissed_at, flag.dismissed_by) = (Some(at), Some(user.id));
        flag.dismiss_reason = Some(reason.to_owned());
    }
    txn.commit().await?;
    Ok(shaped(flag)?)
}

/// Sets the centre point of the org unit `id` of the administrator `user`'s district; audited.
pub async fn set_centre(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    centre: Centre,
) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::forbidden(
            "an administrator sets an org unit's centre",
        ));
    }
    let point = sync_protocol::cases::GeoPoint {
        lat: centre.lat,
        lon: centre.lon,
        accuracy_m: None,
    };
    sync_protocol::plausible::point(&point, "centre").map_err(|detail| ApiError::Malformed {
        code: ErrorCode::InvalidBody,
        detail,
    })?;
    let txn = state.db.write.begin().await?;
    let unit = db::org::units(&txn, vec![id]).await?.remove(&id);
    let Some(unit) = unit.filter(|u| user.scope() == db::Scope::of(Role::Admin, u.district_id))
    else {
        return Err(ApiError::not_found("org unit"));
    };
    db::flags::set_centre(&txn, unit.id, (centre.lat, centre.lon)).await?;
    let detail = serde_json::json!({ "centre": [centre.lat, centre.lon] });
    audit::record(
        &txn,
        user,
        None,
        audit::Action::SetCentre,
        Some(unit.id),
        detail,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
