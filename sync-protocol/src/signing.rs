//! R21: every staff member who took part in an attempt confirms its record with a signature made
//! on their own phone, offline if need be. A phone holds an Ed25519 key per account, registered
//! with the server; it signs [`message`]: the attempt's id and the SHA-256 of its canonical
//! [`content`] (the fields a reader relies on and the hashes of its files). A signature whose
//! digest is no longer the attempt's is *stale*: the record changed after it was signed.
//!
//! A participant without an account (a village cadre, a police officer) signs a drawing on the
//! phone of a staff member who was there; that staff member's signature then *vouches* for them,
//! naming the drawing's file, which must be one of the attempt's files.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::cases::{Attempt, Participant};
use crate::ids::{AttemptId, CaseId, SignatureId, SigningKeyId, UserId};

/// What a phone sends to register its signing key (`POST /api/v1/signing-keys`); the device is
/// the one the access token names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterKey {
    /// The Ed25519 public key, 32 bytes in standard base64.
    pub public_key: String,
}

/// A registered signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKey {
    /// The key's id: a signature names it.
    pub id: SigningKeyId,
    /// Whose key it is.
    pub user_id: UserId,
    /// The device that holds the private half.
    pub device_id: String,
    /// The Ed25519 public key, standard base64.
    pub public_key: String,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When it was revoked: signatures sent after that are refused.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A participant without an account whose drawn signature a staff member's signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Vouched {
    /// The participant's name, as on the attempt.
    pub name: String,
    /// The SHA-256 (lowercase hex) of the drawing: one of the attempt's files.
    pub drawing_sha256: String,
}

/// A signature made on a phone, sent as a mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSignature {
    /// The id the phone made.
    pub id: SignatureId,
    /// The case.
    pub case_id: CaseId,
    /// The attempt signed.
    pub attempt_id: AttemptId,
    /// The signer's key.
    pub key_id: SigningKeyId,
    /// The [`content_digest`] of the attempt as the signer saw it.
    pub content_digest: String,
    /// The Ed25519 signature of [`message`], standard base64.
    pub signature: String,
    /// When it was signed, by the phone's clock.
    pub signed_at: DateTime<Utc>,
    /// The participants without an account this signature vouches for.
    #[serde(default)]
    pub vouched: Vec<Vouched>,
}

/// A verified signature as stored: who signed which content, with which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    /// The signature's id.
    pub id: SignatureId,
    /// The case.
    pub case_id: CaseId,
    /// The attempt signed.
    pub attempt_id: AttemptId,
    /// The signer.
    pub user_id: UserId,
    /// The signer's name.
    #[serde(default)]
    pub user_name: String,
    /// The key it was made with.
    pub key_id: SigningKeyId,
    /// The device holding that key.
    pub device_id: String,
    /// The digest of the content signed: stale when it is no longer the attempt's.
    pub content_digest: String,
    /// The signature itself, standard base64, for anyone to check again.
    pub signature: String,
    /// When it was signed, by the phone's clock.
    pub signed_at: DateTime<Utc>,
    /// When the server received and verified it.
    pub received_at: DateTime<Utc>,
    /// The participants without an account it vouches for.
    #[serde(default)]
    pub vouched: Vec<Vouched>,
}

/// The canonical bytes of `attempt` with the SHA-256s of its files: what a signature covers.
/// Times count whole seconds and places six decimals (about 0.1 m), so every database and
/// phone gives the same bytes; participants and files are sorted, files counted once.
pub fn content<'a>(attempt: &Attempt, files: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = String::from("kbx-attempt-content-v1\n");
    let mut field = |name: &str, value: &str| {
        out.push_str(&format!("{name}={}:{value}\n", value.len()));
    };
    field("id", &attempt.id.to_string());
    field("case", &attempt.case_id.to_string());
    field("kind", attempt.kind.as_str());
    field("occurred_at", &attempt.occurred_at.timestamp().to_string());
    let place = attempt
        .location
        .map(|p| format!("{:.6},{:.6}", p.lat, p.lon))
        .unwrap_or_default();
    field("location", &place);
    field("met_whom", &attempt.met_whom);
    field("guardian_statement", &attempt.guardian_statement);
    field("outcome", attempt.outcome.as_str());
    field("next_step", &attempt.next_step);
    field("notes", &attempt.notes);
    let mut people: Vec<String> = attempt.participants.iter().map(participant).collect();
    people.sort();
    for person in &people {
        field("participant", person);
    }
    let mut files: Vec<&str> = files.into_iter().collect();
    files.sort_unstable();
    files.dedup();
    for file in files {
        field("file", file);
    }
    out.into_bytes()
}

