//! Sessions: login, refresh-token rotation with reuse detection, and logout.
//!
//! A login starts a session (a family of refresh tokens). Each refresh spends its token and issues
//! the next one in the family. Presenting a spent token again means it was stolen or replayed: the
//! whole family is revoked. Only SHA-256 hashes of refresh tokens are stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sync_protocol::ErrorCode;
use sync_protocol::auth::{Me, TokenPair};
use uuid::Uuid;

use super::{password, throttle};
use crate::db::entity::user;
use crate::db::{self, sessions::NewToken};
use crate::error::ApiError;
use crate::state::AppState;

fn invalid_refresh() -> ApiError {
    ApiError::Unauthenticated {
        code: ErrorCode::InvalidRefreshToken,
        detail: "refresh token is unknown, expired, already used or revoked".into(),
    }
}

/// The SHA-256 of a refresh token, in hex, as stored.
fn token_hash(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

/// The public view of a user row.
pub fn me(row: &user::Model) -> Result<Me, ApiError> {
    Ok(Me {
        id: row.id.into(),
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role: row.role.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        org_unit_id: row.org_unit_id.into(),
    })
}

/// Checks the password of `username` and starts a session on `device`.
pub async fn login(
    state: &AppState,
    username: &str,
    password_given: &str,
    device_id: Uuid,
    client: std::net::IpAddr,
) -> Result<TokenPair, ApiError> {
    let now = Utc::now();
    let row = db::users::by_username(&state.db.write, username).await?;
    let keys = throttle_keys(state, row.as_ref(), username, device_id, client).await?;
    throttle::admit(&state.db.write, &keys, now).await?;

    let stored_hash = row
        .as_ref()
        .map_or(password::decoy_hash(), |u| u.password_hash.as_str())
        .to_owned();
    let given = password_given.to_owned();
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored_hash))
        .await
        .map_err(|e| anyhow::anyhow!("password check panicked: {e}"))?;
    let user = match row {
        Some(user) if matches && !user.disabled => user,
        _ => {
            return Err(ApiError::Unauthenticated {
                code: ErrorCode::InvalidCredentials,
                detail: "username or password is wrong, or the account is disabled".into(),
            });
        }
    };
    throttle::succeeded(&state.db.write, &keys, now).await?;

    let txn = state.db.write.begin().await?;
    db::sessions::record_device(&txn, device_id, user.id, now).await?;
    let pair = issue_pair(state, &txn, &user, Uuid::now_v7(), device_id, now).await?;
    txn.commit().await?;
    Ok(pair)
}

/// The throttle counters a sign-in of `username` on `device_id` from `client` is held to: the
/// device's own if the account has signed in on it before, else the account's and the address's.
async fn throttle_keys(
    state: &AppState,
    account: Option<&user::Model>,
    username: &str,
    device_id: Uuid,
    client: std::net::IpAddr,
) -> Result<Vec<(String, throttle::Policy)>, ApiError> {
    if let Some(account) = account
        && db::sessions::device_known(&state.db.write, device_id, account.id).await?
    {
        let key = throttle::device_key(account.id, device_id);
        return Ok(vec![(key, throttle::ACCOUNT)]);
    }
    Ok(vec![
        (throttle::account_key(username), throttle::ACCOUNT),
        (throttle::address_key(client), throttle::ADDRESS),
    ])
}

/// Stores a new refresh token in `family` and signs an access token for it.
async fn issue_pair(
    state: &AppState,
    db: &impl ConnectionTrait,
    user: &user::Model,
    family: Uuid,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<TokenPair, ApiError> {
    let secret: [u8; 32] = rand::random();
    let refresh = B64URL.encode(secret);
    let refresh_ttl = state.config.refresh_ttl;
    let token = NewToken {
        family,
        user: user.id,
        device: device_id,
        hash: token_hash(&refresh),
        created_at: now,
        expires_at: now + refresh_ttl,
    };
    db::sessions::insert(db, token).await?;
    Ok(TokenPair {
        access_token: state.tokens.issue(user.id, family, device_id)?,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_secs(),
        refresh_token: refresh,
        refresh_expires_in: refresh_ttl.as_secs(),
        user: me(user)?,
    })
}

/// How long after a refresh its token may be presented again and get the same pair, as long as
/// the new refresh token is unused: a phone whose answer was lost on a bad link retries.
pub const REISSUE_GRACE: chrono::Duration = chrono::Duration::minutes(2);

/// The sealing context of a kept pair.
const REISSUE_CONTEXT: &str = "refresh-reissue";

/// Spends `presented` and returns the next pair of its session. A token spent less than
/// [`REISSUE_GRACE`] ago whose successor is unused gets that same pair again; any other spent
/// token presented again ends the session (theft detection).
pub async fn refresh(state: &AppState, presented: &str) -> Result<TokenPair, ApiError> {
    let now = Utc::now();
    let txn = state.db.write.begin().await?;
    let Some(token) = db::sessions::by_hash(&txn, &token_hash(presented)).await? else {
        return Err(invalid_refresh());
    };
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(invalid_refresh());
    }
    if !db::sessions::spend(&txn, token.id, now).await? {
        if let Some(pair) = kept_pair(state, &txn, token.id, now).await? {
            return Ok(pair);
        }
        // A spent token presented again: the session is compromised.
        db::sessions::revoke_family(&txn, token.family_id, now).await?;
        txn.commit().await?;
        tracing::warn!(family = %token.family_id, "refresh token reused; session revoked");
        return Err(invalid_refresh());
    }
    // Using this token ends its predecessor's grace.
    db::sessions::forget_kept_pairs(&txn, token.family_id).await?;
    let user = db::users::by_id(&txn, token.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(invalid_refresh)?;
    let pair = issue_pair(state, &txn, &user, token.family_id, token.device_id, now).await?;
    let kept = serde_json::to_string(&pair).map_err(anyhow::Error::from)?;
    let sealed = state.sealer.seal(&kept, REISSUE_CONTEXT);
    db::sessions::keep_pair(&txn, token.id, Some(sealed)).await?;
    txn.commit().await?;
    Ok(pair)
}

/// The pair the refresh of token `id` issued, if it may be answered again now: spent within the
/// grace, its session live, its successor unused (using it clears the kept pair).
async fn kept_pair(
    state: &AppState,
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<TokenPair>, ApiError> {
    // Read again: a racing refresh of the same token may just have committed its pair.
    let Some(row) = db::sessions::by_id(db, id).await? else {
        return Ok(None);
    };
    let (Some(used_at), Some(sealed), None) = (row.used_at, row.reissue, row.revoked_at) else {
        return Ok(None);
    };
    if now - used_at > REISSUE_GRACE {
        return Ok(None);
    }
    let kept = state
        .sealer
        .open(&sealed, REISSUE_CONTEXT)
        .map_err(|e| anyhow::anyhow!("kept refresh pair of {id}: {e}"))?;
    Ok(Some(
        serde_json::from_str(&kept).map_err(anyhow::Error::from)?,
    ))
}

/// Revokes the session `presented` belongs to. Revoking a revoked session again is not an error.
pub async fn logout(state: &AppState, presented: &str) -> Result<(), ApiError> {
    let token = db::sessions::by_hash(&state.db.write, &token_hash(presented))
        .await?
        .ok_or_else(invalid_refresh)?;
    db::sessions::revoke_family(&state.db.write, token.family_id, Utc::now()).await?;
    Ok(())
}
