//! R21 in `fieldctl`: `key register`, `sign`, and how the participants of an attempt stand in
//! `case show`.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use mobile_shared::Phone;
use sync_protocol::detail::CaseDetail;
use sync_protocol::signing::{Confirmation, ParticipantConfirmation, Vouched};
use sync_protocol::{AttemptId, UserId};

/// `fieldctl key register`.
pub(crate) async fn register_key(phone: &mut Phone) -> anyhow::Result<()> {
    let key = phone.register_key().await?;
    say!(
        "registered signing key {} for device {}",
        key.id,
        key.device_id
    );
    Ok(())
}

/// `fieldctl sign`: offline, the signature is queued.
pub(crate) fn sign(phone: &Phone, attempt: AttemptId, vouch: &[String]) -> anyhow::Result<()> {
    let vouched = vouch
        .iter()
        .map(|v| parse_vouch(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let id = phone.sign_attempt(attempt, vouched)?;
    say!("queued signature {id} of attempt {attempt}");
    Ok(())
}

/// A vouching given as `NAME=SHA256`.
fn parse_vouch(text: &str) -> anyhow::Result<Vouched> {
    let (name, sha256) = text
        .split_once('=')
        .with_context(|| format!("--vouch {text}: give NAME=SHA256"))?;
    let (name, sha256) = (name.trim(), sha256.trim().to_ascii_lowercase());
    anyhow::ensure!(!name.is_empty(), "--vouch {text}: the name is empty");
    anyhow::ensure!(
        sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()),
        "--vouch {text}: a SHA-256 is 64 hex digits"
    );
    Ok(Vouched {
        name: name.to_owned(),
        drawing_sha256: sha256,
    })
}

/// How the participants of `attempt` in `detail` stand: how many have confirmed it as it
/// stands, then one line each.
pub(crate) fn print_confirmations(detail: &CaseDetail, attempt: AttemptId) {
    let Some(standing) = detail
        .confirmations
        .iter()
        .find(|c| c.attempt_id == attempt)
    else {
        return;
    };
    let held = standing
        .participants
        .iter()
        .filter(|p| p.confirmation.holds())
        .count();
    say!(
        "    confirmed by {held} of {} participants",
        standing.participants.len()
    );
    for p in &standing.participants {
        say!("    {}", describe(p, detail));
    }
}

/// One participant's line: signed, vouched for (by whom), stale or missing.
fn describe(p: &ParticipantConfirmation, detail: &CaseDetail) -> String {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M");
    match p.confirmation {
        Confirmation::Signed { signed_at } => {
            format!("signed   {}  at {}", p.name, at(signed_at))
        }
        Confirmation::Vouched { by, signed_at } => format!(
            "vouched  {}  by {} at {}",
            p.name,
            signer_name(detail, by),
            at(signed_at)
        ),
        Confirmation::Stale { signed_at } => format!(
            "stale    {}  signed at {}, the record changed since",
            p.name,
            at(signed_at)
        ),
        Confirmation::Missing => format!("missing  {}", p.name),
    }
}

/// The name of the signer `by`, as their signatures give it (their id if none does).
fn signer_name(detail: &CaseDetail, by: UserId) -> String {
    detail
        .signatures
        .iter()
        .find(|s| s.user_id == by && !s.user_name.is_empty())
        .map_or_else(|| by.to_string(), |s| s.user_name.clone())
}
