//! `/api/v1/sync/push` and `/api/v1/sync/pull`.

use axum::extract::State;
use sync_protocol::Problem;
use sync_protocol::sync::{PullRequest, PullResponse, PushRequest, PushResponse};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::{ApiError, Json};
use crate::state::AppState;

/// The sync routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(push))
        .routes(routes!(pull))
}

/// Applies a batch of mutations in order, each exactly once; answers after the commit.
#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync", request_body = PushRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PushResponse),
        (status = 409, description = "a mutation id was reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 426, description = "client protocol too old", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id, mutations = body.mutations.len()))]
async fn push(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    super::push::push(&state, &user, body).await.map(Json)
}

/// Every change visible to the caller since the cursor, a page at a time.
#[utoipa::path(post, path = "/api/v1/sync/pull", tag = "sync", request_body = PullRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PullResponse),
        (status = 400, description = "bad cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 426, description = "client protocol too old", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn pull(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    super::pull::pull(&state, &user, body).await.map(Json)
}
