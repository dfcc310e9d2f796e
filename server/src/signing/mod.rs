//! R21: the phones' signing keys and the check of a participant's signature. A staff account
//! registers one Ed25519 key per device (registering again from the device replaces the old
//! key); the owner or the district's administrator revokes one. A signature arrives as a
//! mutation (`sync/apply/signatures.rs`) and is checked here against the key it names; stored
//! ones are read back here in their wire shape.

pub mod routes;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::HashMap;

use chrono::Utc;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::ErrorCode;
use sync_protocol::org::Role;
use sync_protocol::signing::{RegisterKey, Signature as Signed, SigningKey};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::db::{
    self,
    entity::{attempt_signature, signing_key},
};
use crate::error::ApiError;
use crate::state::AppState;

/// The Ed25519 key `text` (standard base64 of its 32 bytes), or why it is not one.
pub fn public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("the public key is not base64: {e}"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("an Ed25519 public key has 32 bytes, not {}", b.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "the public key is not an Ed25519 point".into())
}

/// Whether `signature` (standard base64) is `key`'s signature of `message`, or why not.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &str) -> Result<(), String> {
    let bytes = STANDARD
        .decode(signature.trim())
        .map_err(|e| format!("the signature is not base64: {e}"))?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| format!("an Ed25519 signature has 64 bytes, not {}", bytes.len()))?;
    key.verify(message, &signature)
        .map_err(|_| "the signature does not verify with its key over this content".into())
}

/// The wire shape of a stored key.
fn shaped(row: signing_key::Model) -> SigningKey {
    SigningKey {
        id: row.id.into(),
        user_id: row.user_id.into(),
        device_id: row.device_id.to_string(),
        public_key: row.public_key,
        registered_at: row.registered_at,
        revoked_at: row.revoked_at,
    }
}

/// Registers `request`'s key for `user` on the device of their session, replacing the key the
/// device held; audited. An administrator signs no attempt and registers no key.
pub async fn register(
    state: &AppState,
    user: &AuthUser,
    request: &RegisterKey,
) -> Result<SigningKey, ApiError> {
    if user.role == Role::Admin {
        return Err(ApiError::forbidden(
            "an administrator takes part in no attempt and signs none",
        ));
    }
    public_key(&request.public_key).map_err(|detail| ApiError::Malformed {
        code: ErrorCode::InvalidBody,
        detail,
    })?;
    let row = signing_key::Model {
        id: Uuid::now_v7(),
        user_id: user.id,
        device_id: user.device_id,
        public_key: request.public_key.trim().to_owned(),
        registered_at: Utc::now(),
        revoked_at: None,
    };
    let txn = sea_orm::TransactionTrait::begin(&state.db.write).await?;
    db::signing::register(&txn, row.clone()).await?;
    let detail = serde_json::json!({ "key_id": row.id, "device_id": row.device_id });
    audit::record(
        &txn,
        user,
        None,
        audit::Action::RegisterKey,
        Some(row.id),
        detail,
    )
    .await?;
    txn.commit().await?;
    Ok(shaped(row))
}

/// The keys `user` registered, oldest first.
pub async fn keys(state: &AppState, user: &AuthUser) -> Result<Vec<SigningKey>, ApiError> {
    let rows = db::signing::keys_of(&state.db.read, user.id).await?;
    Ok(rows.into_iter().map(shaped).collect())
}

/// Revokes key `id`: the caller's own, or, for the district's administrator, any of the
/// district's accounts; audited. Signatures it made before stay; later ones are refused.
pub async fn revoke(state: &AppState, user: &AuthUser, id: Uuid) -> Result<(), ApiError> {
    let txn = sea_orm::TransactionTrait::begin(&state.db.write).await?;
    let key = db::signing::key(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("signing key"))?;
    let allowed = key.user_id == user.id
        || (user.role == Role::Admin
            && db::users::in_scope(&txn, key.user_id, user.scope())
                .await?
                .is_some());
    if !allowed {
        return Err(ApiError::not_found("signing key"));
    }
    let detail = serde_json::json!({ "key_id": key.id, "owner": key.user_id });
    db::signing::revoke(&txn, key, Utc::now()).await?;
    audit::record(&txn, user, None, audit::Action::RevokeKey, Some(id), detail).await?;
    txn.commit().await?;
    Ok(())
}

/// Participants' signatures, with each signer's name and the device their key lives on.
pub async fn signatures(
    db: &impl ConnectionTrait,
    rows: Vec<attempt_signature::Model>,
) -> Result<Vec<Signed>, DbErr> {
    let keys = db::signing::keys(db, rows.iter().map(|s| s.key_id).collect()).await?;
    let names = db::org::user_names(db, rows.iter().map(|s| s.user_id).collect()).await?;
    rows.into_iter()
        .map(|row| signature(row, &names, &keys))
        .collect()
}

/// A participant's signature, the signer named from `names` and the device from `keys` (left
/// empty when not given).
pub fn signature(
    row: attempt_signature::Model,
    names: &HashMap<Uuid, String>,
    keys: &HashMap<Uuid, signing_key::Model>,
) -> Result<Signed, DbErr> {
    Ok(Signed {
        id: row.id.into(),
        case_id: row.case_id.into(),
        attempt_id: row.attempt_id.into(),
        user_id: row.user_id.into(),
        user_name: names.get(&row.user_id).cloned().unwrap_or_default(),
        key_id: row.key_id.into(),
        device_id: keys
            .get(&row.key_id)
            .map(|k| k.device_id.to_string())
            .unwrap_or_default(),
        content_digest: row.content_digest,
        signature: row.signature,
        signed_at: row.signed_at,
        received_at: row.received_at,
        vouched: serde_json::from_str(&row.vouched)
            .map_err(|e| DbErr::Custom(format!("corrupt signature: {e}")))?,
    })
}
