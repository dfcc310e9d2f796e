//! `pull`: every change the caller may see since a cursor, a page at a time, each record in its
//! current state.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::cases::{Attempt, GeoPoint};
use sync_protocol::evidence::{Document, Review};
use sync_protocol::sync::{Conflict, EntityKind, PullRequest, PullResponse, PulledRecord};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::attempts::parse_stamps;
use crate::db::entity::{case, change_log};
use crate::db::{self, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// Records per page unless asked otherwise.
pub const DEFAULT_PAGE: u32 = 500;
/// Most records per page.
pub const MAX_PAGE: u32 = 2000;

fn bad_cursor() -> ApiError {
    ApiError::invalid_parameter("cursor is not one this server handed out")
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("corrupt {what}: {e}"))
}

/// Serves one page of changes to `user`.
pub async fn pull(
    state: &AppState,
    user: &AuthUser,
    request: PullRequest,
) -> Result<PullResponse, ApiError> {
    super::check_protocol(request.protocol_version)?;
    let after: i64 = match request.cursor.as_deref() {
        None | Some("") => 0,
        Some(text) => text
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(bad_cursor)?,
    };
    let limit = request.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_parameter(format!(
            "limit must be 1..={MAX_PAGE}, not {limit}"
        )));
    }
    let db = &state.db.read;
    let rows = db::changes::page(db, user.scope(), after, u64::from(limit)).await?;
    let more = rows.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    let cursor = rows.last().map_or(after, |r| r.seq).to_string();
    let records = records_for(state, db, user.scope(), &rows, more).await?;
    Ok(PullResponse {
        records,
        cursor,
        more,
        server_hlc: state.server_stamp(),
    })
}

