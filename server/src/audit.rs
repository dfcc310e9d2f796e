//! The audit log: one append-only entry for every read of a student's personal data and every
//! change to the ledger (R23).

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::entity::audit_entry;

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
    /// An account was disabled (its sessions ended) or enabled again.
    SetAccountDisabled,
    /// A case with its attempts (family circumstances of a minor) was read.
    ReadCase,
    /// An evidence file (or its thumbnail) was downloaded.
    ReadEvidence,
    /// A pull sent attempts (how many, and of which cases, in the detail).
    PullAttempts,
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
            Self::SetAccountDisabled => "account.set_disabled",
            Self::ReadCase => "case.read",
            Self::ReadEvidence => "evidence.read",
            Self::PullAttempts => "sync.pull",
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
            Self::CompareRoll => "roll",
            Self::SetAccountDisabled => "account",
        }
    }
}

/// Appends one entry: `actor` did `action` on `entity` (if the action is on one record).
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    client: Option<std::net::IpAddr>,
    action: Action,
    entity: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<(), sea_orm::DbErr> {
    let detail =
        serde_json::json!({ "device_id": actor.device_id, "role": actor.role, "detail": detail });
    audit_entry::Entity::insert(audit_entry::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        at: Set(Utc::now()),
        actor_id: Set(Some(actor.id)),
        action: Set(action.as_str().to_owned()),
        entity_kind: Set(action.entity_kind().to_owned()),
        entity_id: Set(entity),
        client_addr: Set(client.map(|ip| ip.to_string())),
        detail: Set(detail.to_string()),
    })
    .exec(db)
    .await
    .map(|_| ())
}
