//! What is due on each case, kept up to date as the case changes (issue 21), so that a pull or
//! a list reads one stored row per case instead of rebuilding it from the case's whole history.
//!
//! - Every writing transaction that changes a case's row, moves, attempts, documents or reviews
//!   ends with [`append`]: it appends its changes and marks the stored items of the cases they
//!   changed stale, in the same transaction (one statement: a push pays nothing more).
//! - The keeper ([`keep`], started with the server) recomputes the stale rows a few at a time,
//!   about [`KEEPER_PERIOD`] after the writes stop marking more (and at least every
//!   [`KEEPER_MAX_DEFER`] while they go on, so a steady stream of pushes does not pay for it
//!   twice): it takes the change counter first (so no writer changes a case between its history
//!   being read and its items being stored), reads each history without the evidence the due
//!   rules never read, and stores the items with their *basis*: the leaving age and the marks of
//!   the holiday schedules they were computed with.
//! - A read ([`of`]) takes the stored items whose basis is the server's current one and
//!   computes the others from their histories, as every read did before: nothing is served
//!   stale, only slower until the keeper has caught up.
//! - [`backfill`] recomputes every row whose basis is not the current one, a page at a time:
//!   when the keeper starts and after a holiday schedule is loaded.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait as _};
use sync_protocol::cases::DueItem;
use uuid::Uuid;

use super::{due, history};
use crate::db::changes::ChangeSet;
use crate::db::entity::{case, case_due};
use crate::state::{AppState, LoadedCalendar};

/// Cases recomputed per transaction by [`backfill`].
pub const PAGE: u64 = 500;
/// Stale cases the keeper recomputes per transaction: few, so that a push waiting for the
/// database is not held up for long.
pub const KEEPER_BATCH: u64 = 100;
/// How often the keeper looks for stale rows, and how long their number must hold still before
/// it recomputes them.
pub const KEEPER_PERIOD: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest the keeper waits for writes to pause before recomputing a batch anyway.
pub const KEEPER_MAX_DEFER: std::time::Duration = std::time::Duration::from_secs(2);

/// What stored items were computed with besides the history: the leaving age and the marks of
/// the stored holiday schedules.
fn basis(leaving_age: u32, calendar: &LoadedCalendar) -> String {
    let marks: Vec<String> = calendar
        .marks()
        .iter()
        .map(|(year, at)| format!("{year}@{}", at.timestamp_micros()))
        .collect();
    format!("leaving_age={leaving_age};calendars={}", marks.join(","))
}

fn calendar_error(e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("reading the holiday schedules: {e}"))
}

/// Appends `changes` in `txn` and marks what is stored as due on the cases they changed stale,
/// for the keeper. Call it last, right before commit.
pub async fn append(txn: &impl ConnectionTrait, changes: ChangeSet) -> Result<(), DbErr> {
    let appended = changes.append(txn).await?;
    let ids: Vec<Uuid> = appended.cases.into_iter().collect();
    crate::db::due::mark_stale(txn, &ids).await
}

/// Computes what is due on `rows` from their histories as `db` sees them and stores it.
async fn refresh(
    db: &impl ConnectionTrait,
    state: &AppState,
    rows: &[case::Model],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let calendar = state.calendar().await.map_err(calendar_error)?;
    let basis = basis(state.config.leaving_age, &calendar);
    let computed = compute(db, state, &calendar, rows).await?;
    let mut stored = Vec::with_capacity(computed.len());
    for (case_id, items) in computed {
        let items = serde_json::to_string(&items).map_err(|e| DbErr::Custom(e.to_string()))?;
        stored.push(case_due::Model {
            case_id,
            items,
            basis: basis.clone(),
        });
    }
    crate::db::due::store(db, stored).await
}

/// What is due on `rows`, from their histories.
async fn compute(
    db: &impl ConnectionTrait,
    state: &AppState,
    calendar: &LoadedCalendar,
    rows: &[case::Model],
) -> Result<HashMap<Uuid, Vec<DueItem>>, DbErr> {
    let histories = history::load_for_due(db, rows, state.config.leaving_age).await?;
    Ok(histories
        .into_iter()
        .map(|(id, h)| (id, due::due_or_calendar_missing(&h, calendar)))
        .collect())
}

