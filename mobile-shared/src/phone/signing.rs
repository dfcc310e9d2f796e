//! R21: the signed-in account's signing key on this phone, and the signatures with which the
//! participants of an attempt confirm its record, made offline if need be.
//!
//! The key is an Ed25519 key made here and kept in the store's `meta` with the account it
//! belongs to; it goes with the account's data when another account signs in. A signature covers
//! the attempt as held here with the SHA-256s of its files: the references pulled and the files
//! still in the media queue (prepared first, as the sync would, so each is covered as it will be
//! sent).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sync_protocol::cases::Attempt;
use sync_protocol::detail::{AttemptConfirmations, CaseDetail};
use sync_protocol::signing::{self, NewSignature, RegisterKey, SigningKey, Vouched};
use sync_protocol::sync::{Change, RejectCode};
use sync_protocol::{AttemptId, CaseId, SignatureId, SigningKeyId, UserId};

use super::{Phone, PhoneError};
use crate::api::{Client, ClientError};
use crate::media::{EvidenceOf, MediaState, QueuedMedia};
use crate::store::StoreError;
use crate::store::meta::{self, Key};
use crate::store::records;

/// The account's signing key as the phone keeps it: its private half and, once the server has
/// registered it, its id.
#[derive(Clone, Serialize, Deserialize)]
struct HeldKey {
    /// The account it belongs to.
    user_id: UserId,
    /// The Ed25519 private key.
    secret: [u8; 32],
    /// Its id on the server, once registered.
    key_id: Option<SigningKeyId>,
}

impl std::fmt::Debug for HeldKey {
    /// Shows whose key it is and its id, never the private half.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldKey")
            .field("user_id", &self.user_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl HeldKey {
    /// A new key for `user_id`, not registered yet.
    fn new(user_id: UserId) -> Self {
        Self {
            user_id,
            secret: rand::random(),
            key_id: None,
        }
    }

    /// The key to sign with.
    fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.secret)
    }

    /// The public half, standard base64, as the server registers it.
    fn public_key(&self) -> String {
        B64.encode(self.signing_key().verifying_key().as_bytes())
    }
}

/// The key held here for `account`, if it has one (a key another account left does not count).
fn held(conn: &Connection, account: UserId) -> Result<Option<HeldKey>, StoreError> {
    Ok(meta::get::<HeldKey>(conn, Key::Signing)?.filter(|k| k.user_id == account))
}

/// The key held for `account`, made and kept first if it has none.
fn held_or_made(conn: &Connection, account: UserId) -> Result<HeldKey, StoreError> {
    if let Some(key) = held(conn, account)? {
        return Ok(key);
    }
    let key = HeldKey::new(account);
    meta::set(conn, Key::Signing, &key)?;
    Ok(key)
}

/// `held` registered: as it is if the server lists it unrevoked; else registered now, a new key
/// in place of one the server revoked or does not know (what it signed would be refused).
async fn registered(
    client: &mut Client,
    held: HeldKey,
) -> Result<(HeldKey, SigningKey), ClientError> {
    let held = match held.key_id {
        None => held,
        Some(id) => {
            let listed = client
                .signing_keys()
                .await?
                .into_iter()
                .find(|k| k.id == id);
            match listed {
                Some(key) if key.revoked_at.is_none() => return Ok((held, key)),
                _ => HeldKey::new(held.user_id),
            }
        }
    };
    let public_key = held.public_key();
    let key = client.register_key(&RegisterKey { public_key }).await?;
    let held = HeldKey {
        key_id: Some(key.id),
        ..held
    };
    Ok((held, key))
}

/// The SHA-256s of `attempt`'s files held here, previews left out: the references pulled (in
/// `detail`) and the prepared files waiting in the media `queue`, not those refused. A file
/// attached but not prepared yet counts as a stand-in no signature covers: its hash is not
/// known, and no signature made before it was attached covers it.
fn files_held(detail: &CaseDetail, queue: &[QueuedMedia], attempt: AttemptId) -> Vec<String> {
    let queued = queue.iter().filter(|m| {
        m.of == EvidenceOf::Attempt(attempt)
            && m.preview_of.is_none()
            && m.state != MediaState::Failed
    });
    let mut files: Vec<String> = detail
        .files_of(attempt)
        .into_iter()
        .map(str::to_owned)
        .collect();
    files.extend(queued.map(|m| {
        if m.prepared {
            m.sha256.clone()
        } else {
            format!("unprepared:{}", m.id)
        }
    }));
    files
}

/// `detail` with how each attempt's participants stand (R21), over the files held here (see
/// [`files_held`]) rather than only those pulled.
pub(super) fn confirmed(mut detail: CaseDetail, queue: &[QueuedMedia]) -> CaseDetail {
    let confirmations = detail
        .attempts
        .iter()
        .map(|a| {
            let files = files_held(&detail, queue, a.id);
            let files: Vec<&str> = files.iter().map(String::as_str).collect();
            AttemptConfirmations::of(a, &detail.signatures, &files)
        })
        .collect();
    detail.confirmations = confirmations;
    detail
}

