//! The case list (案件): the rows of the user's scope, filtered by status, reason, school,
//! township, special group and whether something is overdue, and searched by the student's
//! name or roll number, a page at a time, each with what is due next.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use sync_protocol::cases::{CaseStatus, CaseSummary, ReasonCategory};
use sync_protocol::students::SpecialGroup;
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
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Search {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    group: String,
    /// "1" for only the rows with something overdue.
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

/// The schools and townships of the user's scope that have rows, by name, for the form.
struct Choices {
    schools: Vec<(Uuid, String)>,
    townships: Vec<(Uuid, String)>,
    names: HashMap<Uuid, String>,
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
    match render(&state, &who, &search, filter).await {
        Ok(body) => page::answer(StatusCode::OK, body),
        Err(e) => page::failed(&e),
    }
}

/// `text` parsed as a `T` if given, or the sentence saying it is not one of `what`.
fn parsed<T: std::str::FromStr>(text: &str, what: &str) -> Result<Option<T>, String> {
    (!text.is_empty())
        .then(|| {
            text.parse::<T>()
                .map_err(|_| format!("「{text}」不是有效的{what}。"))
        })
        .transpose()
}

/// The query the form asks for, checked: each value, if given, must parse.
fn filter(search: &Search) -> Result<db::cases::CaseFilter, String> {
    let status: Option<CaseStatus> = parsed(&search.status, "状态")?;
    let reason: Option<ReasonCategory> = parsed(&search.reason, "辍学原因")?;
    Ok(db::cases::CaseFilter {
        status: status.map(|s| s.as_str().to_owned()),
        reason: reason.map(|r| r.as_str().to_owned()),
        school_id: parsed(&search.school, "学校编号")?,
        township_id: parsed(&search.township, "乡镇编号")?,
        special_group: parsed(&search.group, "特殊群体")?,
        student: Some(search.q.trim().to_owned()),
        after: parsed(&search.after, "分页标记")?,
        ..db::cases::CaseFilter::default()
    })
}

/// Up to [`PAGE`] rows matching `filter`, only those with something overdue if `overdue`, and
/// the page mark of the next page if there may be one.
async fn rows(
    state: &AppState,
    who: &ConsoleUser,
    mut filter: db::cases::CaseFilter,
    overdue: bool,
) -> Result<(Vec<CaseSummary>, Option<Uuid>), ApiError> {
    let today = crate::calendar::china_date(chrono::Utc::now());
    let mut found = Vec::new();
    loop {
        let rows = db::cases::list(&state.db.read, who.user.scope(), &filter, PAGE).await?;
        let full = rows.len() as u64 == PAGE;
        filter.after = rows.last().map(|c| c.id);
        for (case, _) in crate::cases::views(state, &state.db.read, rows).await? {
            if overdue && !case.due.iter().any(|d| d.overdue_on(today)) {
                continue;
            }
            found.push(case);
            if found.len() as u64 == PAGE {
                let next = found.last().map(|c| c.id.0);
                return Ok((found, next));
            }
        }
        if !full {
            return Ok((found, None));
        }
    }
}

/// The schools and townships of `who`'s scope with rows that have not ended.
async fn choices(state: &AppState, who: &ConsoleUser) -> Result<Choices, ApiError> {
    let open = db::console::open_by_school(&state.db.read, who.user.scope()).await?;
    let schools = db::org::units(&state.db.read, open.keys().copied().collect()).await?;
    let townships = schools.values().filter_map(|s| s.township_id).collect();
    let mut names = db::org::unit_names(&state.db.read, townships).await?;
    let sorted = |ids: Vec<Uuid>, names: &HashMap<Uuid, String>| {
        let mut pairs: Vec<(Uuid, String)> = ids
            .into_iter()
            .filter_map(|id| names.get(&id).map(|n| (id, n.clone())))
            .collect();
        pairs.sort_by(|a, b| a.1.cmp(&b.1));
        pairs
    };
    let townships = sorted(names.keys().copied().collect(), &names);
    names.extend(schools.into_iter().map(|(id, s)| (id, s.name)));
    let schools = sorted(open.into_keys().collect(), &names);
    Ok(Choices {
        schools,
        townships,
        names,
    })
}

async fn render(
    state: &AppState,
    who: &ConsoleUser,
    search: &Search,
    filter: db::cases::CaseFilter,
) -> Result<Markup, ApiError> {
    let (cases, next) = rows(state, who, filter, search.overdue == "1").await?;
    let choices = choices(state, who).await?;
    let next = next.map(|after| {
        let mut query = serde_urlencoded::to_string(Search {
            after: String::new(),
            ..search.clone()
        })
        .unwrap_or_default();
        query.push_str(&format!("&after={after}"));
        query
    });
    let body = html! {
        h1 { "案件" }
        (form(search, &choices))
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
                                td { (choices.names.get(&case.school_id.0).map_or("", String::as_str)) }
                                td { (labels::status(case.status)) }
                                td { (case.opened_on) }
                                td { (case.due.first().map_or("—", |d| d.hint.as_str())) }
                            }
                        }
                    }
                }
            }
            @if let Some(query) = next {
                p { a href=(format!("/console/cases?{query}")) { "下一页" } }
            }
        }
    };
    let frame = super::frame(state, &who.user).await?;
    Ok(page::layout("案件", Some((&frame, &who.csrf)), body))
}

/// The filter form, showing what `search` asks.
fn form(search: &Search, choices: &Choices) -> Markup {
    let select = |name: &str, label: &str, current: &str, options: Vec<(String, String)>| {
        html! {
            label { (label) " "
                select name=(name) {
                    option value="" { "全部" }
                    @for (value, text) in &options {
                        option value=(value) selected[current == value] { (text) }
                    }
                }
            }
            " "
        }
    };
    let named = |pairs: &[(Uuid, String)]| {
        pairs
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone()))
            .collect()
    };
    html! {
        form.filters method="get" action="/console/cases" {
            (select("status", "状态", &search.status,
                CaseStatus::ALL.iter().map(|s| (s.as_str().to_owned(), labels::status(*s).to_owned())).collect()))
            (select("reason", "辍学原因", &search.reason,
                ReasonCategory::ALL.iter().map(|r| (r.as_str().to_owned(), labels::reason(*r).to_owned())).collect()))
            (select("township", "乡镇", &search.township, named(&choices.townships)))
            (select("school", "学校", &search.school, named(&choices.schools)))
            (select("group", "特殊群体", &search.group,
                SpecialGroup::ALL.iter().map(|g| (g.as_str().to_owned(), labels::special_group(*g).to_owned())).collect()))
            label { input type="checkbox" name="overdue" value="1" checked[search.overdue == "1"]; " 仅看逾期" }
            " "
            label { "姓名或学籍号 " input name="q" value=(search.q) {} }
            " "
            button type="submit" { "查询" }
        }
    }
}
