//! Each term's roll reconciliation (R7): within two weeks of a term's start every school
//! reconciles its roll changes (transfers, suspensions, graduations) so that the roll matches
//! the children (人籍一致). One due item per school and term, listed for the school's lead,
//! the township and the bureau; the school's lead confirms it.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike as _, Duration, NaiveDate, Utc};
use sync_protocol::Problem;
use sync_protocol::org::Role;
use sync_protocol::students::{ReconcileRoll, Reconciliations, SchoolReconciliation};
use tracing::instrument;
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::calendar::china_date;
use crate::db::entity::{org_unit, roll_reconciliation};
use crate::db::{self, Scope};
use crate::error::{ApiError, Json};
use crate::state::AppState;

/// Days a school has after the term's start (R7: two weeks).
pub const RECONCILE_DAYS: i64 = 14;

/// Who reads the list: the school's lead, the township and the bureau.
const READERS: &[Role] = &[Role::SchoolLead, Role::TownshipOfficer, Role::Supervisor];

/// The start of the term `today` is in: the latest of `starts` (month, day) on or before it.
pub fn term_start(today: NaiveDate, starts: &[(u32, u32)]) -> Option<NaiveDate> {
    [today.year() - 1, today.year()]
        .iter()
        .flat_map(|year| {
            starts
                .iter()
                .filter_map(move |(m, d)| NaiveDate::from_ymd_opt(*year, *m, *d))
        })
        .filter(|start| *start <= today)
        .max()
}

/// The current term's start and its last day to reconcile.
fn current_term(state: &AppState) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let start = term_start(china_date(Utc::now()), &state.config.term_starts)
        .ok_or_else(|| anyhow::anyhow!("no term start in the configuration"))?;
    Ok((start, start + Duration::days(RECONCILE_DAYS)))
}

/// A school's line of the list.
fn line(
    school: &org_unit::Model,
    done: Option<&roll_reconciliation::Model>,
    overdue_after: NaiveDate,
    today: NaiveDate,
) -> SchoolReconciliation {
    SchoolReconciliation {
        school_id: school.id.into(),
        school: school.name.clone(),
        reconciled_by: done.map(|r| r.reconciled_by.into()),
        reconciled_at: done.map(|r| r.reconciled_at),
        notes: done.map(|r| r.notes.clone()).unwrap_or_default(),
        overdue: done.is_none() && today > overdue_after,
    }
}

/// The current term's roll reconciliation of every school in the caller's scope (R7), by name:
/// done (by whom, when) or due, and overdue past two weeks from the term's start.
#[utoipa::path(get, path = "/api/v1/roll-reconciliations", tag = "students",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Reconciliations),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn list_reconciliations(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Reconciliations>, ApiError> {
    if !READERS.contains(&user.role) {
        return Err(ApiError::forbidden(
            "the roll reconciliation is followed by the school's lead, the township and the bureau",
        ));
    }
    let (term_start, due_on) = current_term(&state)?;
    let db = &state.db.read;
    let schools = db::reconciliations::schools_in(db, user.scope()).await?;
    let done = db::reconciliations::of_term(db, term_start, schools.iter().map(|s| s.id).collect())
        .await?;
    let today = china_date(Utc::now());
    let schools = schools
        .iter()
        .map(|s| line(s, done.iter().find(|r| r.school_id == s.id), due_on, today))
        .collect();
    Ok(Json(Reconciliations {
        term_start,
        due_on,
        schools,
    }))
}

/// The school's lead confirms the school's roll reconciled for the current term (R7). Sent again,
/// the first confirmation stands and is answered. Audited.
#[utoipa::path(post, path = "/api/v1/roll-reconciliations", tag = "students",
    request_body = ReconcileRoll,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SchoolReconciliation),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not the caller's school", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn reconcile_roll(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ReconcileRoll>,
) -> Result<(StatusCode, Json<SchoolReconciliation>), ApiError> {
    if user.role != Role::SchoolLead {
        return Err(ApiError::forbidden(
            "the school's lead confirms the roll reconciled",
        ));
    }
    let school = db::reconciliations::schools_in(&state.db.read, Scope::School(user.org_unit_id))
        .await?
        .into_iter()
        .find(|s| s.id == body.school_id.0)
        .ok_or_else(|| ApiError::not_found("school"))?;
    let (term_start, due_on) = current_term(&state)?;
    let row = db::reconciliations::record(
        &state.db.write,
        roll_reconciliation::Model {
            id: Uuid::now_v7(),
            school_id: school.id,
            term_start,
            reconciled_by: user.id,
            reconciled_at: Utc::now(),
            notes: body.notes,
        },
    )
    .await?;
    audit::record(
        &state.db.write,
        &user,
        None,
        audit::Action::ReconcileRoll,
        None,
        serde_json::json!({ "school_id": school.id, "term_start": term_start }),
    )
    .await?;
    let today = china_date(Utc::now());
    Ok((
        StatusCode::CREATED,
        Json(line(&school, Some(&row), due_on, today)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    #[test]
    fn r07_the_term_is_the_latest_start_on_or_before_today() {
        let starts = [(9, 1), (3, 1)];
        assert_eq!(
            term_start(date(2026, 12, 4), &starts),
            Some(date(2026, 9, 1))
        );
        assert_eq!(
            term_start(date(2027, 2, 10), &starts),
            Some(date(2026, 9, 1))
        );
        assert_eq!(
            term_start(date(2027, 3, 1), &starts),
            Some(date(2027, 3, 1))
        );
        assert_eq!(
            term_start(date(2027, 8, 31), &starts),
            Some(date(2027, 3, 1))
        );
    }
}
