//! Today (今日待办), the console's landing page: what is overdue and what falls due within a
//! week on the cases of the user's scope, the write-offs waiting for the bureau, and the open
//! cases by township and school with a chart drawn on the server (SVG, no script).

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use maud::{Markup, html};
use sync_protocol::cases::{DueCase, DueEntry, DueQuery};
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::db;
use crate::error::ApiError;
use crate::reports::labels;
use crate::state::AppState;

/// How far ahead "due soon" looks.
const SOON_DAYS: i64 = 7;
/// Most cases the page walks for what is due (the API's largest page).
const WALKED: u64 = 500;

/// One school's open cases, for the chart.
struct SchoolCount {
    township: String,
    school: String,
    open: u64,
}

/// `GET /console`.
pub async fn page(State(state): State<AppState>, who: ConsoleUser) -> Response {
    match render(&state, &who).await {
        Ok(body) => page::answer(axum::http::StatusCode::OK, body),
        Err(e) => page::failed(&e),
    }
}

/// Whether `entry` is overdue or falls due within [`SOON_DAYS`] of `today`.
fn soon(entry: &DueEntry, today: NaiveDate) -> bool {
    entry.overdue
        || entry
            .item
            .due_on
            .is_some_and(|d| d <= today + Duration::days(SOON_DAYS))
}

async fn render(state: &AppState, who: &ConsoleUser) -> Result<Markup, ApiError> {
    let user = &who.user;
    let today = crate::calendar::china_date(chrono::Utc::now());
    let query = DueQuery {
        overdue: None,
        org_unit_id: None,
        after: None,
        limit: None,
    };
    let due = crate::cases::due_list::walk(state, user, &query, WALKED).await?;
    let near: Vec<&DueCase> = due
        .cases
        .iter()
        .filter(|c| c.items.iter().any(|i| soon(i, today)))
        .collect();
    let overdue = due
        .cases
        .iter()
        .filter(|c| c.items.iter().any(|i| i.overdue))
        .count();
    let closures = db::console::closures_waiting(&state.db.read, user.scope()).await?;
    let (_, unreviewed) = db::console::unreviewed(&state.db.read, user.scope(), 0).await?;
    let pupils =
        db::cases::student_names(&state.db.read, closures.iter().map(|c| c.student_id)).await?;
    let counts = school_counts(state, user.scope()).await?;
    let open: u64 = counts.iter().map(|c| c.open).sum();
    let schools = near.iter().map(|c| c.school_id.0).collect();
    let names = db::org::unit_names(&state.db.read, schools).await?;
    let frame = super::frame(state, user).await?;
    let body = html! {
        h1 { "今日待办" small { " " (today) } }
        div.tiles {
            div.tile { "逾期案件" b.overdue { (overdue) } }
            div.tile { (SOON_DAYS) "日内到期" b { (near.len()) } }
            a.tile href="/console/reviews" { "待审批核销" b { (closures.len()) } }
            a.tile href="/console/reviews" { "待审核材料" b { (unreviewed) } }
            div.tile { "在办案件" b { (open) } }
        }
        section {
            h2 { "逾期与" (SOON_DAYS) "日内到期事项" }
            (due_table(&near, &names, today))
        }
        section {
            h2 { "待审批核销" }
            (super::queue::closures_list(&closures, &pupils))
        }
        section {
            h2 { "各乡镇、学校在办案件" }
            (chart(&counts))
        }
    };
    Ok(page::layout("今日待办", Some((&frame, &who.csrf)), body))
}

/// The items of `cases` that are overdue or due soon, a row each.
fn due_table(cases: &[&DueCase], schools: &HashMap<Uuid, String>, today: NaiveDate) -> Markup {
    html! {
        @if cases.is_empty() {
            p { "没有逾期或近期到期的事项。" }
        } @else {
            table {
                thead { tr { th { "学生" } th { "学校" } th { "状态" } th { "事项" } th { "期限" } } }
                tbody {
                    @for case in cases {
                        @for entry in case.items.iter().filter(|i| soon(i, today)) {
                            tr {
                                td { (case.student_name) }
                                td { (schools.get(&case.school_id.0).map_or("", String::as_str)) }
                                td { (labels::status(case.status)) }
                                td { (entry.item.hint) " （" (entry.item.rule) "）" }
                                td { (deadline(entry.item.due_on, entry.overdue)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A deadline as the page shows it.
fn deadline(due_on: Option<NaiveDate>, overdue: bool) -> Markup {
    html! {
        @match due_on {
            Some(day) if overdue => span.overdue { (day) " 已逾期" },
            Some(day) => span { (day) },
            None => span { "—" },
        }
    }
}

/// The open cases of `scope` by school, with their townships' names, township by township.
async fn school_counts(state: &AppState, scope: db::Scope) -> Result<Vec<SchoolCount>, ApiError> {
    let by_school = db::console::open_by_school(&state.db.read, scope).await?;
    let schools = db::org::units(&state.db.read, by_school.keys().copied().collect()).await?;
    let townships: Vec<Uuid> = schools.values().filter_map(|s| s.township_id).collect();
    let township_names = db::org::unit_names(&state.db.read, townships).await?;
    let mut sorted: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (id, open) in by_school {
        let Some(school) = schools.get(&id) else {
            continue;
        };
        let township = school
            .township_id
            .and_then(|t| township_names.get(&t).cloned())
            .unwrap_or_default();
        sorted.insert((township, school.name.clone()), open);
    }
    Ok(sorted
        .into_iter()
        .map(|((township, school), open)| SchoolCount {
            township,
            school,
            open,
        })
        .collect())
}

/// A horizontal bar per school, scaled to the largest; it shrinks with the page.
fn chart(counts: &[SchoolCount]) -> Markup {
    const ROW: usize = 24;
    const LABEL: usize = 220;
    const BARS: usize = 300;
    let most = counts.iter().map(|c| c.open).max().unwrap_or(1).max(1);
    let height = ROW * counts.len().max(1);
    let width = LABEL + BARS + 40;
    html! {
        @if counts.is_empty() {
            p { "范围内没有在办案件。" }
        } @else {
            svg role="img" aria-label="各校在办案件数" viewBox={"0 0 " (width) " " (height)}
                width="100%" preserveAspectRatio="xMinYMin meet" {
                @for (i, c) in counts.iter().enumerate() {
                    @let y = i * ROW;
                    @let bar = usize::try_from(c.open * BARS as u64 / most).unwrap_or(BARS);
                    text x="0" y={(y + 16)} { (c.township) " " (c.school) }
                    rect x=(LABEL) y={(y + 4)} width=(bar.max(1)) height="16" fill="#1d4e89" {}
                    text x={(LABEL + bar + 6)} y={(y + 16)} { (c.open) }
                }
            }
        }
    }
}
