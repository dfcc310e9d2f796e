//! `/api/v1/cases`: the ledger list with filters and paging, and one case with its attempts.

use axum::extract::{ConnectInfo, State};
use sync_protocol::cases::{
    CaseListQuery, CasePage, CaseSummary, DueCase, DueEntry, DueList, DueQuery, DueWhat,
};
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

/// Cases read per query while walking the due list.
const DUE_PAGE: u64 = 500;

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
    let today = crate::calendar::china_date(chrono::Utc::now());
    let overdue_only = query.overdue.unwrap_or(false);
    let mut list = DueList {
        cases: Vec::new(),
        calendar_missing: Vec::new(),
        next_after: None,
    };
    let mut after = query.after.map(|id| id.0);
    'walk: loop {
        let unit = query.org_unit_id.map(|u| u.0);
        let rows = {
            let walk = db::cases::Walk {
                unit,
                rows: db::cases::Rows::NotEnded,
                opened_by: None,
            };
            db::cases::page(&state.db.read, user.scope(), walk, after, DUE_PAGE).await?
        };
        let full = rows.len() as u64 == DUE_PAGE;
        after = rows.last().map(|c| c.id);
        for (case, _) in super::views(&state, &state.db.read, rows).await? {
            let mut items = Vec::new();
            for item in case.due {
                if let DueWhat::CalendarMissing { year } = item.what {
                    if !list.calendar_missing.contains(&year) {
                        list.calendar_missing.push(year);
                    }
                    continue;
                }
                let overdue = item.due_on.is_some_and(|day| today > day);
                items.push(DueEntry { item, overdue });
            }
            if items.is_empty() || (overdue_only && !items.iter().any(|i| i.overdue)) {
                continue;
            }
            list.cases.push(DueCase {
                case_id: case.id,
                student_name: case.student_name,
                school_id: case.school_id,
                status: case.status,
                items,
            });
            if list.cases.len() as u64 == limit {
                list.next_after = Some(case.id);
                break 'walk;
            }
        }
        if !full {
            break;
        }
    }
    Ok(Json(list))
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
    let row = db::cases::find(&state.db.read, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    crate::audit::record(
        &state.db.write,
        &user,
        Some(peer.ip()),
        crate::audit::Action::ReadCase,
        Some(row.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(Json(super::detail::detail(&state, row).await?))
}