/// The current state of the records named by `rows`, in row order. A record no longer in the
/// scope is skipped: a later `remove` row tells the phone.
async fn records_for(
    state: &AppState,
    db: &impl ConnectionTrait,
    scope: Scope,
    rows: &[change_log::Model],
    more: bool,
) -> Result<Vec<PulledRecord>, DbErr> {
    let mut ids: HashMap<EntityKind, Vec<Uuid>> = HashMap::new();
    for row in rows.iter().filter(|r| r.op == "upsert") {
        let kind: EntityKind = row
            .entity_kind
            .parse()
            .map_err(|e| corrupt("change log", e))?;
        ids.entry(kind).or_default().push(row.entity_id);
    }
    let take = |kind| ids.get(&kind).cloned().unwrap_or_default();
    let db::records::Records {
        attempts,
        documents,
        reviews,
        conflicts,
        media,
    } = db::records::by_id(db, take).await?;

    // Every case the page touches, looked up in the caller's scope.
    let pulled_cases: HashSet<Uuid> = take(EntityKind::Case).into_iter().collect();
    let mut case_ids = pulled_cases.clone();
    case_ids.extend(attempts.iter().map(|a| a.case_id));
    case_ids.extend(documents.iter().map(|d| d.case_id));
    case_ids.extend(reviews.iter().map(|r| r.case_id));
    case_ids.extend(conflicts.iter().map(|c| c.case_id));
    case_ids.extend(media.iter().map(|m| m.case_id));
    let cases = db::cases::by_id_in_scope(db, scope, case_ids).await?;
    let visible = |case_id: &Uuid| cases.contains_key(case_id);

    let mut out: HashMap<(EntityKind, Uuid), PulledRecord> = HashMap::new();
    // Every visible case the page touches is sent, so that its due items follow its attempts
    // and documents (those not in the page's rows come after them), unless a later page touches
    // it again and will send it then.
    let later = match (more, rows.last()) {
        (true, Some(last)) => db::changes::cases_touched_after(db, cases.keys(), last.seq).await?,
        _ => HashSet::new(),
    };
    let mut touched: Vec<case::Model> = cases
        .values()
        .filter(|c| pulled_cases.contains(&c.id) || !later.contains(&c.id))
        .cloned()
        .collect();
    touched.sort_by_key(|c| c.id);
    let resent: Vec<Uuid> = touched
        .iter()
        .map(|c| c.id)
        .filter(|id| !pulled_cases.contains(id))
        .collect();
    for (summary, row) in crate::cases::views(state, db, touched).await? {
        let stamps = parse_stamps(&row.field_stamps)?;
        out.insert(
            (EntityKind::Case, row.id),
            PulledRecord::Case {
                case: summary,
                version: row.version,
                stamps,
            },
        );
    }
    let mut participants =
        crate::db::attempts::participants_of(db, attempts.iter().map(|a| a.id).collect()).await?;
    for row in attempts.into_iter().filter(|a| visible(&a.case_id)) {
        let (id, version, stamps) = (row.id, row.version, parse_stamps(&row.field_stamps)?);
        let attempt: Attempt = crate::cases::attempt_view(
            &state.sealer,
            row,
            participants.remove(&id).unwrap_or_default(),
        )
        .map_err(|e| corrupt("attempt", e))?;
        out.insert(
            (EntityKind::Attempt, id),
            PulledRecord::Attempt {
                attempt,
                version,
                stamps,
            },
        );
    }
    for row in documents.into_iter().filter(|d| visible(&d.case_id)) {
        let (id, version, stamps) = (row.id, row.version, parse_stamps(&row.field_stamps)?);
        let document = Document {
            id: row.id.into(),
            case_id: row.case_id.into(),
            doc_type: crate::cases::parse_stored(&row.doc_type)
                .map_err(|e| corrupt("document", e))?,
            title: row.title,
            issued_by: row.issued_by,
            issued_on: row.issued_on,
            notes: row.notes,
            author_id: row.author_id.into(),
            created_at: row.created_at,
        };
        out.insert(
            (EntityKind::Document, id),
            PulledRecord::Document {
                document,
                version,
                stamps,
            },
        );
    }
    for row in reviews.into_iter().filter(|r| visible(&r.case_id)) {
        let review = Review {
            id: row.id.into(),
            case_id: row.case_id.into(),
            target: row.target_kind.parse().map_err(|e| corrupt("review", e))?,
            target_id: row.target_id,
            verdict: row.verdict.parse().map_err(|e| corrupt("review", e))?,
            reason: row.reason,
            reviewer_id: row.reviewer_id.into(),
            created_at: row.created_at,
        };
        out.insert(
            (EntityKind::Review, row.id),
            PulledRecord::Review { review },
        );
    }
    for row in conflicts.into_iter().filter(|c| visible(&c.case_id)) {
        fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DbErr> {
            serde_json::from_str(text).map_err(|e| corrupt("conflict", e))
        }
        let opened = |id, column, stored: &str| {
            crate::db::conflicts::opened(&state.sealer, id, column, stored)
        };
        let conflict = Conflict {
            id: row.id.into(),
            entity_kind: row
                .entity_kind
                .parse()
                .map_err(|e| corrupt("conflict", e))?,
            entity_id: row.entity_id,
            case_id: row.case_id.into(),
            field: row.field,
            winning_value: parse(&opened(row.id, "winning_value", &row.winning_value)?)?,
            winning_hlc: parse(&row.winning_hlc)?,
            losing_value: parse(&opened(row.id, "losing_value", &row.losing_value)?)?,
            losing_hlc: parse(&row.losing_hlc)?,
            losing_mutation_id: row.losing_mutation_id.map(Into::into),
            losing_device_id: row.losing_device_id.into(),
            created_at: row.created_at,
        };
        out.insert(
            (EntityKind::Conflict, row.id),
            PulledRecord::Conflict { conflict },
        );
    }

    for row in media.into_iter().filter(|m| visible(&m.case_id)) {
        let media = sync_protocol::media::MediaRef {
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
        };
        out.insert((EntityKind::Media, row.id), PulledRecord::Media { media });
    }

    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: EntityKind = row
            .entity_kind
            .parse()
            .map_err(|e| corrupt("change log", e))?;
        if row.op == "remove" {
            records.push(PulledRecord::Removed {
                entity_kind: kind,
                id: row.entity_id,
            });
        } else if let Some(record) = out.remove(&(kind, row.entity_id)) {
            records.push(record);
        }
    }
    records.extend(
        resent
            .into_iter()
            .filter_map(|id| out.remove(&(EntityKind::Case, id))),
    );
    Ok(records)
}
