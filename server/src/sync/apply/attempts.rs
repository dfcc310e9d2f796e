//! An attempt's creation, held back to be inserted with the batch's other new attempts, and its
//! update: the merge of its fields and participants by its author or the staff listed on it.

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::cases::Participant;
use sync_protocol::hlc::HlcStamp;
use sync_protocol::merge::{self, AttemptFields, Rejection};
use sync_protocol::sync::{AttemptField, EntityKind, FieldValue, Mutation, NewAttempt, RejectCode};
use uuid::Uuid;

use super::{Batch, Outcome, created, forbidden_evidence, not_found, reject};
use crate::cases::rights;
use crate::db::attempts::{self, parse_stamps};
use crate::db::chain::{self, ChainKind};
use crate::db::changes::RecordScope;
use crate::db::entity::attempt;
use crate::plausibility::raise::Arrival;

impl<C: ConnectionTrait + TransactionTrait> Batch<'_, C> {
    pub(super) async fn create_attempt(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        new: &NewAttempt,
    ) -> Result<Outcome, DbErr> {
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if !rights::records_evidence(self.user.role) {
            return Ok(forbidden_evidence());
        }
        if self.existing_attempts.contains(&new.id.0) {
            let Some(existing) = attempts::by_id(self.txn, new.id.0).await? else {
                return Ok(not_found("attempt"));
            };
            let same = existing.case_id == new.case_id.0
                && existing.kind == new.kind.as_str()
                && existing.occurred_at.timestamp_micros() == new.occurred_at.timestamp_micros()
                && existing.author_id == self.user.id;
            if !same {
                return Ok(reject(
                    RejectCode::ImmutableField,
                    "an attempt with this id exists with another case, kind, time or author",
                ));
            }
            // The same attempt recorded again (say, after a reinstall): merge it as an edit.
            return self
                .update_attempt(
                    m,
                    hlc,
                    new.id.0,
                    &new.scalar_fields(),
                    &new.participants,
                    Some(existing),
                )
                .await;
        }
        let stamps = merge::creation_stamps::<AttemptFields>(&new.scalar_fields(), hlc);
        let (row, participants) = attempts::rows(self.sealer, new, self.user.id, &stamps, self.now);
        let content = chain::attempt_content(&row, &participants);
        self.pending.ids.insert(new.id.0);
        let recorded = chrono::DateTime::from_timestamp_millis(hlc.millis).unwrap_or(self.now);
        self.arrived.push(Arrival {
            id: new.id.0,
            case_id: case.id,
            village_id: case.village_id,
            author_id: self.user.id,
            occurred_at: row.occurred_at,
            place: row.lat.zip(row.lon),
            recorded,
        });
        self.pending.attempts.push(row);
        self.pending.participants.extend(participants);
        self.changes.upsert(
            EntityKind::Attempt,
            new.id.0,
            RecordScope::from(&case),
            true,
        );
        self.changes
            .known_content(ChainKind::Attempt, new.id.0, case.id, content);
        Ok(created())
    }

    pub(super) async fn update_attempt(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        fields: &[AttemptField],
        add: &[Participant],
        known: Option<attempt::Model>,
    ) -> Result<Outcome, DbErr> {
        let row = match known {
            Some(row) => row,
            None => match attempts::by_id(self.txn, id).await? {
                Some(row) => row,
                None => return Ok(not_found("attempt")),
            },
        };
        let Some(case) = self.case(row.case_id).await? else {
            return Ok(not_found("attempt"));
        };
        if fields.is_empty() && add.is_empty() {
            return Ok(Err(Rejection::empty_update()));
        }
        let participants = attempts::participants(self.txn, id).await?;
        if !rights::edits_attempt(self.user.id, row.author_id, &participants) {
            return Ok(reject(
                RejectCode::Forbidden,
                "only its author and the staff listed on it change an attempt",
            ));
        }
        let mut state = attempts::fields(self.sealer, &row, participants)?;
        let mut stamps = parse_stamps(&row.field_stamps)?;
        let version = row.version + 1;
        let (losses, grew) = merge::apply_attempt_update(
            &mut state,
            &mut stamps,
            m.base_version,
            hlc,
            fields,
            add,
            version,
        );
        attempts::store(self.txn, self.sealer, row, &state, &stamps, version, grew).await?;
        self.finish_update(
            EntityKind::Attempt,
            id,
            &case,
            m,
            losses,
            FieldValue::Attempt,
            version,
        )
        .await
    }
}
