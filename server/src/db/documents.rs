//! Writing documents' metadata.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait as _};
use sync_protocol::merge::DocumentFields;
use sync_protocol::sync::{FieldStamps, NewDocument};
use uuid::Uuid;

use crate::db::attempts::stamps_text;
use crate::db::entity::document;

/// Inserts `new` by `author` with field clock `stamps` (version 1).
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewDocument,
    author: Uuid,
    stamps: &FieldStamps,
    now: DateTime<Utc>,
) -> Result<document::Model, DbErr> {
    document::ActiveModel {
        id: Set(new.id.0),
        case_id: Set(new.case_id.0),
        doc_type: Set(new.doc_type.as_str().to_owned()),
        title: Set(new.title.clone()),
        issued_by: Set(new.issued_by.clone()),
        issued_on: Set(new.issued_on),
        notes: Set(new.notes.clone()),
        author_id: Set(author),
        created_at: Set(now),
        version: Set(1),
        field_stamps: Set(stamps_text(stamps)),
    }
    .insert(db)
    .await
}

/// The mergeable fields of a stored document.
pub fn fields(row: &document::Model) -> DocumentFields {
    DocumentFields {
        title: row.title.clone(),
        issued_by: row.issued_by.clone(),
        issued_on: row.issued_on,
        notes: row.notes.clone(),
    }
}

/// Writes merged fields back, with the new version and field clock.
pub async fn store(
    db: &impl ConnectionTrait,
    row: document::Model,
    fields: &DocumentFields,
    stamps: &FieldStamps,
    version: i64,
) -> Result<(), DbErr> {
    let mut active: document::ActiveModel = row.into();
    active.title = Set(fields.title.clone());
    active.issued_by = Set(fields.issued_by.clone());
    active.issued_on = Set(fields.issued_on);
    active.notes = Set(fields.notes.clone());
    active.version = Set(version);
    active.field_stamps = Set(stamps_text(stamps));
    active.update(db).await.map(|_| ())
}

/// The document `id`.
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<document::Model>, DbErr> {
    document::Entity::find_by_id(id).one(db).await
}