/// Refuses what the server would refuse: a `signer` who is not a participant of `attempt`, a
/// vouching for a name that is not a participant without an account, or for a drawing that is
/// not one of the attempt's `files`.
fn check_signable(
    attempt: &Attempt,
    files: &[String],
    signer: UserId,
    vouched: &[Vouched],
) -> Result<(), PhoneError> {
    if !attempt
        .participants
        .iter()
        .any(|p| p.user_id == Some(signer))
    {
        return Err(PhoneError::NotParticipant(attempt.id));
    }
    for v in vouched {
        let reason = if !attempt
            .participants
            .iter()
            .any(|p| p.user_id.is_none() && p.name == v.name)
        {
            format!("{} is not a participant without an account", v.name)
        } else if !files.contains(&v.drawing_sha256) {
            format!(
                "the drawing {} is not a file of the attempt (its files: {})",
                v.drawing_sha256,
                files.join(", ")
            )
        } else {
            continue;
        };
        return Err(PhoneError::Refused {
            code: RejectCode::Invalid,
            reason,
        });
    }
    Ok(())
}

impl Phone {
    /// Registers this phone's signing key for the signed-in account
    /// (`POST /api/v1/signing-keys`), making the key first if the account has none here. A key
    /// registered already is kept if the server lists it unrevoked; one it revoked (or does not
    /// know) is replaced by a new key, registered now.
    pub async fn register_key(&mut self) -> Result<SigningKey, PhoneError> {
        let account = self.account()?.ok_or(PhoneError::NotSignedIn)?.id;
        let client = self.client.as_mut().ok_or(PhoneError::NotSignedIn)?;
        let held = self.store.write(|tx| held_or_made(tx, account))?;
        let answer = registered(client, held).await;
        // A refresh during the calls rotated the tokens: keep the new pair whatever happened.
        let session = client.session();
        self.store.write(|tx| meta::save_session(tx, session))?;
        let (held, key) = answer?;
        self.store.write(|tx| meta::set(tx, Key::Signing, &held))?;
        Ok(key)
    }

    /// Signs the attempt `attempt_id` held here with the account's registered key, offline if
    /// need be: its record as it stands here, with its files (those attached and not yet
    /// prepared are prepared first, as the sync would). `vouched` names participants without
    /// an account whose drawn signature, one of the attempt's files, the signer vouches for.
    /// The signature shows at once and is pushed on the next sync.
    pub fn sign_attempt(
        &self,
        attempt_id: AttemptId,
        vouched: Vec<Vouched>,
    ) -> Result<SignatureId, PhoneError> {
        let signer = self.account()?.ok_or(PhoneError::NoSigningKey)?.id;
        let (key, key_id) = self
            .store
            .read(|c| held(c, signer))?
            .and_then(|k| k.key_id.map(|id| (k, id)))
            .ok_or(PhoneError::NoSigningKey)?;
        let case_id = self
            .store
            .read(|c| records::view::<Attempt>(c, attempt_id.0))?
            .ok_or(PhoneError::UnknownAttempt(attempt_id))?
            .value
            .case_id;
        self.prepare_files_of(attempt_id)?;
        let (attempt, files) = self.attempt_held(case_id, attempt_id)?;
        check_signable(&attempt, &files, signer, &vouched)?;
        let content_digest = signing::content_digest(&attempt, files.iter().map(String::as_str));
        let message = signing::message(attempt_id, &content_digest);
        let new = NewSignature {
            id: SignatureId::new(),
            case_id,
            attempt_id,
            key_id,
            content_digest,
            signature: B64.encode(key.signing_key().sign(&message).to_bytes()),
            signed_at: self.clock.now(),
            vouched,
        };
        let id = new.id;
        self.queue(Change::SignAttempt { signature: new }, |_| Ok(0))?;
        Ok(id)
    }

    /// The attempt `attempt_id` of case `case_id` as held here, with the SHA-256s of its files.
    fn attempt_held(
        &self,
        case_id: CaseId,
        attempt_id: AttemptId,
    ) -> Result<(Attempt, Vec<String>), PhoneError> {
        let detail = self
            .case(case_id)?
            .ok_or(PhoneError::UnknownCase(case_id))?;
        let files = files_held(&detail, &self.media_queue()?, attempt_id);
        let attempt = detail
            .attempts
            .into_iter()
            .find(|a| a.id == attempt_id)
            .ok_or(PhoneError::UnknownAttempt(attempt_id))?;
        Ok((attempt, files))
    }
}

#[cfg(test)]
mod tests;
