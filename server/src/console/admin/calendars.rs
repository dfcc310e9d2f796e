//! Holiday schedules (节假日安排): which years have the State Council's schedule loaded, which
//! are missing (working-day deadlines cannot be counted in them), and a form to load or replace
//! a year's: its notice, its holidays one range a line, and its adjusted working days (调休上班).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;
use sync_protocol::calendar::{HolidayRange, YearSchedule};

use super::super::page;
use super::super::session::ConsoleUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Where the page is.
const HERE: &str = "/console/admin/calendars";

/// The load form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoadForm {
    csrf: String,
    year: String,
    source: String,
    holidays: String,
    working_days: String,
}

/// `GET /console/admin/calendars`.
pub async fn page(State(state): State<AppState>, who: ConsoleUser) -> Response {
    if let Some(refused) = super::not_admin(&who) {
        return refused;
    }
    let calendar = match state.calendar().await {
        Ok(calendar) => calendar,
        Err(e) => return page::failed(&ApiError::Internal(e.into())),
    };
    let years: Vec<(i32, String)> = calendar
        .years()
        .map(|(year, source)| (year, source.to_owned()))
        .collect();
    let missing = calendar.missing(chrono::Utc::now().date_naive());
    let body = render(&years, &missing, &who.csrf);
    super::shown(&state, &who, "节假日安排", body).await
}

fn render(years: &[(i32, String)], missing: &[i32], csrf: &str) -> Markup {
    html! {
        h1 { "节假日安排" }
        section {
            h2 { "已载入" }
            ul { @for (year, source) in years { li { (year) " 年：" (source) } } }
            @if !missing.is_empty() {
                p.error { "缺少 " @for (i, y) in missing.iter().enumerate() { @if i > 0 { "、" } (y) } " 年的安排：这些年份的工作日期限无法计算，请载入国务院办公厅的通知。" }
            }
        }
        section {
            h2 { "载入或替换一年的安排" }
            form.admin method="post" action=(HERE) {
                input type="hidden" name="csrf" value=(csrf);
                label { "年份 " input name="year" type="number" min="2000" max="2100" required; }
                label { "通知（名称、文号、日期） " input name="source" required; }
                label { "放假日期（每行一段：起始日 结束日；单日只写一个日期）"
                    textarea name="holidays" rows="8" placeholder="2027-01-01\n2027-02-06 2027-02-14" {}
                }
                label { "调休上班日期（每行一个）"
                    textarea name="working_days" rows="4" placeholder="2027-02-20" {}
                }
                button type="submit" { "载入" }
            }
        }
    }
}

/// The dates of `line`: one or two `YYYY-MM-DD`, separated by spaces, `~`, `～` or `至`.
fn dates(line: &str) -> Result<Vec<NaiveDate>, String> {
    line.split(|c: char| c.is_whitespace() || matches!(c, '~' | '～' | '至' | ',' | '，'))
        .filter(|part| !part.is_empty())
        .map(|part| {
            NaiveDate::parse_from_str(part, "%Y-%m-%d")
                .map_err(|_| format!("「{part}」不是日期（应写作 2027-01-01）。"))
        })
        .collect()
}

/// The schedule the form describes, or what is wrong with it in words.
fn schedule(form: &LoadForm) -> Result<YearSchedule, String> {
    let year = form
        .year
        .trim()
        .parse::<i32>()
        .map_err(|_| format!("「{}」不是年份。", form.year))?;
    let mut holidays = Vec::new();
    for line in form.holidays.lines().filter(|l| !l.trim().is_empty()) {
        holidays.push(match dates(line)?.as_slice() {
            [day] => HolidayRange {
                first: *day,
                last: *day,
            },
            [first, last] => HolidayRange {
                first: *first,
                last: *last,
            },
            _ => return Err(format!("「{}」应是一个日期或一段日期。", line.trim())),
        });
    }
    let mut adjusted_working_days = Vec::new();
    for line in form.working_days.lines() {
        adjusted_working_days.extend(dates(line)?);
    }
    Ok(YearSchedule {
        year,
        source: form.source.trim().to_owned(),
        holidays,
        adjusted_working_days,
    })
}

/// `POST /console/admin/calendars`: loads (or replaces) a year's schedule.
pub async fn load(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    axum::Form(form): axum::Form<LoadForm>,
) -> Response {
    if let Some(refused) = super::guard(&who, &form.csrf) {
        return refused;
    }
    let schedule = match schedule(&form) {
        Ok(schedule) => schedule,
        Err(why) => return page::refused(StatusCode::BAD_REQUEST, &why),
    };
    let year = schedule.year;
    match crate::calendar::routes::load(&state, &who.user, peer.ip(), year, &schedule).await {
        Ok(()) => Redirect::to(HERE).into_response(),
        Err(ApiError::Malformed { .. }) => page::refused(
            StatusCode::BAD_REQUEST,
            "安排不成立：请检查日期是否都在该年内、每段的起止次序，以及调休上班日是否为周末。",
        ),
        Err(e) => page::refusal(&e),
    }
}
