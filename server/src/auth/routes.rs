//! `/api/v1/auth/*`: login, refresh, logout.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use sync_protocol::Problem;
use sync_protocol::auth::{LoginRequest, LogoutRequest, RefreshRequest, TokenPair};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions;
use crate::error::{ApiError, Json};
use crate::state::AppState;

/// The auth routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

/// Signs in with username and password; returns an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many failed logins", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let pair = sessions::login(
        &state,
        &body.username,
        &body.password,
        body.device_id.0,
        peer.ip(),
    )
    .await?;
    tracing::Span::current().record("user.id", tracing::field::display(pair.user.id));
    Ok(Json(pair))
}

/// Trades a refresh token for a new pair. The presented token is spent; presenting it again
/// revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "refresh token not valid", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    sessions::refresh(&state, &body.refresh_token)
        .await
        .map(Json)
}

/// Ends the session of a refresh token; its access tokens stop working too.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses(
        (status = 204, description = "session ended"),
        (status = 401, description = "refresh token unknown", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"))]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    sessions::logout(&state, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
