//! A case update: who may change which field, the merge, and a status move checked against the
//! case machine over the case's history, recorded and audited.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::cases::CaseStatus;
use sync_protocol::hlc::HlcStamp;
use sync_protocol::merge::{self, CaseFields, Rejection};
use sync_protocol::sync::{CaseField, EntityKind, FieldStamps, FieldValue, Mutation, RejectCode};
use uuid::Uuid;

use super::{Batch, Outcome, not_found, reject};
use crate::audit;
use crate::cases::{history, machine, rights};
use crate::db::attempts::{parse_stamps, stamps_text};
use crate::db::{
    self,
    entity::{case, case_move},
};

/// The merging fields of the stored case `row`.
pub(super) fn case_fields(row: &case::Model) -> Result<CaseFields, DbErr> {
    let corrupt = |e: String| DbErr::Custom(format!("corrupt case {}: {e}", row.id));
    Ok(CaseFields {
        status: row.status.parse().map_err(corrupt)?,
        reason: row
            .reason
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(corrupt)?,
        responsible_user_id: row.responsible_user_id.map(Into::into),
        relapse_count: row.relapse_count,
        closure_reason: row
            .closure_reason
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(corrupt)?,
    })
}

impl<C: ConnectionTrait + TransactionTrait> Batch<'_, C> {
    pub(super) async fn update_case(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        fields: &[CaseField],
    ) -> Result<Outcome, DbErr> {
        let Some(row) = self.case(id).await? else {
            return Ok(not_found("case"));
        };
        if let Some(refused) = self.refuse_case_edit(&row, fields).await? {
            return Ok(refused);
        }
        let mut state = case_fields(&row)?;
        let from = state.status;
        let mut stamps = parse_stamps(&row.field_stamps)?;
        let version = row.version + 1;
        let losses = match merge::apply_case_update(
            &mut state,
            &mut stamps,
            m.base_version,
            hlc,
            fields,
            version,
        ) {
            Ok(losses) => losses,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if state.status != from {
            if let Err(refusal) = self.check_move(&row, &state).await? {
                return Ok(Err(refusal));
            }
            self.record_move(m, hlc, id, from, state.status).await?;
        }
        let updated = self.store_case(row, &state, &stamps, version).await?;
        self.finish_update(
            EntityKind::Case,
            id,
            &updated,
            m,
            losses,
            FieldValue::Case,
            version,
        )
        .await
    }

    /// Why the caller may not change `fields` of the case `row`, if they may not.
    async fn refuse_case_edit(
        &self,
        row: &case::Model,
        fields: &[CaseField],
    ) -> Result<Option<Outcome>, DbErr> {
        if !rights::edits_cases(self.user.role) {
            return Ok(Some(reject(
                RejectCode::Forbidden,
                "a village committee member or an administrator changes no field of a ledger row",
            )));
        }
        let asks_closure = fields
            .iter()
            .any(|f| matches!(f, CaseField::ClosureReason(_)));
        if asks_closure && !machine::CLOSURE_REQUESTERS.contains(&self.user.role) {
            return Ok(Some(reject(
                RejectCode::Forbidden,
                "only a school lead, a township officer or the bureau asks for a row to be closed",
            )));
        }
        for field in fields {
            if let CaseField::ResponsibleUserId(person) = field
                && !self.staff_of(row, person.0).await?
            {
                return Ok(Some(reject(
                    RejectCode::Invalid,
                    "the responsible person must be staff of the case's school, village, township or district",
                )));
            }
        }
        Ok(None)
    }

    /// Records and audits the move of case `id` from `from` to `to` made by `m`, stamped `hlc`.
    async fn record_move(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        from: CaseStatus,
        to: CaseStatus,
    ) -> Result<(), DbErr> {
        let move_id = Uuid::now_v7();
        let row = case_move::Model {
            id: move_id,
            case_id: id,
            from_status: from.as_str().to_owned(),
            to_status: to.as_str().to_owned(),
            moved_by: self.user.id,
            moved_at: self.move_date(id, hlc).await?,
            recorded_at: self.now,
            mutation_id: m.id.0,
        };
        db::cases::insert_move(self.txn, row).await?;
        self.changes.record_move(move_id);
        audit::record(
            self.txn,
            self.user,
            None,
            audit::Action::MoveCase,
            Some(id),
            serde_json::json!({ "from": from, "to": to, "mutation_id": m.id }),
        )
        .await?;
        Ok(())
    }

    /// Writes the merged `state` of case `row` back at `version`, and keeps it for the batch.
    async fn store_case(
        &mut self,
        row: case::Model,
        state: &CaseFields,
        stamps: &FieldStamps,
        version: i64,
    ) -> Result<case::Model, DbErr> {
        let id = row.id;
        let merged = db::cases::Merged {
            status: state.status.as_str().to_owned(),
            reason: state.reason.map(|r| r.as_str().to_owned()),
            responsible_user_id: state.responsible_user_id.map(|u| u.0),
            relapse_count: state.relapse_count,
            closure_reason: state.closure_reason.map(|r| r.as_str().to_owned()),
            version,
            field_stamps: stamps_text(stamps),
            updated_at: self.now,
        };
        let updated = db::cases::store_merged(self.txn, row, merged).await?;
        self.cases.insert(id, Some(updated.clone()));
        Ok(updated)
    }

    /// When a move of case `id` stamped `hlc` counts as made: the stamp, but no earlier than
    /// [`machine::MOVE_BACKDATE_LIMIT`] before now, nor than the case's previous move.
    async fn move_date(&self, id: Uuid, hlc: HlcStamp) -> Result<DateTime<Utc>, DbErr> {
        let stamped = DateTime::from_timestamp_millis(hlc.millis).unwrap_or(self.now);
        let previous = db::cases::latest_move_at(self.txn, id).await?;
        let floor = previous.map_or(self.now - machine::MOVE_BACKDATE_LIMIT, |p| {
            p.max(self.now - machine::MOVE_BACKDATE_LIMIT)
        });
        Ok(stamped.max(floor).min(self.now))
    }

    /// Whether the account `person` belongs to the case's school, village, township or district.
    async fn staff_of(&self, case: &case::Model, person: Uuid) -> Result<bool, DbErr> {
        let units = [
            case.school_id,
            case.village_id,
            case.township_id,
            case.district_id,
        ];
        Ok(db::users::by_id(self.txn, person)
            .await?
            .is_some_and(|p| units.contains(&p.org_unit_id)))
    }

    /// Checks the caller may move the case `row` to the merged `state`'s status now: role and
    /// requirements over the case's history, with the mutation's other fields already applied.
    async fn check_move(
        &self,
        row: &case::Model,
        state: &CaseFields,
    ) -> Result<Result<(), Rejection>, DbErr> {
        let mut history = history::load(
            self.txn,
            self.sealer,
            std::slice::from_ref(row),
            self.leaving_age,
        )
        .await?
        .remove(&row.id)
        .ok_or_else(|| DbErr::Custom(format!("no history for case {}", row.id)))?;
        history.reason = state.reason;
        history.closure_reason = state.closure_reason;
        history.responsible = state.responsible_user_id.is_some();
        Ok(machine::check_move(
            self.user.role,
            &history,
            state.status,
            crate::calendar::china_date(self.now),
        )
        .map_err(|refusal| {
            let code = match refusal {
                machine::Refusal::Illegal(_) => RejectCode::IllegalTransition,
                machine::Refusal::Forbidden { .. } => RejectCode::Forbidden,
                machine::Refusal::Unmet { .. } => RejectCode::RequirementsUnmet,
            };
            Rejection {
                code,
                reason: refusal.to_string(),
            }
        }))
    }
}
