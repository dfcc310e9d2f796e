//! A supervisor's review: recorded once and never changed; approving a closure request closes
//! the row through the case machine.

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::evidence::{ReviewTarget, Verdict};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::org::Role;
use sync_protocol::sync::{CaseField, EntityKind, Mutation, NewReview, RejectCode};

use super::{Batch, Outcome, created, not_found, reject};
use crate::audit;
use crate::cases::machine;
use crate::db::changes::RecordScope;
use crate::db::{
    self,
    entity::{case, review},
};

impl<C: ConnectionTrait + TransactionTrait> Batch<'_, C> {
    /// Records a supervisor's review. Approving a closure request closes the row, through the
    /// same move check as any other status move: it is refused, listing what is missing, until
    /// the closure reason's evidence is attached and approved.
    pub(super) async fn create_review(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        new: &NewReview,
    ) -> Result<Outcome, DbErr> {
        if self.user.role != Role::Supervisor {
            return Ok(reject(
                RejectCode::Forbidden,
                "only the bureau reviews evidence",
            ));
        }
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if let Some(existing) = db::reviews::by_id(self.txn, new.id.0).await? {
            return Ok(self.review_again(&existing, new));
        }
        if new.verdict != Verdict::Approved && new.reason.trim().is_empty() {
            return Ok(reject(
                RejectCode::Invalid,
                "a review that does not approve says why",
            ));
        }
        if !self.judges_a_record_of(new, &case).await? {
            return Ok(not_found(new.target.as_str()));
        }
        if new.target == ReviewTarget::Closure && new.verdict == Verdict::Approved {
            let now = super::cases::case_fields(&case)?;
            let to = machine::approved_closure(now.status, now.closure_reason);
            let close = [CaseField::Status(to)];
            if let Err(refusal) = self.update_case(m, hlc, case.id, &close).await? {
                return Ok(Err(refusal));
            }
        }
        self.insert_review(new, &case).await?;
        Ok(created())
    }

    /// A review sent again: the same one changes nothing, another with its id is refused.
    fn review_again(&self, existing: &review::Model, new: &NewReview) -> Outcome {
        let same = existing.case_id == new.case_id.0
            && existing.target_kind == new.target.as_str()
            && existing.target_id == new.target_id
            && existing.verdict == new.verdict.as_str()
            && existing.reason == new.reason
            && existing.reviewer_id == self.user.id;
        if same {
            created()
        } else {
            reject(
                RejectCode::ImmutableField,
                "a review is never changed; record a new one",
            )
        }
    }

    /// Whether what `new` judges belongs to `case`.
    async fn judges_a_record_of(&self, new: &NewReview, case: &case::Model) -> Result<bool, DbErr> {
        Ok(match new.target {
            ReviewTarget::Attempt => db::attempts::by_id(self.txn, new.target_id)
                .await?
                .is_some_and(|a| a.case_id == case.id),
            ReviewTarget::Document => db::documents::by_id(self.txn, new.target_id)
                .await?
                .is_some_and(|d| d.case_id == case.id),
            ReviewTarget::Closure => new.target_id == case.id,
        })
    }

    /// Stores, audits and logs the review `new` of `case`.
    async fn insert_review(&mut self, new: &NewReview, case: &case::Model) -> Result<(), DbErr> {
        let row = review::Model {
            id: new.id.0,
            case_id: new.case_id.0,
            target_kind: new.target.as_str().to_owned(),
            target_id: new.target_id,
            verdict: new.verdict.as_str().to_owned(),
            reason: new.reason.clone(),
            reviewer_id: self.user.id,
            created_at: self.now,
        };
        db::reviews::insert(self.txn, row).await?;
        audit::record(
            self.txn,
            self.user,
            None,
            audit::Action::Review,
            Some(case.id),
            serde_json::json!({
                "review_id": new.id, "target": new.target, "target_id": new.target_id,
                "verdict": new.verdict, "reason": new.reason,
            }),
        )
        .await?;
        self.changes
            .upsert(EntityKind::Review, new.id.0, RecordScope::from(case), true);
        Ok(())
    }
}
