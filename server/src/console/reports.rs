//! Reports (报表) in the console: the ledger workbook (and its CSV) and the statistics form of a
//! month for the user's scope, and, from a case page, the case's report form and its day-5
//! written report. Each is the API's own export or page (same roles, same scope, same audit),
//! reached with the session's cookie.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use sync_protocol::CaseId;
use sync_protocol::reports::LedgerQuery;
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::error::ApiError;
use crate::reports::export::ExportFormat;
use crate::reports::routes::{EXPORTERS, ledger_file, statistics_file};
use crate::state::AppState;

/// The month a report covers, `YYYY-MM`; empty means this month.
#[derive(Debug, Default, Deserialize)]
pub struct Month {
    #[serde(default)]
    month: String,
}

impl Month {
    /// The API's query for this month (this month in China if none is given).
    fn query(&self) -> LedgerQuery {
        let month = if self.month.is_empty() {
            this_month()
        } else {
            self.month.clone()
        };
        LedgerQuery {
            from: None,
            to: None,
            month: Some(month),
            org_unit_id: None,
        }
    }
}

/// This month in China, `YYYY-MM`.
fn this_month() -> String {
    crate::calendar::china_date(chrono::Utc::now())
        .format("%Y-%m")
        .to_string()
}

/// `GET /console/reports`: the month to export and the downloads, for those who may export.
pub async fn page(State(state): State<AppState>, who: ConsoleUser) -> Response {
    let month = this_month();
    let body = html! {
        h1 { "报表" }
        section {
            @if EXPORTERS.contains(&who.user.role) {
                p { "导出您工作范围内某月的控辍保学台账和统计表（按月份统计期间）。" }
                @for (action, name) in [("ledger.xlsx", "台账（Excel）"), ("ledger.csv", "台账（CSV）"), ("statistics.xlsx", "统计表（Excel）")] {
                    form.filters method="get" action=(format!("/console/reports/{action}")) {
                        label { "月份 " input type="month" name="month" value=(month) required; }
                        " "
                        button type="submit" { "下载" (name) }
                    }
                }
            } @else {
                p { "台账和统计表由学校控辍保学负责人、乡镇和教育局导出。" }
            }
        }
    };
    match super::frame(&state, &who.user).await {
        Ok(frame) => page::answer(
            StatusCode::OK,
            page::layout("报表", Some((&frame, &who.csrf)), body),
        ),
        Err(e) => page::failed(&e),
    }
}

/// `GET /console/reports/ledger.xlsx?month=`.
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    who: ConsoleUser,
    Query(month): Query<Month>,
) -> Response {
    shown(ledger_file(state, who.user, month.query(), ExportFormat::Xlsx).await)
}

/// `GET /console/reports/ledger.csv?month=`.
pub async fn ledger_csv(
    State(state): State<AppState>,
    who: ConsoleUser,
    Query(month): Query<Month>,
) -> Response {
    shown(ledger_file(state, who.user, month.query(), ExportFormat::Csv).await)
}

/// `GET /console/reports/statistics.xlsx?month=`.
pub async fn statistics_xlsx(
    State(state): State<AppState>,
    who: ConsoleUser,
    Query(month): Query<Month>,
) -> Response {
    shown(statistics_file(&state, &who.user, &month.query()).await)
}

/// `GET /console/cases/{id}/report-form`: the case's report form, printable.
pub async fn report_form(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
) -> Response {
    let id = crate::error::Path(CaseId(id));
    shown(crate::reports::form::report_form(State(state), peer, who.user, id).await)
}

/// `GET /console/cases/{id}/bureau-report`: the case's day-5 written report, printable.
pub async fn bureau_report(
    State(state): State<AppState>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
) -> Response {
    let id = crate::error::Path(CaseId(id));
    shown(crate::reports::bureau_report::bureau_report(State(state), who.user, id).await)
}

/// The file or page the API made, or a page in Chinese saying why not.
fn shown(made: Result<Response, ApiError>) -> Response {
    made.unwrap_or_else(|e| page::refusal(&e))
}
