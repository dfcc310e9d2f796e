//! A document's creation and the update of its metadata, by its author.

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::merge::{self, DocumentFields, Rejection};
use sync_protocol::sync::{
    DocumentField, EntityKind, FieldValue, Mutation, NewDocument, RejectCode,
};
use uuid::Uuid;

use super::{Batch, Outcome, created, forbidden_evidence, not_found, reject};
use crate::cases::rights;
use crate::db::attempts::parse_stamps;
use crate::db::changes::RecordScope;
use crate::db::{self, documents};

impl<C: ConnectionTrait + TransactionTrait> Batch<'_, C> {
    pub(super) async fn create_document(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        new: &NewDocument,
    ) -> Result<Outcome, DbErr> {
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if !rights::records_evidence(self.user.role) {
            return Ok(forbidden_evidence());
        }
        if let Some(existing) = db::documents::by_id(self.txn, new.id.0).await? {
            if existing.case_id != new.case_id.0
                || existing.doc_type != new.doc_type.as_str()
                || existing.author_id != self.user.id
            {
                return Ok(reject(
                    RejectCode::ImmutableField,
                    "a document with this id exists with another case, type or author",
                ));
            }
            return self
                .update_document(m, hlc, new.id.0, &new.scalar_fields())
                .await;
        }
        let stamps = merge::creation_stamps::<DocumentFields>(&new.scalar_fields(), hlc);
        documents::insert(self.txn, new, self.user.id, &stamps, self.now).await?;
        self.changes.upsert(
            EntityKind::Document,
            new.id.0,
            RecordScope::from(&case),
            true,
        );
        Ok(created())
    }

    pub(super) async fn update_document(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        fields: &[DocumentField],
    ) -> Result<Outcome, DbErr> {
        let Some(row) = db::documents::by_id(self.txn, id).await? else {
            return Ok(not_found("document"));
        };
        let Some(case) = self.case(row.case_id).await? else {
            return Ok(not_found("document"));
        };
        if !rights::edits_document(self.user.id, row.author_id) {
            return Ok(reject(
                RejectCode::Forbidden,
                "only its author changes a document",
            ));
        }
        if fields.is_empty() {
            return Ok(Err(Rejection::empty_update()));
        }
        let mut state = documents::fields(&row);
        let mut stamps = parse_stamps(&row.field_stamps)?;
        let version = row.version + 1;
        let losses = merge::merge_scalars(
            &mut state,
            &mut stamps,
            m.base_version,
            hlc,
            fields,
            version,
        );
        documents::store(self.txn, row, &state, &stamps, version).await?;
        self.finish_update(
            EntityKind::Document,
            id,
            &case,
            m,
            losses,
            FieldValue::Document,
            version,
        )
        .await
    }
}
