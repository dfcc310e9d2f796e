//! `/api/v1/reports`: the ledger export and the statistics; `/api/v1/cases/{id}/report-form`:
//! one case's form.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use sync_protocol::Problem;
use sync_protocol::org::Role;
use sync_protocol::reports::{LedgerQuery, Statistics};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::export::{ExportFormat, Heading, ledger_body};
use super::ledger::LedgerFilter;
use crate::audit;
use crate::auth::AuthUser;
use crate::error::{ApiError, Json, Query};
use crate::state::AppState;

/// The report routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ledger_csv))
        .routes(routes!(ledger_xlsx))
        .routes(routes!(super::form::report_form))
        .routes(routes!(
            super::bureau_report::bureau_report,
            super::bureau_report::file_bureau_report
        ))
        .routes(routes!(statistics))
        .routes(routes!(statistics_xlsx))
}

/// The longest period one export covers.
const MAX_PERIOD_DAYS: i64 = 3 * 366;

/// Who may export a ledger: the school's lead, the township, the bureau (R23: not every user).
pub const EXPORTERS: &[Role] = &[Role::SchoolLead, Role::TownshipOfficer, Role::Supervisor];

/// The filter `query` asks `user` for, or why not.
fn filter_for(user: &AuthUser, query: &LedgerQuery) -> Result<LedgerFilter, ApiError> {
    if !EXPORTERS.contains(&user.role) {
        return Err(ApiError::forbidden(
            "only a school lead, a township officer or the bureau reads the ledger's reports",
        ));
    }
    let (from, to) = match (query.from, query.to, query.month.as_deref()) {
        (Some(from), Some(to), None) => (from, to),
        (None, None, Some(month)) => month_days(month)?,
        _ => {
            return Err(ApiError::invalid_parameter(
                "give the period as `from` and `to`, or as `month` (YYYY-MM)",
            ));
        }
    };
    if from > to || (to - from).num_days() > MAX_PERIOD_DAYS {
        return Err(ApiError::invalid_parameter(format!(
            "the period {from}..{to} must run forward and cover at most {MAX_PERIOD_DAYS} days"
        )));
    }
    Ok(LedgerFilter {
        org_unit: query.org_unit_id,
        from,
        to,
    })
}

/// The first and last day of `month` (`YYYY-MM`).
fn month_days(month: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid_parameter(format!("`{month}` is not a month (YYYY-MM)")))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| ApiError::invalid_parameter(format!("`{month}` is out of range")))?;
    Ok((first, next - chrono::Duration::days(1)))
}

/// The title rows of `user`'s `what` (the ledger, the statistics form) for `filter`: the org
/// unit it covers, the period, and when it was made (China's time).
async fn heading(
    state: &AppState,
    user: &AuthUser,
    filter: &LedgerFilter,
    what: &str,
) -> Result<Heading, ApiError> {
    let unit = filter.org_unit.unwrap_or(user.org_unit_id);
    let name = crate::db::org::unit_names(&state.db.read, vec![unit])
        .await?
        .remove(&unit)
        .unwrap_or_default();
    let offset = chrono::FixedOffset::east_opt(crate::calendar::CHINA_OFFSET_SECS)
        .ok_or_else(|| anyhow::anyhow!("China's offset"))?;
    let made = chrono::Utc::now().with_timezone(&offset);
    Ok(Heading {
        title: format!("{name}{what}"),
        subtitle: format!(
            "统计期间：{} 至 {}　生成时间：{}",
            filter.from,
            filter.to,
            made.format("%Y-%m-%d %H:%M")
        ),
    })
}

/// The ledger of `query`'s period in `user`'s scope as a download of `format`, audited; the
/// API's and the console's.
pub async fn ledger_file(
    state: AppState,
    user: AuthUser,
    query: LedgerQuery,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let filter = filter_for(&user, &query)?;
    audit::record(
        &state.db.write,
        &user,
        None,
        audit::Action::ExportLedger,
        None,
        serde_json::json!({
            "format": format.extension(), "from": filter.from, "to": filter.to,
            "org_unit_id": filter.org_unit,
        }),
    )
    .await?;
    let name = format!(
        "ledger-{}-{}.{}",
        filter.from,
        filter.to,
        format.extension()
    );
    let heading = heading(&state, &user, &filter, "控辍保学台账").await?;
    let body = ledger_body(state, user.scope(), filter, format, heading);
    attachment(&name, format, body)
}

/// `body` as a download of `format` named `name`.
fn attachment(
    name: &str,
    format: ExportFormat,
    body: impl IntoResponse,
) -> Result<Response, ApiError> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| anyhow::anyhow!("a file name header: {e}"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The ledger (台账) of the caller's scope for a period as CSV (UTF-8 with a byte-order mark),
/// one row per case open at some time in the period, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.csv", tag = "reports", params(LedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the ledger", content_type = "text/csv"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn ledger_csv(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, ApiError> {
    ledger_file(state, user, query, ExportFormat::Csv).await
}

/// The ledger (台账) of the caller's scope for a period as an Excel workbook, streamed.
#[utoipa::path(get, path = "/api/v1/reports/ledger.xlsx", tag = "reports", params(LedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the ledger",
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn ledger_xlsx(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, ApiError> {
    ledger_file(state, user, query, ExportFormat::Xlsx).await
}

/// The statistics of `query`'s period in `user`'s scope.
async fn statistics_of(
    state: &AppState,
    user: &AuthUser,
    query: &LedgerQuery,
) -> Result<(LedgerFilter, Statistics), ApiError> {
    let filter = filter_for(user, query)?;
    let stats = super::statistics::statistics(
        &state.db.read,
        &state.sealer,
        user.scope(),
        filter,
        state.config.leaving_age,
    )
    .await?;
    Ok((filter, stats))
}

/// Monthly or term statistics of the caller's scope (R22), as things stood at the period's end:
/// open, new, dropouts (reported and out), returned and closed cases, the dropout rate, and the
/// dropouts by reason, grade and class, with the special groups counted separately. A term's
/// start or end is a period like a month (`from`, `to`).
#[utoipa::path(get, path = "/api/v1/reports/statistics", tag = "reports", params(LedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Statistics),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn statistics(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<LedgerQuery>,
) -> Result<Json<Statistics>, ApiError> {
    Ok(Json(statistics_of(&state, &user, &query).await?.1))
}

/// The same statistics as the workbook a school or bureau files (统计表, in Chinese).
#[utoipa::path(get, path = "/api/v1/reports/statistics.xlsx", tag = "reports", params(LedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the statistics form",
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn statistics_xlsx(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, ApiError> {
    statistics_file(&state, &user, &query).await
}

/// The statistics form of `query`'s period in `user`'s scope as a workbook download; the API's
/// and the console's.
pub async fn statistics_file(
    state: &AppState,
    user: &AuthUser,
    query: &LedgerQuery,
) -> Result<Response, ApiError> {
    let (filter, stats) = statistics_of(state, user, query).await?;
    let heading = heading(state, user, &filter, "控辍保学统计表").await?;
    let book = super::statistics_book::workbook(&stats, &heading)
        .map_err(|e| anyhow::anyhow!("writing the statistics workbook: {e}"))?;
    let name = format!("statistics-{}-{}.xlsx", filter.from, filter.to);
    attachment(&name, ExportFormat::Xlsx, book)
}