/// One participant in the canonical content.
fn participant(p: &Participant) -> String {
    let account = p.user_id.map(|u| u.to_string()).unwrap_or_default();
    let department = p.department.map(|d| d.as_str()).unwrap_or_default();
    format!(
        "{account}|{}:{}|{}:{}|{department}",
        p.name.len(),
        p.name,
        p.unit.len(),
        p.unit
    )
}

/// The SHA-256, lowercase hex, of [`content`].
pub fn content_digest<'a>(attempt: &Attempt, files: impl IntoIterator<Item = &'a str>) -> String {
    Sha256::digest(content(attempt, files))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes a phone signs: the attempt and the digest of its content as the signer saw it.
pub fn message(attempt_id: AttemptId, content_digest: &str) -> Vec<u8> {
    format!("kbx-attempt-signature-v1\n{attempt_id}\n{content_digest}").into_bytes()
}

/// How a participant's confirmation of an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Confirmation {
    /// Signed with their own key, on the content as it stands.
    Signed {
        /// When.
        signed_at: DateTime<Utc>,
    },
    /// Their drawn signature, vouched for by a staff member's signature on the content as it
    /// stands.
    Vouched {
        /// The staff member who vouched.
        by: UserId,
        /// When.
        signed_at: DateTime<Utc>,
    },
    /// Signed (or vouched for), but the record changed since.
    Stale {
        /// When the latest signature was made.
        signed_at: DateTime<Utc>,
    },
    /// Not signed.
    Missing,
}

impl Confirmation {
    /// Whether it counts: signed or vouched for on the content as it stands.
    pub fn holds(self) -> bool {
        matches!(self, Self::Signed { .. } | Self::Vouched { .. })
    }
}

/// One participant of an attempt and how their confirmation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantConfirmation {
    /// The participant's account, if they have one.
    pub user_id: Option<UserId>,
    /// The participant's name.
    pub name: String,
    /// How it stands.
    pub confirmation: Confirmation,
}

/// How each participant of `attempt` stands, given its `signatures` and the digest of its
/// content now (`current`). A staff member's drawn-signature vouching counts for a participant
/// without an account only if the drawing is one of `files`.
pub fn confirmations<'a>(
    attempt: &Attempt,
    signatures: impl IntoIterator<Item = &'a Signature>,
    current: &str,
    files: &[&str],
) -> Vec<ParticipantConfirmation> {
    let signatures: Vec<&Signature> = signatures
        .into_iter()
        .filter(|s| s.attempt_id == attempt.id)
        .collect();
    attempt
        .participants
        .iter()
        .map(|p| {
            let theirs = signatures.iter().filter(|s| match p.user_id {
                Some(user) => s.user_id == user,
                None => s
                    .vouched
                    .iter()
                    .any(|v| v.name == p.name && files.contains(&v.drawing_sha256.as_str())),
            });
            ParticipantConfirmation {
                user_id: p.user_id,
                name: p.name.clone(),
                confirmation: standing(theirs, p.user_id.is_some(), current),
            }
        })
        .collect()
}

/// The confirmation that `signatures` (of one participant) give, `own` when they are the
/// participant's own rather than vouching.
fn standing<'a>(
    signatures: impl Iterator<Item = &'a &'a Signature>,
    own: bool,
    current: &str,
) -> Confirmation {
    let mut latest_stale = None;
    for s in signatures {
        if s.content_digest == current {
            return if own {
                Confirmation::Signed {
                    signed_at: s.signed_at,
                }
            } else {
                Confirmation::Vouched {
                    by: s.user_id,
                    signed_at: s.signed_at,
                }
            };
        }
        latest_stale = latest_stale.max(Some(s.signed_at));
    }
    latest_stale.map_or(Confirmation::Missing, |signed_at| Confirmation::Stale {
        signed_at,
    })
}

#[cfg(test)]
mod tests;
