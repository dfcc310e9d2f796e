//! The web console at `/console`: the bureau's supervisors, school leads and township officers
//! read their cases in a browser, in Simplified Chinese. Pages are rendered on the server (maud)
//! with every asset in the binary; each page is scoped as the API is for the signed-in role and
//! calls the same domain functions (no second copy of a rule). See docs/console.md.

mod admin;
mod case;
mod cases;
mod chain;
mod flags;
mod page;
mod queue;
mod reports;
mod review;
mod session;
mod today;

use axum::Router;
use axum::routing::{get, post};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::reports::labels;
use crate::state::AppState;

pub use session::SESSION_HOURS;

/// Who is signed in, as the page header names them (their name and role), and whether the
/// header links to administration.
async fn frame(state: &AppState, user: &AuthUser) -> Result<page::Frame, ApiError> {
    let me = crate::db::users::by_id(&state.db.read, user.id).await?;
    let name = me.map_or_else(String::new, |u| u.display_name);
    Ok(page::Frame {
        who: format!("{name}（{}）", labels::role(user.role)),
        admin: user.role == sync_protocol::org::Role::Admin,
    })
}

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(today::page))
        .route("/console/cases", get(cases::page))
        .route("/console/cases/{id}", get(case::page))
        .route("/console/cases/{id}/reviews", post(review::post))
        .route("/console/cases/{id}/report-form", get(reports::report_form))
        .route(
            "/console/cases/{id}/bureau-report",
            get(reports::bureau_report),
        )
        .route("/console/cases/{id}/verify", get(chain::page))
        .route("/console/reviews", get(queue::page))
        .route("/console/flags/{id}/dismiss", post(flags::dismiss))
        .route("/console/reports", get(reports::page))
        .route("/console/reports/ledger.xlsx", get(reports::ledger_xlsx))
        .route("/console/reports/ledger.csv", get(reports::ledger_csv))
        .route(
            "/console/reports/statistics.xlsx",
            get(reports::statistics_xlsx),
        )
        .route("/console/media/{id}", get(case::original))
        .route("/console/media/{id}/thumbnail", get(case::thumbnail))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .merge(admin::router())
}
