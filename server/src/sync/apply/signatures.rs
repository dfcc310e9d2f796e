//! A participant's signature of an attempt (R21): checked against the key it names, which must
//! be the signer's own and not revoked, and stored once; never changed. Whether it still covers
//! the attempt as it stands is worked out when read (`signing::confirmations`).

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::org::Role;
use sync_protocol::signing::{self, NewSignature};
use sync_protocol::sync::{EntityKind, RejectCode};

use super::{Batch, Outcome, created, not_found, reject};
use crate::audit;
use crate::db::changes::RecordScope;
use crate::db::{self, entity::attempt_signature};

impl<C: ConnectionTrait + TransactionTrait> Batch<'_, C> {
    /// Verifies and stores `new`, made by the pushing user as a participant of its attempt.
    pub(super) async fn sign_attempt(&mut self, new: &NewSignature) -> Result<Outcome, DbErr> {
        if self.user.role == Role::Admin {
            return Ok(super::forbidden_evidence());
        }
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if let Some(existing) = db::signing::signature(self.txn, new.id.0).await? {
            return Ok(self.signed_again(&existing, new));
        }
        let attempt = db::attempts::by_id(self.txn, new.attempt_id.0).await?;
        if attempt.is_none_or(|a| a.case_id != case.id) {
            return Ok(not_found("attempt"));
        }
        let people = db::attempts::participants(self.txn, new.attempt_id.0).await?;
        if !people
            .iter()
            .any(|p| p.user_id.is_some_and(|u| u.0 == self.user.id))
        {
            return Ok(reject(
                RejectCode::Forbidden,
                "only a participant of the attempt signs it: add yourself to its participants first",
            ));
        }
        if let Err(refusal) = vouched_for(new, &people) {
            return Ok(reject(RejectCode::Invalid, refusal));
        }
        if let Some(refused) = self.checked(new).await? {
            return Ok(Err(refused));
        }
        self.insert_signature(new, &case).await?;
        Ok(created())
    }

    /// Why `new` is refused by its key, if it is: not the signer's key, revoked, or a signature
    /// that does not verify over the content it names.
    async fn checked(
        &self,
        new: &NewSignature,
    ) -> Result<Option<sync_protocol::merge::Rejection>, DbErr> {
        let refuse = |code, reason: String| Some(sync_protocol::merge::Rejection { code, reason });
        let key = db::signing::key(self.txn, new.key_id.0).await?;
        let Some(key) = key.filter(|k| k.user_id == self.user.id) else {
            let reason = format!("signing key {} is not registered to you", new.key_id);
            return Ok(refuse(RejectCode::Forbidden, reason));
        };
        if let Some(at) = key.revoked_at {
            let reason = format!("signing key {} was revoked at {at}", new.key_id);
            return Ok(refuse(RejectCode::KeyRevoked, reason));
        }
        let message = signing::message(new.attempt_id, &new.content_digest);
        let verified = crate::signing::public_key(&key.public_key)
            .and_then(|public| crate::signing::verify(&public, &message, &new.signature));
        Ok(verified
            .err()
            .and_then(|why| refuse(RejectCode::BadSignature, why)))
    }

    /// A signature sent again: the same one changes nothing, another with its id is refused.
    fn signed_again(&self, existing: &attempt_signature::Model, new: &NewSignature) -> Outcome {
        let same = existing.attempt_id == new.attempt_id.0
            && existing.user_id == self.user.id
            && existing.content_digest == new.content_digest
            && existing.signature == new.signature;
        if same {
            created()
        } else {
            reject(
                RejectCode::ImmutableField,
                "a signature is never changed; sign again with a new id",
            )
        }
    }

    /// Stores, audits and logs the verified signature `new` of an attempt of `case`.
    async fn insert_signature(
        &mut self,
        new: &NewSignature,
        case: &crate::db::entity::case::Model,
    ) -> Result<(), DbErr> {
        let vouched = serde_json::to_string(&new.vouched)
            .map_err(|e| DbErr::Custom(format!("a vouching that does not encode: {e}")))?;
        let row = attempt_signature::Model {
            id: new.id.0,
            case_id: case.id,
            attempt_id: new.attempt_id.0,
            user_id: self.user.id,
            key_id: new.key_id.0,
            content_digest: new.content_digest.clone(),
            signature: new.signature.clone(),
            signed_at: new.signed_at,
            received_at: self.now,
            vouched,
        };
        db::signing::insert_signature(self.txn, row).await?;
        let detail = serde_json::json!({
            "signature_id": new.id, "attempt_id": new.attempt_id, "key_id": new.key_id,
            "content_digest": new.content_digest, "vouched": new.vouched,
        });
        audit::record(
            self.txn,
            self.user,
            None,
            audit::Action::SignAttempt,
            Some(case.id),
            detail,
        )
        .await?;
        self.changes.upsert(
            EntityKind::Signature,
            new.id.0,
            RecordScope::from(case),
            true,
        );
        Ok(())
    }
}

/// Refuses a vouching for someone who is not a participant without an account, or whose
/// drawing is not named by a SHA-256.
fn vouched_for(
    new: &NewSignature,
    people: &[sync_protocol::cases::Participant],
) -> Result<(), String> {
    for v in &new.vouched {
        if !people
            .iter()
            .any(|p| p.user_id.is_none() && p.name == v.name)
        {
            return Err(format!(
                "{} is not a participant without an account on this attempt",
                v.name
            ));
        }
        let hex = v.drawing_sha256.len() == 64
            && v.drawing_sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if !hex {
            return Err(format!(
                "the drawing of {} is not named by a SHA-256",
                v.name
            ));
        }
    }
    Ok(())
}
