//! `/api/v1/signing-keys`: a phone registers the key it signs attempts with, lists its
//! account's keys, and revokes one (R21).

use axum::extract::State;
use axum::http::StatusCode;
use sync_protocol::signing::{RegisterKey, SigningKey};
use sync_protocol::{Problem, SigningKeyId};
use tracing::instrument;

use crate::auth::AuthUser;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;

/// Registers the Ed25519 public key of the caller's device (the device the access token
/// names); a key the device held before for this account is revoked. Every role but the
/// administrator.
#[utoipa::path(post, path = "/api/v1/signing-keys", tag = "signing",
    request_body = RegisterKey,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SigningKey),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn register_key(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<RegisterKey>,
) -> Result<(StatusCode, Json<SigningKey>), ApiError> {
    let key = super::register(&state, &user, &request).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// The caller's keys, revoked ones included, oldest first.
#[utoipa::path(get, path = "/api/v1/signing-keys", tag = "signing",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<SigningKey>)))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn list_keys(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<SigningKey>>, ApiError> {
    Ok(Json(super::keys(&state, &user).await?))
}

/// Revokes a key: the caller's own, or, for an administrator, one of the district's accounts'.
/// Signatures made with it and received before stay; later ones are refused.
#[utoipa::path(delete, path = "/api/v1/signing-keys/{id}", tag = "signing",
    params(("id" = SigningKeyId, Path, description = "key id")),
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn revoke_key(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<SigningKeyId>,
) -> Result<StatusCode, ApiError> {
    super::revoke(&state, &user, id.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signing-key routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(register_key, list_keys))
        .routes(utoipa_axum::routes!(revoke_key))
}
