//! The audit log: one append-only entry for every read of a student's personal data or a minor's
//! evidence and every change to the ledger (R23), each linked to the one before by a hash chain
//! that `server verify` checks.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::chain::GENESIS;
use crate::db::{self, entity::audit_entry};

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A student's personal data was read.
    ReadStudent,
    /// A student moved to another school or village (R7), taking their cases along.
    TransferStudent,
    /// A year's holiday schedule was loaded (the year is in the detail).
    LoadCalendar,
    /// A supervisor reviewed an attempt, a document or a closure request.
    Review,
    /// A case moved along the case machine.
    MoveCase,
    /// The ledger was exported (format, period and org unit in the detail).
    ExportLedger,
    /// A case was opened for a student.
    OpenCase,
    /// The roll was compared with the household register (counts in the detail).
    CompareRoll,
    /// A school's roll (names and classes) was listed for a phone (how many in the detail).
    ReadRoll,
    /// A school's roll was reconciled for a term (R7; school and term in the detail).
    ReconcileRoll,
    /// An account was disabled (its sessions ended) or enabled again.
    SetAccountDisabled,
    /// An administrator added an account (username, role and unit in the detail).
    AddAccount,
    /// An administrator gave an account a new password (its sessions ended).
    ResetPassword,
    /// An administrator added an org unit (kind, name, code and parent in the detail).
    AddOrgUnit,
    /// A case with its attempts (family circumstances of a minor) was read.
    ReadCase,
    /// An evidence file (or its thumbnail) was downloaded.
    ReadEvidence,
    /// A pull sent attempts (how many, and of which cases, in the detail).
    PullAttempts,
    /// A phone's signing key was registered (R21; key and device in the detail).
    RegisterKey,
    /// A signing key was revoked.
    RevokeKey,
    /// A participant's signature of an attempt was verified and stored (R21).
    SignAttempt,
    /// A supervisor dismissed a plausibility flag (kind and reason in the detail).
    DismissFlag,
    /// An administrator set an org unit's centre point.
    SetCentre,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::ReadStudent => "student.read",
            Self::TransferStudent => "student.transfer",
            Self::LoadCalendar => "calendar.load",
            Self::Review => "case.review",
            Self::MoveCase => "case.move",
            Self::ExportLedger => "ledger.export",
            Self::OpenCase => "case.open",
            Self::CompareRoll => "roll.compare",
            Self::ReconcileRoll => "roll.reconcile",
            Self::ReadRoll => "roll.read",
            Self::SetAccountDisabled => "account.set_disabled",
            Self::AddAccount => "account.add",
            Self::ResetPassword => "account.reset_password",
            Self::AddOrgUnit => "org_unit.add",
            Self::ReadCase => "case.read",
            Self::ReadEvidence => "evidence.read",
            Self::PullAttempts => "sync.pull",
            Self::RegisterKey => "signing_key.register",
            Self::RevokeKey => "signing_key.revoke",
            Self::SignAttempt => "attempt.sign",
            Self::DismissFlag => "flag.dismiss",
            Self::SetCentre => "org_unit.set_centre",
        }
    }

    fn entity_kind(self) -> &'static str {
        match self {
            Self::ReadStudent | Self::TransferStudent => "student",
            Self::LoadCalendar => "calendar",
            Self::Review | Self::MoveCase | Self::OpenCase | Self::ReadCase => "case",
            Self::ReadEvidence => "media",
            Self::PullAttempts => "sync",
            Self::ExportLedger => "ledger",
            Self::CompareRoll | Self::ReconcileRoll | Self::ReadRoll => "roll",
            Self::SetAccountDisabled | Self::AddAccount | Self::ResetPassword => "account",
            Self::AddOrgUnit => "org_unit",
            Self::RegisterKey | Self::RevokeKey => "signing_key",
            Self::SignAttempt | Self::DismissFlag => "case",
            Self::SetCentre => "org_unit",
        }
    }
}

/// Appends one entry: `actor` did `action` on `entity` (if the action is on one record), linked
/// to the entry before it. The chain's head row is locked to the end of the transaction (or of
/// this call's own, when `db` is no transaction), so entries link in the order they commit.
pub async fn record(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    client: Option<std::net::IpAddr>,
    action: Action,
    entity: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<(), sea_orm::DbErr> {
    let detail =
        serde_json::json!({ "device_id": actor.device_id, "role": actor.role, "detail": detail });
    let now = Utc::now();
    let entry = audit_entry::Model {
        id: 0,
        // Stored to the microsecond on every engine: hashed as stored.
        at: DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now),
        actor_id: Some(actor.id),
        action: action.as_str().to_owned(),
        entity_kind: action.entity_kind().to_owned(),
        entity_id: entity,
        client_addr: client.map(|ip| ip.to_string()),
        detail: detail.to_string(),
        prev_hash: None,
        hash: None,
    };
    db::audit::append(db, entry).await
}

/// What [`verify`] found in the audit log.
#[derive(Debug, Default)]
pub struct AuditCheck {
    /// Entries read.
    pub entries: u64,
    /// Entries from before the chain began (not checked).
    pub unchained: u64,
    /// What is wrong, in the words an operator reads; empty when the chain holds.
    pub problems: Vec<String>,
}

/// Recomputes the audit log's chain and checks it ends at the recorded head: an entry changed,
/// deleted or cut off the end shows.
pub async fn verify(db: &impl ConnectionTrait) -> Result<AuditCheck, sea_orm::DbErr> {
    let mut check = AuditCheck::default();
    let mut prev: Option<String> = None;
    let mut last_id = None;
    let mut after = i64::MIN;
    loop {
        let page = db::audit::page(db, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in page {
            check.entries += 1;
            let (Some(stored_prev), Some(stored)) = (&e.prev_hash, &e.hash) else {
                if prev.is_some() {
                    check
                        .problems
                        .push(format!("entry {} is not linked into the chain", e.id));
                } else {
                    check.unchained += 1;
                }
                continue;
            };
            let expected_prev = prev.as_deref().unwrap_or(GENESIS);
            if stored_prev != expected_prev {
                check.problems.push(format!(
                    "entry {} does not follow the entry before it: entries were deleted or reordered",
                    e.id
                ));
            }
            if db::audit::link_hash(stored_prev, &e) != *stored {
                check
                    .problems
                    .push(format!("entry {} was changed after it was written", e.id));
            }
            prev = Some(stored.clone());
            last_id = Some(e.id);
        }
    }
    let head = db::audit::head(db).await?;
    match (head, last_id, prev) {
        (None, None, _) => {}
        (Some(head), Some(id), Some(hash)) if head.last_id == id && head.hash == hash => {}
        (Some(head), _, _) => check.problems.push(format!(
            "the chain ends before its recorded head (entry {}): entries were removed from its end",
            head.last_id
        )),
        (None, Some(_), _) => check
            .problems
            .push("the chain's head is missing".to_owned()),
    }
    Ok(check)
}
