//! `/api/v1/auth/*`: login, refresh, logout; `/api/v1/users/{id}/disable|enable` for
//! administrators.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use sync_protocol::Problem;
use sync_protocol::auth::{LoginRequest, LogoutRequest, RefreshRequest, TokenPair};
use sync_protocol::org::Role;
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AuthUser, accounts, sessions};
use crate::audit;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;

/// The auth routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
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

/// Stops an account of the administrator's district from signing in; its sessions and tokens
/// end at once. Administrators only; audited.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "auth", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "the account")),
    responses(
        (status = 204, description = "disabled"),
        (status = 403, description = "not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account in the administrator's district", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn disable_user(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    set_disabled(&state, peer, &user, id, true).await
}

/// Lets a disabled account of the administrator's district sign in again (no old session comes
/// back). Administrators only; audited.
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "auth", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "the account")),
    responses(
        (status = 204, description = "enabled"),
        (status = 403, description = "not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account in the administrator's district", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn enable_user(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    set_disabled(&state, peer, &user, id, false).await
}

/// What both account routes (and the console) do: check the role and the district, change,
/// audit.
pub async fn set_disabled(
    state: &AppState,
    peer: SocketAddr,
    user: &AuthUser,
    id: uuid::Uuid,
    disabled: bool,
) -> Result<StatusCode, ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::forbidden(
            "only an administrator disables or enables accounts",
        ));
    }
    let txn = sea_orm::TransactionTrait::begin(&state.db.write).await?;
    crate::db::users::in_scope(&txn, id, user.scope())
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    accounts::set_disabled(&txn, id, disabled).await?;
    audit::record(
        &txn,
        user,
        Some(peer.ip()),
        audit::Action::SetAccountDisabled,
        Some(id),
        serde_json::json!({ "disabled": disabled }),
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