/// What is due on each of `rows`, by case: stored where it is current, computed from the
/// history where not.
pub async fn of(
    db: &impl ConnectionTrait,
    state: &AppState,
    rows: &[case::Model],
) -> Result<HashMap<Uuid, Vec<DueItem>>, DbErr> {
    let calendar = state.calendar().await.map_err(calendar_error)?;
    let basis = basis(state.config.leaving_age, &calendar);
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut stored = crate::db::due::stored(db, &ids).await?;
    let mut out = HashMap::with_capacity(rows.len());
    let mut stale = Vec::new();
    for row in rows {
        let current = stored
            .remove(&row.id)
            .filter(|s| s.basis == basis)
            .and_then(|s| serde_json::from_str::<Vec<DueItem>>(&s.items).ok());
        match current {
            Some(items) => {
                out.insert(row.id, items);
            }
            None => stale.push(row.clone()),
        }
    }
    if !stale.is_empty() {
        out.extend(compute(db, state, &calendar, &stale).await?);
    }
    Ok(out)
}

/// Recomputes every stored row that is missing or stale, [`PAGE`] cases per transaction, and
/// answers how many it recomputed. Each transaction holds the change counter first, so no
/// writer changes a case between its history being read and its items being stored.
pub async fn backfill(state: &AppState) -> Result<u64, DbErr> {
    let mut after = None;
    let mut recomputed = 0u64;
    loop {
        let page = crate::db::cases::all_page(&state.db.read, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(recomputed);
        };
        after = Some(last.id);
        let calendar = state.calendar().await.map_err(calendar_error)?;
        let basis = basis(state.config.leaving_age, &calendar);
        let ids: Vec<Uuid> = page.iter().map(|c| c.id).collect();
        let stored = crate::db::due::stored(&state.db.read, &ids).await?;
        let stale: Vec<Uuid> = ids
            .into_iter()
            .filter(|id| stored.get(id).is_none_or(|s| s.basis != basis))
            .collect();
        if stale.is_empty() {
            continue;
        }
        let txn = state.db.write.begin().await?;
        crate::db::changes::hold_writers(&txn).await?;
        let rows = crate::db::cases::by_ids(&txn, &stale).await?;
        refresh(&txn, state, &rows).await?;
        txn.commit().await?;
        recomputed += u64::try_from(rows.len()).unwrap_or(u64::MAX);
        tracing::info!(recomputed, "due items brought up to date");
    }
}

/// Runs [`backfill`] in the background, logging its end or its failure.
pub fn spawn_backfill(state: AppState) {
    tokio::spawn(async move { log_backfill(&state).await });
}

async fn log_backfill(state: &AppState) {
    match backfill(state).await {
        Ok(0) => {}
        Ok(recomputed) => tracing::info!(recomputed, "every case's due items are current"),
        Err(e) => tracing::error!(error = %e, "bringing due items up to date failed"),
    }
}

/// Recomputes up to [`KEEPER_BATCH`] rows marked stale by [`append`], in one transaction that
/// holds the change counter; answers how many.
pub async fn refresh_stale(state: &AppState) -> Result<usize, DbErr> {
    let stale = crate::db::due::stale(&state.db.read, KEEPER_BATCH).await?;
    if stale.is_empty() {
        return Ok(0);
    }
    let txn = state.db.write.begin().await?;
    crate::db::changes::hold_writers(&txn).await?;
    let rows = crate::db::cases::by_ids(&txn, &stale).await?;
    refresh(&txn, state, &rows).await?;
    txn.commit().await?;
    Ok(stale.len())
}

/// The keeper: brings every row up to date ([`backfill`]), then recomputes the rows [`append`]
/// marks stale, once writes pause, until the server stops.
pub async fn keep(state: AppState) {
    log_backfill(&state).await;
    // Stale rows when last looked, and how long the keeper has waited for writes to pause.
    let (mut seen, mut deferred) = (0, std::time::Duration::ZERO);
    loop {
        let step = async {
            let stale = crate::db::due::count_stale(&state.db.read).await?;
            if stale == 0 || (stale > seen && deferred < KEEPER_MAX_DEFER) {
                // Nothing to do, or writers still marking more: look again shortly.
                deferred = if stale == 0 {
                    std::time::Duration::ZERO
                } else {
                    deferred + KEEPER_PERIOD
                };
                seen = stale;
                tokio::time::sleep(KEEPER_PERIOD).await;
                return Ok::<_, DbErr>(());
            }
            refresh_stale(&state).await?;
            seen = crate::db::due::count_stale(&state.db.read).await?;
            deferred = std::time::Duration::ZERO;
            Ok(())
        };
        if let Err(e) = step.await {
            tracing::error!(error = %e, "recomputing stale due items failed; trying again");
            tokio::time::sleep(KEEPER_PERIOD * 10).await;
        }
    }
}
