//! `/api/v1/cases`: the ledger list with filters and paging, and one case with its attempts.

use axum::extract::{ConnectInfo, State};
use sync_protocol::cases::{CaseListQuery, CasePage, CaseSummary, DueList, DueQuery};
use sync_protocol::detail::CaseDetail;
use sync_protocol::{CaseId, Problem};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::db;
use crate::error::{ApiError, Json, Path, Query};
use crate::state::AppState;

/// The case routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases))
        .routes(routes!(list_due))
        .routes(routes!(get_case))
}

/// What is due on the open cases in the caller's scope (or under one of its org units), and what
/// is overdue (`?overdue=true`), by the rules' deadlines in working days (R2–R5, R8–R14), a page
/// of cases at a time by case id.
#[utoipa::path(get, path = "/api/v1/cases/due", tag = "cases", params(DueQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DueList),
        (status = 400, description = "bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn list_due(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<DueQuery>,
) -> Result<Json<DueList>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_parameter(format!(
            "limit must be 1..={MAX_PAGE}, not {limit}"
        )));
    }
    Ok(Json(
        super::due_list::walk(&state, &user, &query, limit).await?,
    ))
}

/// Largest page the list returns.
const MAX_PAGE: u64 = 500;

/// Lists the cases in the caller's scope, ordered by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CasePage),
        (status = 400, description = "bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn list_cases(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<CaseListQuery>,
) -> Result<Json<CasePage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_parameter(format!(
            "limit must be 1..={MAX_PAGE}, not {limit}"
        )));
    }
    let filter = db::cases::CaseFilter {
        status: query.status.map(|s| s.as_str().to_owned()),
        reason: query.reason.map(|r| r.as_str().to_owned()),
        school_id: query.school_id.map(|id| id.0),
        village_id: query.village_id.map(|id| id.0),
        township_id: query.township_id.map(|id| id.0),
        student: None,
        special_group: None,
        after: query.after.map(|id| id.0),
    };
    let rows = db::cases::list(&state.db.read, user.scope(), &filter, limit).await?;
    let full = rows.len() as u64 == limit;
    let items: Vec<CaseSummary> = super::views(&state, &state.db.read, rows)
        .await?
        .into_iter()
        .map(|(summary, _)| summary)
        .collect();
    let next_after = if full {
        items.last().map(|c| c.id)
    } else {
        None
    };
    Ok(Json(CasePage { items, next_after }))
}

/// One case in the caller's scope with everything a supervisor reviews: what is due and the
/// row's `version`, every attempt with its participants, the evidence files with their download
/// and thumbnail links, the documents, the reviews, the moves and the conflicts sync kept. A case
/// outside the scope is a 404.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = CaseId, Path, description = "case id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn get_case(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    user: AuthUser,
    Path(id): Path<CaseId>,
) -> Result<Json<CaseDetail>, ApiError> {
    Ok(Json(
        super::detail::read(&state, &user, peer.ip(), id).await?,
    ))
}
