//! `/api/v1/calendars`: which years have a holiday schedule, and loading one (administrators).

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use sync_protocol::Problem;
use sync_protocol::calendar::{CalendarYears, LoadedYear, YearSchedule};
use sync_protocol::org::Role;
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, StoreError};
use crate::audit;
use crate::auth::AuthUser;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;

/// The calendar routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars))
        .routes(routes!(put_calendar))
}

/// Which years have a holiday schedule.
#[utoipa::path(get, path = "/api/v1/calendars", tag = "calendars", security(("bearer" = [])),
    responses((status = 200, body = CalendarYears)))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn list_calendars(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<CalendarYears>, ApiError> {
    let calendar = state
        .calendar()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(CalendarYears {
        years: calendar
            .years()
            .map(|(year, source)| LoadedYear {
                year,
                source: source.to_owned(),
            })
            .collect(),
        missing: calendar.missing(chrono::Utc::now().date_naive()),
    }))
}

/// Loads (or replaces) a year's holiday schedule, as published by the State Council's general
/// office. Administrators only; audited.
#[utoipa::path(put, path = "/api/v1/calendars/{year}", tag = "calendars", security(("bearer" = [])),
    params(("year" = i32, Path, description = "the year")),
    request_body = YearSchedule,
    responses(
        (status = 204, description = "loaded"),
        (status = 400, description = "the schedule does not hold together, or is for another year", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn put_calendar(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    user: AuthUser,
    Path(year): Path<i32>,
    Json(schedule): Json<YearSchedule>,
) -> Result<StatusCode, ApiError> {
    load(&state, &user, peer.ip(), year, &schedule).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Loads (or replaces) `schedule` as the `year`'s for `user`, an administrator, audited as
/// `calendar.load`; the API's and the console's. A schedule for another year, or one that does
/// not hold together, is `invalid_parameter`.
pub async fn load(
    state: &AppState,
    user: &AuthUser,
    peer: std::net::IpAddr,
    year: i32,
    schedule: &YearSchedule,
) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::forbidden(
            "only an administrator loads holiday schedules",
        ));
    }
    if schedule.year != year {
        return Err(ApiError::invalid_parameter(format!(
            "the schedule is for {}, not {year}",
            schedule.year
        )));
    }
    let txn = sea_orm::TransactionTrait::begin(&state.db.write).await?;
    match store::save(&txn, schedule, Some(user.id)).await {
        Ok(()) => {}
        Err(StoreError::Invalid(e)) => {
            return Err(ApiError::invalid_parameter(e.to_string()));
        }
        Err(e) => return Err(ApiError::Internal(e.into())),
    }
    audit::record(
        &txn,
        user,
        Some(peer),
        audit::Action::LoadCalendar,
        None,
        serde_json::json!({ "year": year, "source": schedule.source }),
    )
    .await?;
    txn.commit().await?;
    // Deadlines move with the schedule: what is due on each case is computed again.
    crate::cases::due_store::spawn_backfill(state.clone());
    Ok(())
}
