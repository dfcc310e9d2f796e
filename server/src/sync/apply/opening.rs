//! A case opened by a reported absence (R1), from a phone or the web: a new row in `absent`, or,
//! when the student's row is open already (another device reported the same absence first), the
//! phone's case id joined to that row so nothing recorded on it is lost.

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::cases::CaseStatus;
use sync_protocol::sync::{EntityKind, Mutation, NewCase, RejectCode};

use super::{Applied, Batch, Outcome, created, not_found, reject};
use crate::cases::rights;
use crate::db::changes::RecordScope;
use crate::db::entity::case;
use crate::{audit, db, records};

/// What a report of an absence came to on an existing row: nothing new.
fn unchanged(row: &case::Model) -> Outcome {
    Ok(Applied {
        version: row.version,
        conflicts: Vec::new(),
    })
}

impl<C: ConnectionTrait + TransactionTrait> Batch<'_, C> {
    pub(super) async fn open_case(
        &mut self,
        m: &Mutation,
        new: &NewCase,
    ) -> Result<Outcome, DbErr> {
        if !rights::reports_absence(self.user.role) {
            return Ok(reject(
                RejectCode::Forbidden,
                "an absence is reported by the class teacher or the school's lead",
            ));
        }
        // The same report sent again under another mutation id (say, after a reinstall).
        let id = self.aliases.get(&new.id.0).copied().unwrap_or(new.id.0);
        if let Some(row) = db::cases::by_id(self.txn, id).await? {
            if row.student_id != new.student_id.0 || self.case(id).await?.is_none() {
                return Ok(reject(
                    RejectCode::ImmutableField,
                    "a case with this id exists for another student",
                ));
            }
            return Ok(unchanged(&row));
        }
        let scope = self.user.scope();
        let Some(student) = db::students::in_scope(self.txn, scope, new.student_id.0).await? else {
            return Ok(not_found("student"));
        };
        let detail = serde_json::json!({
            "student_id": student.id,
            "first_absent_on": new.first_absent_on,
            "mutation_id": m.id,
        });
        if let Some(open) = db::cases::open_of_student(self.txn, student.id).await? {
            db::cases::add_alias(self.txn, new.id.0, open.id, self.now).await?;
            self.aliases.insert(new.id.0, open.id);
            // The phone drops its own copy on its next pull.
            let scope = RecordScope::from(&open);
            self.changes.remove(EntityKind::Case, new.id.0, scope);
            let detail = serde_json::json!({ "joined": new.id, "report": detail });
            let action = audit::Action::OpenCase;
            audit::record(self.txn, self.user, None, action, Some(open.id), detail).await?;
            return Ok(unchanged(&open));
        }
        let opened = records::NewCase {
            id: new.id.0,
            status: CaseStatus::Absent,
            found_by: new.found_by,
            reason: None,
            responsible_user_id: Some(self.user.id),
            opened_on: new.first_absent_on,
            relapse_count: 0,
        };
        let row = records::case(self.txn, &mut self.changes, &student, opened).await?;
        let action = audit::Action::OpenCase;
        audit::record(self.txn, self.user, None, action, Some(row.id), detail).await?;
        self.cases.insert(row.id, Some(row));
        Ok(created())
    }
}
