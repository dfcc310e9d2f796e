//! `push`: a batch of mutations applied in order, each exactly once, in one transaction whose
//! commit comes before the answer.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::TransactionTrait;
use sync_protocol::ErrorCode;
use sync_protocol::hlc;
use sync_protocol::sync::{Mutation, MutationOutcome, MutationResult, PushRequest, PushResponse};
use uuid::Uuid;

use super::apply::{self, Batch};
use crate::auth::AuthUser;
use crate::db::{self, entity::applied_mutation};
use crate::error::ApiError;
use crate::state::AppState;

/// Most mutations in one push.
pub const MAX_BATCH: usize = 1000;

/// How far ahead of the server's clock a stamp may be before it is pulled back (one minute).
pub const MAX_CLOCK_AHEAD_MILLIS: i64 = 60_000;

/// The SHA-256 of a mutation's canonical JSON, in hex.
fn body_hash(m: &Mutation) -> Result<String, ApiError> {
    let bytes =
        serde_json::to_vec(m).map_err(|e| anyhow::anyhow!("serializing a mutation: {e}"))?;
    Ok(crate::digest::sha256_hex(&bytes))
}

fn reused(id: Uuid) -> ApiError {
    ApiError::conflict(
        ErrorCode::MutationIdReused,
        format!(
            "mutation {id} was already sent with a different body; nothing in this push was applied"
        ),
    )
}

/// The answer to `m` sent again with body hash `hash`: the first one's stored result, or a
/// refusal if the body is not the first one's.
fn replayed(
    first: &applied_mutation::Model,
    hash: &str,
    m: &Mutation,
) -> Result<MutationOutcome, ApiError> {
    if first.body_hash != hash {
        return Err(reused(m.id.0));
    }
    let outcome = serde_json::from_str(&first.result)
        .map_err(|e| anyhow::anyhow!("corrupt stored result of mutation {}: {e}", m.id))?;
    Ok(outcome)
}

/// What applying a mutation came to, as the push answers it.
fn outcome_of(applied: apply::Outcome, clamped: bool) -> MutationOutcome {
    match applied {
        Ok(applied) => MutationOutcome::Applied {
            version: applied.version,
            conflicts: applied.conflicts,
            clock_clamped: clamped,
        },
        Err(rejection) => MutationOutcome::Rejected {
            code: rejection.code,
            reason: rejection.reason,
        },
    }
}

/// Refuses a batch of a protocol this server does not speak, or too large.
fn check_batch(request: &PushRequest) -> Result<(), ApiError> {
    super::check_protocol(request.protocol_version)?;
    if request.mutations.len() > MAX_BATCH {
        let detail = format!(
            "at most {MAX_BATCH} mutations per push, not {}",
            request.mutations.len()
        );
        let status = StatusCode::PAYLOAD_TOO_LARGE;
        return Err(ApiError::new(status, ErrorCode::PayloadTooLarge, detail));
    }
    Ok(())
}

/// Applies `request` for `user`.
pub async fn push(
    state: &AppState,
    user: &AuthUser,
    request: PushRequest,
) -> Result<PushResponse, ApiError> {
    check_batch(&request)?;
    let now = Utc::now();
    let mutations = Arc::new(request.mutations);
    // The body hashes are worked out on another thread while the database looks up what it
    // knows of the batch.
    let hashing = tokio::task::spawn_blocking({
        let mutations = Arc::clone(&mutations);
        move || {
            mutations
                .iter()
                .map(body_hash)
                .collect::<Result<Vec<_>, _>>()
        }
    });
    let txn = state.db.write.begin().await?;
    let ids: Vec<Uuid> = mutations.iter().map(|m| m.id.0).collect();
    let mut known = db::mutations::applied(&txn, ids).await?;

    let mut batch = Batch::new(&txn, &state.sealer, user, now, state.config.leaving_age);
    // What a replayed mutation touches is not looked up: its stored result is the answer.
    let fresh: Vec<&Mutation> = mutations
        .iter()
        .filter(|m| !known.contains_key(&m.id.0))
        .collect();
    batch.prefetch(&fresh).await?;
    let hashes = hashing
        .await
        .map_err(|e| anyhow::anyhow!("hashing the mutations: {e}"))??;
    let mut results = Vec::with_capacity(mutations.len());
    let mut records = Vec::new();
    let mut clamped_count = 0usize;
    for (m, hash) in mutations.iter().zip(hashes) {
        if let Some(first) = known.get(&m.id.0) {
            let outcome = replayed(first, &hash, m)?;
            results.push(MutationResult {
                mutation_id: m.id,
                outcome,
            });
            continue;
        }
        let (stamp, clamped) = hlc::clamp(m.hlc, now.timestamp_millis(), MAX_CLOCK_AHEAD_MILLIS);
        clamped_count += usize::from(clamped);
        let outcome = outcome_of(batch.apply(m, stamp).await?, clamped);
        let row = applied_mutation::Model {
            mutation_id: m.id.0,
            body_hash: hash,
            user_id: user.id,
            device_id: user.device_id,
            result: serde_json::to_string(&outcome)
                .map_err(|e| anyhow::anyhow!("serializing a result: {e}"))?,
            created_at: now,
        };
        records.push(row.clone());
        known.insert(m.id.0, row);
        results.push(MutationResult {
            mutation_id: m.id,
            outcome,
        });
    }
    if clamped_count > 0 {
        tracing::warn!(user.id = %user.id, device = %user.device_id, clamped_count, "clock far ahead: stamps pulled back to server time");
    }
    db::mutations::record(&txn, &records).await?;
    batch.flush().await?;
    crate::plausibility::raise::on_attempts(&txn, &state.config.flags, &batch.arrived).await?;
    crate::cases::due_store::append(&txn, batch.changes).await?;
    txn.commit().await?;
    Ok(PushResponse {
        results,
        server_hlc: state.server_stamp(),
    })
}
