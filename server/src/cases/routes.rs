//! `/api/v1/cases`: the ledger list with filters and paging, and one case with its attempts.

use axum::extract::State;
use serde::Deserialize;
use sync_protocol::cases::{CaseDetail, CasePage, CaseStatus, ReasonCategory};
use sync_protocol::{CaseId, OrgUnitId, Problem};
use tracing::instrument;
use utoipa::IntoParams;
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
        .routes(routes!(get_case))
}

/// Largest page the list returns.
const MAX_PAGE: u64 = 500;

/// Query of `GET /api/v1/cases`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseListQuery {
    /// Only cases in this status.
    status: Option<CaseStatus>,
    /// Only cases with this reason category.
    reason: Option<ReasonCategory>,
    /// Only cases of this school.
    school_id: Option<OrgUnitId>,
    /// Only cases of this village of residence.
    village_id: Option<OrgUnitId>,
    /// Only cases of this township of residence.
    township_id: Option<OrgUnitId>,
    /// The `next_after` of the previous page.
    after: Option<CaseId>,
    /// Page size, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists the cases in the caller's scope, ordered by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CasePage),
        (status = 400, description = "bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err, fields(user.id))]
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
    let items = rows
        .into_iter()
        .map(|(row, name)| super::summary(row, name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let next_after = if full {
        items.last().map(|c| c.id)
    } else {
        None
    };
    Ok(Json(CasePage { items, next_after }))
}

/// One case in the caller's scope with all its attempts. A case outside the scope is a 404.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = CaseId, Path, description = "case id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err, fields(user.id))]
async fn get_case(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CaseId>,
) -> Result<Json<CaseDetail>, ApiError> {
    let (row, name) = db::cases::find(&state.db.read, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let attempts = db::cases::attempts(&state.db.read, row.id)
        .await?
        .into_iter()
        .map(|(a, p)| super::attempt_view(a, p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Json(CaseDetail {
        case: super::summary(row, name)?,
        attempts,
    }))
}
