//! Monthly and term statistics (R22), as things stood at the period's end: how many cases were
//! open, new, out as dropouts, returned and closed, the dropout rate, and the dropouts by reason,
//! grade and class, with the special groups (orphans, left-behind, disabled…) counted
//! separately. Computed a page of cases at a time; aggregates only, no personal data.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::cases::CaseStatus;
use sync_protocol::reports::{ClassCount, GroupCounts, Statistics};
use uuid::Uuid;

use super::ledger::{LedgerFilter, case_page, closed_on};
use crate::cases::history::{self, CaseHistory};
use crate::db::entity::{case, student};
use crate::db::{self, Scope};

/// Whether a row standing at `status` is a dropout the bureau counts: reported and out of
/// school (in joint persuasion or a compulsory return included; a deferred or suspended child is
/// no longer counted, seed 001 §一 (7)).
fn dropout(status: CaseStatus) -> bool {
    matches!(
        status,
        CaseStatus::Reported | CaseStatus::JointPersuasion | CaseStatus::CompulsoryReturn
    )
}

/// The statistics of `filter`'s period in `scope` (children leaving over-age at `leaving_age`;
/// `sealer` opens what the histories read).
pub async fn statistics(
    db: &impl ConnectionTrait,
    sealer: &crate::personal_data::Sealer,
    scope: Scope,
    filter: LedgerFilter,
    leaving_age: u32,
) -> Result<Statistics, DbErr> {
    let enrolled = db::students::count(db, scope, filter.org_unit).await?;
    let mut stats = Statistics {
        from: filter.from,
        to: filter.to,
        org_unit_id: filter.org_unit,
        enrolled,
        open_cases: 0,
        new_cases: 0,
        dropouts: 0,
        dropout_rate_percent: 0.0,
        returned: 0,
        closed: 0,
        by_status: BTreeMap::new(),
        by_reason: BTreeMap::new(),
        by_grade: BTreeMap::new(),
        by_class: Vec::new(),
        special_groups: GroupCounts::default(),
    };
    let mut classes = Classes::new();
    let mut after = None;
    loop {
        let cases = case_page(db, scope, &filter, after).await?;
        let full = cases.len() as u64 == super::ledger::PAGE;
        after = cases.last().map(|c| c.id);
        let mut histories = history::load(db, sealer, &cases, leaving_age).await?;
        let pupils = db::students::by_id(db, cases.iter().map(|c| c.student_id)).await?;
        for c in &cases {
            let Some(h) = histories.remove(&c.id) else {
                continue;
            };
            let closed = closed_on(c, &h);
            if !filter.holds(c, closed) {
                continue;
            }
            let pupil = pupils.get(&c.student_id);
            count_case(&mut stats, &mut classes, &filter, c, &h, closed, pupil);
        }
        if !full {
            break;
        }
    }
    let schools = db::org::unit_names(db, classes.keys().map(|k| k.0).collect()).await?;
    stats.by_class = classes
        .into_iter()
        .map(|((school_id, grade, class_name), dropouts)| ClassCount {
            school_id,
            school: schools.get(&school_id).cloned().unwrap_or_default(),
            grade,
            class_name,
            dropouts,
        })
        .collect();
    if enrolled > 0 {
        let rate = stats.dropouts as f64 * 100.0 / enrolled as f64;
        stats.dropout_rate_percent = (rate * 100.0).round() / 100.0;
    }
    Ok(stats)
}

/// The reported dropouts by school, grade and class.
type Classes = BTreeMap<(Uuid, i32, String), u64>;

/// Counts case `c`, with its history `h`, the day it closed and its student, into `stats`, and a
/// reported dropout into its class.
fn count_case(
    stats: &mut Statistics,
    classes: &mut Classes,
    filter: &LedgerFilter,
    c: &case::Model,
    h: &CaseHistory,
    closed: Option<NaiveDate>,
    pupil: Option<&student::Model>,
) {
    let in_period = |day: NaiveDate| filter.from <= day && day <= filter.to;
    let at_end = h.status_on(filter.to);
    stats.open_cases += 1;
    stats.new_cases += u64::from(in_period(c.opened_on));
    stats.closed += u64::from(closed.is_some_and(in_period));
    stats.returned += u64::from(h.moves.iter().any(|m| {
        matches!(m.to, CaseStatus::Returned | CaseStatus::VocationalSchool) && in_period(m.on)
    }));
    *stats
        .by_status
        .entry(at_end.as_str().to_owned())
        .or_default() += 1;
    if !dropout(at_end) {
        return;
    }
    stats.dropouts += 1;
    let reason = h.reason.map_or("unknown", |r| r.as_str());
    *stats.by_reason.entry(reason.to_owned()).or_default() += 1;
    if let Some(s) = pupil {
        *stats.by_grade.entry(s.grade).or_default() += 1;
        *classes
            .entry((s.school_id, s.grade, s.class_name.clone()))
            .or_default() += 1;
        let g = &mut stats.special_groups;
        g.left_behind += u64::from(s.left_behind);
        g.orphan += u64::from(s.orphan);
        g.disabled += u64::from(s.disabled);
        g.poor_household += u64::from(s.poor_household);
        g.migrant += u64::from(s.migrant);
    }
}
