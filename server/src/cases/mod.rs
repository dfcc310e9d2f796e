//! The case ledger: reading cases and their attempts, the case machine with its roles and
//! requirements (`machine`), and what is due on them (`due`), as plain functions over a case's
//! history (`history`).

pub mod conformance;
pub mod departments;
pub mod detail;
pub mod due;
pub mod due_list;
pub mod due_store;
pub mod edits;
pub mod history;
pub mod machine;
pub mod measures;
pub mod rights;
pub mod routes;

use sync_protocol::cases::{Attempt, CaseSummary, DueItem, GeoPoint, Participant};

use crate::db::entity::{attempt, attempt_participant, case};
use crate::state::AppState;

/// A stored value that does not parse as its wire enum: the database holds something the code
/// never wrote.
pub(crate) fn parse_stored<T: std::str::FromStr<Err = String>>(value: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|e: String| anyhow::anyhow!("corrupt stored value: {e}"))
}

/// The wire view of a case row, with what is due on it.
pub fn summary(
    row: case::Model,
    student_name: String,
    due: Vec<DueItem>,
) -> anyhow::Result<CaseSummary> {
    Ok(CaseSummary {
        id: row.id.into(),
        student_id: row.student_id.into(),
        student_name,
        school_id: row.school_id.into(),
        village_id: row.village_id.into(),
        township_id: row.township_id.into(),
        status: parse_stored(&row.status)?,
        found_by: parse_stored(&row.found_by)?,
        reason: row.reason.as_deref().map(parse_stored).transpose()?,
        responsible_user_id: row.responsible_user_id.map(Into::into),
        opened_on: row.opened_on,
        relapse_count: row.relapse_count,
        closure_reason: row
            .closure_reason
            .as_deref()
            .map(parse_stored)
            .transpose()?,
        due,
        updated_at: row.updated_at,
        version: row.version,
    })
}

/// The wire view of an attempt row and its participants, its free text opened.
pub fn attempt_view(
    sealer: &crate::personal_data::Sealer,
    row: attempt::Model,
    participants: Vec<attempt_participant::Model>,
) -> anyhow::Result<Attempt> {
    let row = crate::db::attempts::opened(sealer, row)?;
    let location = match (row.lat, row.lon) {
        (Some(lat), Some(lon)) => Some(GeoPoint {
            lat,
            lon,
            accuracy_m: row.accuracy_m,
        }),
        _ => None,
    };
    Ok(Attempt {
        id: row.id.into(),
        case_id: row.case_id.into(),
        kind: parse_stored(&row.kind)?,
        occurred_at: row.occurred_at,
        location,
        participants: participants
            .into_iter()
            .map(|p| -> anyhow::Result<Participant> {
                Ok(Participant {
                    user_id: p.user_id.map(Into::into),
                    name: p.name,
                    unit: p.unit,
                    department: p.department.as_deref().map(parse_stored).transpose()?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
        met_whom: row.met_whom,
        guardian_statement: row.guardian_statement,
        outcome: parse_stored(&row.outcome)?,
        next_step: row.next_step,
        notes: row.notes,
        author_id: row.author_id.into(),
        created_at: row.created_at,
    })
}

/// The wire views of case rows, with their students' names and what is due on each (as kept
/// by [`due_store`]), each beside its row, in the rows' order.
pub async fn views(
    state: &AppState,
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<case::Model>,
) -> Result<Vec<(CaseSummary, case::Model)>, sea_orm::DbErr> {
    let names = crate::db::cases::student_names(db, rows.iter().map(|c| c.student_id)).await?;
    let mut due = due_store::of(db, state, &rows).await?;
    rows.into_iter()
        .map(|row| {
            let name = names.get(&row.student_id).cloned().unwrap_or_default();
            let due = due.remove(&row.id).unwrap_or_default();
            summary(row.clone(), name, due)
                .map(|s| (s, row))
                .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))
        })
        .collect()
}

/// The wire view of one case row (see [`views`]).
pub async fn view(
    state: &AppState,
    db: &impl sea_orm::ConnectionTrait,
    row: case::Model,
) -> Result<CaseSummary, sea_orm::DbErr> {
    views(state, db, vec![row])
        .await?
        .pop()
        .map(|(summary, _)| summary)
        .ok_or_else(|| sea_orm::DbErr::Custom("a case view went missing".into()))
}
