//! The case list (案件): the rows of the user's scope, filtered by status and school and searched
//! by the student's name or roll number, a page at a time, each with what is due next.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use sync_protocol::cases::{CaseStatus, CaseSummary};
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::db;
use crate::error::ApiError;
use crate::reports::labels;
use crate::state::AppState;

/// Rows per page.
const PAGE: u64 = 50;

/// What the filter form asks (every field optional; empty means any).
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    status: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

/// `GET /console/cases`.
pub async fn page(
    State(state): State<AppState>,
    who: ConsoleUser,
    Query(search): Query<Search>,
) -> Response {
    let filter = match filter(&search) {
        Ok(filter) => filter,
        Err(why) => return page::refused(StatusCode::BAD_REQUEST, &why),
    };
    match render(&state, &who, &search, &filter).await {
        Ok(body) => page::answer(StatusCode::OK, body),
        Err(e) => page::failed(&e),
    }
}

/// The query the form asks for, checked: a status, a school id and a page mark, each if given.
fn filter(search: &Search) -> Result<db::cases::CaseFilter, String> {
    let id = |text: &str, what: &str| {
        (!text.is_empty())
            .then(|| {
                text.parse::<Uuid>()
                    .map_err(|_| format!("{what}「{text}」不是有效的编号。"))
            })
            .transpose()
    };
    let status = (!search.status.is_empty())
        .then(|| {
            search
                .status
                .parse::<CaseStatus>()
                .map_err(|_| format!("没有「{}」这个状态。", search.status))
        })
        .transpose()?;
    Ok(db::cases::CaseFilter {
        status: status.map(|s| s.as_str().to_owned()),
        school_id: id(&search.school, "学校")?,
        student: Some(search.q.trim().to_owned()),
        after: id(&search.after, "分页")?,
        ..db::cases::CaseFilter::default()
    })
}

async fn render(
    state: &AppState,
    who: &ConsoleUser,
    search: &Search,
    filter: &db::cases::CaseFilter,
) -> Result<Markup, ApiError> {
    let rows = db::cases::list(&state.db.read, who.user.scope(), filter, PAGE).await?;
    let full = rows.len() as u64 == PAGE;
    let cases: Vec<CaseSummary> = crate::cases::views(state, &state.db.read, rows)
        .await?
        .into_iter()
        .map(|(summary, _)| summary)
        .collect();
    let schools = db::console::open_by_school(&state.db.read, who.user.scope()).await?;
    let names = db::org::unit_names(&state.db.read, schools.keys().copied().collect()).await?;
    let mut choices: Vec<(&Uuid, &String)> = names.iter().collect();
    choices.sort_by(|a, b| a.1.cmp(b.1));
    let next = if full {
        cases.last().map(|c| c.id.0)
    } else {
        None
    };
    let body = html! {
        h1 { "案件" }
        form.filters method="get" action="/console/cases" {
            label { "状态 "
                select name="status" {
                    option value="" { "全部" }
                    @for s in CaseStatus::ALL {
                        option value=(s.as_str()) selected[search.status == s.as_str()] { (labels::status(*s)) }
                    }
                }
            }
            " "
            label { "学校 "
                select name="school" {
                    option value="" { "全部" }
                    @for (id, name) in &choices {
                        option value=(id) selected[search.school == id.to_string()] { (name) }
                    }
                }
            }
            " "
            label { "姓名或学籍号 " input name="q" value=(search.q) {} }
            " "
            button type="submit" { "查询" }
        }
        section {
            @if cases.is_empty() {
                p { "没有符合条件的案件。" }
            } @else {
                table.cases {
                    thead { tr { th { "学生" } th { "学校" } th { "状态" } th { "立案日期" } th { "下一步" } } }
                    tbody {
                        @for case in &cases {
                            tr {
                                td { a href=(format!("/console/cases/{}", case.id)) { (case.student_name) } }
                                td { (names.get(&case.school_id.0).map_or("", String::as_str)) }
                                td { (labels::status(case.status)) }
                                td { (case.opened_on) }
                                td { (case.due.first().map_or("—", |d| d.hint.as_str())) }
                            }
                        }
                    }
                }
            }
            @if let Some(after) = next {
                p { a href=(format!("/console/cases?status={}&school={}&q={}&after={after}", search.status, search.school, encode(&search.q))) { "下一页" } }
            }
        }
    };
    let frame = super::frame(state, &who.user).await?;
    Ok(page::layout("案件", Some((&frame, &who.csrf)), body))
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
