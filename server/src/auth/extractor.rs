//! `AuthUser`: the signed-in caller, taken from the bearer token. Role and org unit come from the
//! database on every request, so a disabled account or a moved user takes effect at once.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sync_protocol::org::Role;
use uuid::Uuid;

use crate::db::Scope;
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user id.
    pub id: Uuid,
    /// The role.
    pub role: Role,
    /// The org unit the user belongs to.
    pub org_unit_id: Uuid,
    /// The device of the session.
    pub device_id: Uuid,
}

impl AuthUser {
    /// The records this caller may see.
    pub fn scope(&self) -> Scope {
        Scope::of(self.role, self.org_unit_id)
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("missing `Authorization: Bearer` header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthenticated("`Authorization` must be `Bearer <token>`"))?;
        let claims = state
            .tokens
            .verify(token.trim())
            .map_err(|e| ApiError::unauthenticated(format!("access token refused: {e}")))?;
        AuthUser::of_session(state, claims.sub, claims.sid, claims.dev).await
    }
}

impl AuthUser {
    /// The account `user` signed in on `device` in session `family`, if the session is live and
    /// the account enabled (one query); what a bearer token or a console cookie names.
    pub async fn of_session(
        state: &AppState,
        user: Uuid,
        family: Uuid,
        device: Uuid,
    ) -> Result<Self, ApiError> {
        let who = crate::db::users::identity(&state.db.read, user, family)
            .await?
            .ok_or_else(|| ApiError::unauthenticated("account is disabled or gone"))?;
        if !who.session_live {
            return Err(ApiError::unauthenticated(
                "session has ended; sign in again",
            ));
        }
        if who.disabled {
            return Err(ApiError::unauthenticated("account is disabled or gone"));
        }
        let (id, org_unit_id) = (who.id, who.org_unit_id);
        let role = who.role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        tracing::Span::current().record("user.id", tracing::field::display(id));
        Ok(Self {
            id,
            role,
            org_unit_id,
            device_id: device,
        })
    }
}
