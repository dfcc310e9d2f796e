//! The review queue (待审核): what waits for the bureau in the user's scope, the longest
//! waiting first — the write-off (and deferral) requests, the attempts and documents no review
//! has judged yet, and the open plausibility flags, each linking to its place on the case page.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use sync_protocol::evidence::ReviewTarget;
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::db;
use crate::db::console::Unreviewed;
use crate::db::entity::case;
use crate::error::ApiError;
use crate::reports::labels;
use crate::state::AppState;

/// Records of evidence the page lists.
const SHOWN: u64 = 100;

/// `GET /console/reviews`.
pub async fn page(State(state): State<AppState>, who: ConsoleUser) -> Response {
    match render(&state, &who).await {
        Ok(body) => page::answer(StatusCode::OK, body),
        Err(e) => page::failed(&e),
    }
}

async fn render(state: &AppState, who: &ConsoleUser) -> Result<Markup, ApiError> {
    let scope = who.user.scope();
    let closures = db::console::closures_waiting(&state.db.read, scope).await?;
    let (evidence, total) = db::console::unreviewed(&state.db.read, scope, SHOWN).await?;
    let flags = match crate::plausibility::review::listed(state, &who.user, false).await {
        Err(ApiError::Forbidden(_)) => Vec::new(),
        listed => listed?,
    };
    let named = evidence
        .iter()
        .map(|e| e.case_id)
        .chain(flags.iter().map(|f| f.case_id.0));
    let rows = db::cases::by_id_in_scope(&state.db.read, scope, named).await?;
    let students = rows
        .values()
        .chain(&closures)
        .map(|c| c.student_id)
        .collect::<Vec<_>>();
    let pupils = db::cases::student_names(&state.db.read, students.into_iter()).await?;
    let now = Utc::now();
    let body = html! {
        h1 { "待审核" }
        section {
            h2 { "待审批核销（" (closures.len()) "）" }
            (closures_list(&closures, &pupils))
        }
        section {
            h2 { "待审核材料（共 " (total) " 条" @if total > SHOWN { "，最早的 " (SHOWN) " 条" } "）" }
            (evidence_table(&evidence, &rows, &pupils, now))
        }
        section {
            h2 { "存疑提示（" (flags.len()) "）" }
            (super::flags::queue(&flags, &rows, &pupils))
        }
    };
    let frame = super::frame(state, &who.user).await?;
    Ok(page::layout("待审核", Some((&frame, &who.csrf)), body))
}

/// The rows whose write-off (or deferral) waits for the bureau, each linking to its case page,
/// with their students' `pupils` names.
pub fn closures_list(closures: &[case::Model], pupils: &HashMap<Uuid, String>) -> Markup {
    let reason = |c: &case::Model| {
        c.closure_reason
            .as_deref()
            .and_then(|r| r.parse().ok())
            .map_or("", labels::closure)
    };
    html! {
        @if closures.is_empty() {
            p { "没有等待审批的核销申请。" }
        } @else {
            ul.closures {
                @for case in closures {
                    li {
                        a href=(format!("/console/cases/{}", case.id)) {
                            (pupils.get(&case.student_id).map_or("", String::as_str))
                        }
                        " · " (case.opened_on) " 起 · 申请核销：" (reason(case))
                    }
                }
            }
        }
    }
}

/// The evidence waiting, oldest first, each linking to its record on its case page.
fn evidence_table(
    evidence: &[Unreviewed],
    cases: &HashMap<Uuid, case::Model>,
    pupils: &HashMap<Uuid, String>,
    now: DateTime<Utc>,
) -> Markup {
    let what = |e: &Unreviewed| match e.target {
        ReviewTarget::Attempt => e.what.parse().map_or("劝返记录", labels::attempt_kind),
        _ => e.what.parse().map_or("文书", labels::document_type),
    };
    let student = |e: &Unreviewed| {
        cases
            .get(&e.case_id)
            .and_then(|c| pupils.get(&c.student_id))
            .map_or("", String::as_str)
    };
    html! {
        @if evidence.is_empty() {
            p { "没有待审核的材料。" }
        } @else {
            table.queue {
                thead { tr { th { "收到时间" } th { "已等待" } th { "学生" } th { "材料" } } }
                tbody {
                    @for e in evidence {
                        tr {
                            td { (page::china_time(e.received_at)) }
                            td { ((now - e.received_at).num_days()) " 天" }
                            td { (student(e)) }
                            td {
                                a href=(format!("/console/cases/{}#{}-{}", e.case_id, e.target.as_str(), e.id)) { (what(e)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
