//! `/api/v1/sync/push` and `/api/v1/sync/pull`.

use axum::extract::{ConnectInfo, State};
use sync_protocol::Problem;
use sync_protocol::sync::{PullRequest, PullResponse, PulledRecord, PushRequest, PushResponse};
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
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    user: AuthUser,
    Json(body): Json<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    let page = super::pull::pull(&state, &user, body).await?;
    // Attempts carry family circumstances of minors: a page that sends any is a read (R23).
    let of_cases: Vec<_> = page
        .records
        .iter()
        .filter_map(|r| match r {
            PulledRecord::Attempt { attempt, .. } => Some(attempt.case_id),
            _ => None,
        })
        .collect();
    if !of_cases.is_empty() {
        let attempts = of_cases.len();
        let cases: std::collections::BTreeSet<_> = of_cases.into_iter().collect();
        crate::audit::record(
            &state.db.write,
            &user,
            Some(peer.ip()),
            crate::audit::Action::PullAttempts,
            None,
            serde_json::json!({ "attempts": attempts, "cases": cases, "cursor": page.cursor }),
        )
        .await?;
    }
    Ok(Json(page))
}
