//! Stored rows in the shape a pull sends them: documents, reviews, the conflicts sync kept and
//! evidence files (signatures: `crate::signing`). A row that does not parse is corrupt, not the caller's fault.

use sea_orm::DbErr;
use sync_protocol::cases::GeoPoint;
use sync_protocol::evidence::{Document, Review};
use sync_protocol::media::MediaRef;
use sync_protocol::sync::Conflict;

use crate::db::entity::{conflict, document, media_object, review};
use crate::personal_data::Sealer;

/// The error of a stored `what` that does not parse.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("corrupt {what}: {e}"))
}

/// A document's metadata.
pub fn document(row: document::Model) -> Result<Document, DbErr> {
    Ok(Document {
        id: row.id.into(),
        case_id: row.case_id.into(),
        doc_type: crate::cases::parse_stored(&row.doc_type).map_err(|e| corrupt("document", e))?,
        title: row.title,
        issued_by: row.issued_by,
        issued_on: row.issued_on,
        notes: row.notes,
        author_id: row.author_id.into(),
        created_at: row.created_at,
    })
}

/// A supervisor's review.
pub fn review(row: review::Model) -> Result<Review, DbErr> {
    Ok(Review {
        id: row.id.into(),
        case_id: row.case_id.into(),
        target: row.target_kind.parse().map_err(|e| corrupt("review", e))?,
        target_id: row.target_id,
        verdict: row.verdict.parse().map_err(|e| corrupt("review", e))?,
        reason: row.reason,
        reviewer_id: row.reviewer_id.into(),
        created_at: row.created_at,
    })
}

/// Who wrote on each device: the account signed in on it and its display name, by device id
/// (`db::users::of_devices`).
pub type DeviceUsers = std::collections::HashMap<uuid::Uuid, (uuid::Uuid, String)>;

/// A conflict sync kept, its values opened if sealed, with who wrote the losing value if
/// `devices` knows its device.
pub fn conflict(
    sealer: &Sealer,
    row: conflict::Model,
    devices: &DeviceUsers,
) -> Result<Conflict, DbErr> {
    fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DbErr> {
        serde_json::from_str(text).map_err(|e| corrupt("conflict", e))
    }
    let opened =
        |column, stored: &str| crate::db::conflicts::opened(sealer, row.id, column, stored);
    Ok(Conflict {
        id: row.id.into(),
        entity_kind: row
            .entity_kind
            .parse()
            .map_err(|e| corrupt("conflict", e))?,
        entity_id: row.entity_id,
        case_id: row.case_id.into(),
        field: row.field.clone(),
        winning_value: parse(&opened("winning_value", &row.winning_value)?)?,
        winning_hlc: parse(&row.winning_hlc)?,
        losing_value: parse(&opened("losing_value", &row.losing_value)?)?,
        losing_hlc: parse(&row.losing_hlc)?,
        losing_mutation_id: row.losing_mutation_id.map(Into::into),
        losing_device_id: row.losing_device_id.into(),
        losing_user_id: devices
            .get(&row.losing_device_id)
            .map(|(id, _)| (*id).into()),
        losing_user_name: devices.get(&row.losing_device_id).map(|(_, n)| n.clone()),
        created_at: row.created_at,
    })
}

/// An evidence file's reference.
pub fn media(row: media_object::Model) -> Result<MediaRef, DbErr> {
    Ok(MediaRef {
        id: row.id.into(),
        sha256: row.sha256,
        size: u64::try_from(row.size).unwrap_or(0),
        kind: row.kind.parse().map_err(|e| corrupt("media", e))?,
        content_type: row.content_type,
        file_name: row.file_name,
        target_kind: row.target_kind,
        target_id: row.target_id,
        case_id: row.case_id.into(),
        uploaded_by: row.uploaded_by.into(),
        created_at: row.created_at,
        captured_at: row.captured_at,
        location: row.lat.zip(row.lon).map(|(lat, lon)| GeoPoint {
            lat,
            lon,
            accuracy_m: None,
        }),
        duration_ms: row.duration_ms.and_then(|d| u64::try_from(d).ok()),
        preview_of: row.preview_of,
    })
}
