//! `/api/v1/flags`: the plausibility flags of the caller's scope, oldest first, and a
//! supervisor's dismissal with a reason; `/api/v1/org-units/{id}/centre`: an administrator sets
//! the centre point a visit's distance is measured from.

use axum::extract::State;
use axum::http::StatusCode;
use sync_protocol::flags::{Centre, DismissFlag, Flag, FlagQuery};
use sync_protocol::{FlagId, OrgUnitId, Problem};
use tracing::instrument;

use crate::auth::AuthUser;
use crate::error::{ApiError, Json, Path, Query};
use crate::state::AppState;

/// The plausibility flags on the caller's cases, oldest first: the open ones, or all with
/// `dismissed=true`. Every role but the administrator, in its scope.
#[utoipa::path(get, path = "/api/v1/flags", tag = "flags",
    params(FlagQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Flag>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn list_flags(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<FlagQuery>,
) -> Result<Json<Vec<Flag>>, ApiError> {
    Ok(Json(
        super::review::listed(&state, &user, query.dismissed).await?,
    ))
}

/// Dismisses a flag with the reason it does not hold. Supervisors only; audited.
#[utoipa::path(post, path = "/api/v1/flags/{id}/dismiss", tag = "flags",
    params(("id" = FlagId, Path, description = "flag id")),
    request_body = DismissFlag,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Flag),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn dismiss_flag(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<FlagId>,
    Json(body): Json<DismissFlag>,
) -> Result<Json<Flag>, ApiError> {
    Ok(Json(
        super::review::dismiss(&state, &user, id.0, &body.reason).await?,
    ))
}

/// Sets the centre point of an org unit of the administrator's district (a village's, for how
/// far a visit was from it); audited.
#[utoipa::path(put, path = "/api/v1/org-units/{id}/centre", tag = "flags",
    params(("id" = OrgUnitId, Path, description = "org unit id")),
    request_body = Centre,
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn set_centre(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<OrgUnitId>,
    Json(centre): Json<Centre>,
) -> Result<StatusCode, ApiError> {
    super::review::set_centre(&state, &user, id.0, centre).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The flag routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_flags))
        .routes(utoipa_axum::routes!(dismiss_flag))
        .routes(utoipa_axum::routes!(set_centre))
}
