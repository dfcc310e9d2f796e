//! `GET /api/v1/cases/{id}/verify`: the bureau checks a case's ledger for tampering.

use axum::extract::State;
use sync_protocol::chain::Verification;
use sync_protocol::org::Role;
use sync_protocol::{CaseId, Problem};
use tracing::instrument;

use super::verify::verify_case;
use crate::auth::AuthUser;
use crate::db;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;

/// Who verifies a case's ledger: the bureau.
pub const VERIFIERS: &[Role] = &[Role::Supervisor, Role::Admin];

/// Recomputes the hash chain of a case in the caller's scope, compares every record with its
/// last recorded state and every evidence file with its SHA-256, and lists what does not match,
/// the earliest link first. Supervisors and administrators only.
#[utoipa::path(get, path = "/api/v1/cases/{id}/verify", tag = "cases",
    params(("id" = CaseId, Path, description = "case id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Verification),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn verify(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CaseId>,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(verified(&state, &user, id).await?))
}

/// The verification of case `id`'s ledger for `user`: the bureau's, in its scope; the API's and
/// the console's.
pub async fn verified(
    state: &AppState,
    user: &AuthUser,
    id: CaseId,
) -> Result<Verification, ApiError> {
    if !VERIFIERS.contains(&user.role) {
        return Err(ApiError::forbidden("only the bureau verifies a ledger"));
    }
    db::cases::find(&state.db.read, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    Ok(verify_case(&state.db.read, &state.storage, id.0).await?)
}

/// The ledger routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(verify))
}
