//! `pull`: every change the caller may see since a cursor, a page at a time, each record in its
//! current state.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::cases::Attempt;
use sync_protocol::sync::{EntityKind, PullRequest, PullResponse, PulledRecord};
use uuid::Uuid;

use super::shape::{self, corrupt};
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
    let records = db::case_parts::by_id(db, take).await?;

    // Every case the page touches, looked up in the caller's scope.
    let pulled_cases: HashSet<Uuid> = take(EntityKind::Case).into_iter().collect();
    let mut case_ids = pulled_cases.clone();
    case_ids.extend(records.attempts.iter().map(|a| a.case_id));
    case_ids.extend(records.documents.iter().map(|d| d.case_id));
    case_ids.extend(records.reviews.iter().map(|r| r.case_id));
    case_ids.extend(records.conflicts.iter().map(|c| c.case_id));
    case_ids.extend(records.media.iter().map(|m| m.case_id));
    case_ids.extend(records.signatures.iter().map(|s| s.case_id));
    let cases = db::cases::by_id_in_scope(db, scope, case_ids).await?;

    // Every visible case the page touches is sent, so that its due items follow its attempts
    // and documents (those not in the page's rows come after them), unless a later page touches
    // it again and will send it then.
    let later = match (more, rows.last()) {
        (true, Some(last)) => {
            let ids: Vec<Uuid> = cases.keys().copied().collect();
            db::changes::cases_touched_after(db, &ids, last.seq).await?
        }
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
    let mut out = HashMap::new();
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
    shape_records(
        state,
        db,
        records,
        |case_id| cases.contains_key(case_id),
        &mut out,
    )
    .await?;
    in_page_order(rows, out, resent)
}

/// The wire shape of `records` whose case is `visible`, into `out` by kind and id.
async fn shape_records(
    state: &AppState,
    db: &impl ConnectionTrait,
    records: db::case_parts::CaseParts,
    visible: impl Fn(&Uuid) -> bool,
    out: &mut HashMap<(EntityKind, Uuid), PulledRecord>,
) -> Result<(), DbErr> {
    let db::case_parts::CaseParts {
        attempts,
        documents,
        reviews,
        conflicts,
        media,
        signatures,
    } = records;
    let mut participants =
        db::attempts::participants_of(db, attempts.iter().map(|a| a.id).collect()).await?;
    for row in attempts.into_iter().filter(|a| visible(&a.case_id)) {
        let (id, version, stamps) = (row.id, row.version, parse_stamps(&row.field_stamps)?);
        let people = participants.remove(&id).unwrap_or_default();
        let attempt: Attempt = crate::cases::attempt_view(&state.sealer, row, people)
            .map_err(|e| corrupt("attempt", e))?;
        let record = PulledRecord::Attempt {
            attempt,
            version,
            stamps,
        };
        out.insert((EntityKind::Attempt, id), record);
    }
    for row in documents.into_iter().filter(|d| visible(&d.case_id)) {
        let (id, version, stamps) = (row.id, row.version, parse_stamps(&row.field_stamps)?);
        let document = shape::document(row)?;
        let record = PulledRecord::Document {
            document,
            version,
            stamps,
        };
        out.insert((EntityKind::Document, id), record);
    }
    for row in reviews.into_iter().filter(|r| visible(&r.case_id)) {
        let id = row.id;
        let review = shape::review(row)?;
        out.insert((EntityKind::Review, id), PulledRecord::Review { review });
    }
    let conflicts: Vec<_> = conflicts
        .into_iter()
        .filter(|c| visible(&c.case_id))
        .collect();
    let devices = db::users::of_devices(db, conflicts.iter().map(|c| c.losing_device_id)).await?;
    for row in conflicts {
        let id = row.id;
        let conflict = shape::conflict(&state.sealer, row, &devices)?;
        out.insert(
            (EntityKind::Conflict, id),
            PulledRecord::Conflict { conflict },
        );
    }
    for row in media.into_iter().filter(|m| visible(&m.case_id)) {
        let id = row.id;
        let media = shape::media(row)?;
        out.insert((EntityKind::Media, id), PulledRecord::Media { media });
    }
    let signatures = signatures.into_iter().filter(|s| visible(&s.case_id));
    for signature in crate::signing::signatures(db, signatures.collect()).await? {
        let id = signature.id.0;
        let record = PulledRecord::Signature { signature };
        out.insert((EntityKind::Signature, id), record);
    }
    Ok(())
}

/// The records of `out` in the order of the page's `rows` (a removal as such), then the cases
/// `resent` for what the page changed in them.
fn in_page_order(
    rows: &[change_log::Model],
    mut out: HashMap<(EntityKind, Uuid), PulledRecord>,
    resent: Vec<Uuid>,
) -> Result<Vec<PulledRecord>, DbErr> {
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
