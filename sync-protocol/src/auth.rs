//! Sign-in: login, refresh-token rotation and logout.

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, OrgUnitId, UserId};
use crate::org::Role;

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's username.
    pub username: String,
    /// The account's password.
    pub password: String,
    /// The id the client made for this device and keeps across sessions.
    pub device_id: DeviceId,
}

/// `POST /api/v1/auth/refresh`: trades a refresh token for a new pair; the old one is spent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// `POST /api/v1/auth/logout`: revokes the refresh token and every token rotated from the same login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token to revoke.
    pub refresh_token: String,
}

/// The tokens a login or refresh hands out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// A short-lived JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// An opaque token for `/auth/refresh`; it works once.
    pub refresh_token: String,
    /// Seconds until the refresh token expires if unused.
    pub refresh_expires_in: u64,
    /// Who signed in.
    pub user: Me,
}

/// The signed-in user, as the client shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user's id.
    pub id: UserId,
    /// The username.
    pub username: String,
    /// The name shown to colleagues.
    pub display_name: String,
    /// The role, which fixes what the user may do.
    pub role: Role,
    /// The org unit the user belongs to, which fixes what the user sees.
    pub org_unit_id: OrgUnitId,
}
