//! What a supervisor reviews of one case (`GET /api/v1/cases/{id}`): the row with what is due
//! and its version, every attempt with its participants, the evidence files with their links,
//! the documents, the reviews, the moves, the conflicts sync kept and the participants' signatures
//! (R21), each oldest first, with how each attempt's confirmation stands.

use sync_protocol::detail::{CaseDetail, CaseMove, MediaLink};

use super::parse_stored;
use crate::auth::AuthUser;
use crate::db;
use crate::db::entity::case;
use crate::error::ApiError;
use crate::state::AppState;
use crate::sync::shape;

/// The detail of case `id` if `user` sees it (else 404, like a missing one), the read recorded in
/// the audit log (R23: a minor's family circumstances) with the client's address `from`.
pub async fn read(
    state: &AppState,
    user: &AuthUser,
    from: std::net::IpAddr,
    id: sync_protocol::CaseId,
) -> Result<CaseDetail, ApiError> {
    let row = db::cases::find(&state.db.read, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let action = crate::audit::Action::ReadCase;
    let none = serde_json::json!({});
    crate::audit::record(
        &state.db.write,
        user,
        Some(from),
        action,
        Some(row.id),
        none,
    )
    .await?;
    detail(state, row).await
}

/// The detail of case `row` (already found in the caller's scope).
pub async fn detail(state: &AppState, row: case::Model) -> Result<CaseDetail, ApiError> {
    let db = &state.db.read;
    let row_id = row.id;
    let ids = db::case_parts::of_case(db, row.id).await?;
    let of_kind = |kind| {
        ids.iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| *id)
            .collect()
    };
    let mut parts = db::case_parts::by_id(db, of_kind).await?;
    parts.documents.sort_by_key(|d| (d.created_at, d.id));
    parts.reviews.sort_by_key(|r| (r.created_at, r.id));
    parts.conflicts.sort_by_key(|c| (c.created_at, c.id));
    parts.media.sort_by_key(|m| (m.created_at, m.id));
    parts.signatures.sort_by_key(|s| (s.received_at, s.id));
    let devices =
        db::users::of_devices(db, parts.conflicts.iter().map(|c| c.losing_device_id)).await?;
    let attempts = db::cases::attempts(db, row.id)
        .await?
        .into_iter()
        .map(|(a, p)| super::attempt_view(&state.sealer, a, p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let moves = db::cases::moves_of(db, row.id)
        .await?
        .into_iter()
        .map(|m| {
            Ok::<_, anyhow::Error>(CaseMove {
                from: parse_stored(&m.from_status)?,
                to: parse_stored(&m.to_status)?,
                moved_by: m.moved_by.into(),
                moved_at: m.moved_at,
                recorded_at: m.recorded_at,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CaseDetail {
        case: super::view(state, db, row).await?,
        attempts,
        media: parts
            .media
            .into_iter()
            .map(|m| shape::media(m).map(MediaLink::of))
            .collect::<Result<_, _>>()?,
        documents: parts
            .documents
            .into_iter()
            .map(shape::document)
            .collect::<Result<_, _>>()?,
        reviews: parts
            .reviews
            .into_iter()
            .map(shape::review)
            .collect::<Result<_, _>>()?,
        moves,
        conflicts: parts
            .conflicts
            .into_iter()
            .map(|c| shape::conflict(&state.sealer, c, &devices))
            .collect::<Result<_, _>>()?,
        signatures: crate::signing::signatures(db, parts.signatures).await?,
        confirmations: Vec::new(),
        flags: crate::plausibility::review::of_cases(db, vec![row_id]).await?,
    }
    .confirmed())
}
