//! Administration (管理) in the console, for the district's administrator: accounts (add, new
//! password, disable and enable), org units (townships, villages, schools) and holiday
//! schedules. Every form carries the session's token; every change goes through the same
//! domain function as the API or the `server` commands (`admin.rs`, `auth::routes`,
//! `calendar::routes`), scoped to the administrator's district and audited. Other roles get a
//! 403 page.

mod accounts;
mod calendars;
mod units;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use sync_protocol::org::Role;

use super::page;
use super::session::ConsoleUser;
use crate::auth::password::TooShort;
use crate::records::Refusal;
use crate::state::AppState;

/// The administration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console/admin",
            get(|| async { Redirect::to("/console/admin/accounts") }),
        )
        .route(
            "/console/admin/accounts",
            get(accounts::page).post(accounts::add),
        )
        .route(
            "/console/admin/accounts/{id}/password",
            post(accounts::password),
        )
        .route(
            "/console/admin/accounts/{id}/disabled",
            post(accounts::disabled),
        )
        .route("/console/admin/units", get(units::page).post(units::add))
        .route(
            "/console/admin/calendars",
            get(calendars::page).post(calendars::load),
        )
}

/// The refusal page for anyone but an administrator, if `who` is not one.
fn not_admin(who: &ConsoleUser) -> Option<Response> {
    (who.user.role != Role::Admin)
        .then(|| page::refused(StatusCode::FORBIDDEN, "只有系统管理员可以进行管理操作。"))
}

/// A form's refusal: a CSRF failure or a non-administrator, if either.
fn guard(who: &ConsoleUser, csrf: &str) -> Option<Response> {
    who.refusal(csrf).or_else(|| not_admin(who))
}

/// An administration page titled `title` around `body`, with its sub-navigation.
async fn shown(state: &AppState, who: &ConsoleUser, title: &str, body: Markup) -> Response {
    let nav = maud::html! {
        nav.sub {
            a href="/console/admin/accounts" { "账号" }
            a href="/console/admin/units" { "组织机构" }
            a href="/console/admin/calendars" { "节假日安排" }
        }
        (body)
    };
    match super::frame(state, &who.user).await {
        Ok(frame) => page::answer(
            StatusCode::OK,
            page::layout(title, Some((&frame, &who.csrf)), nav),
        ),
        Err(e) => page::failed(&e),
    }
}

/// Back to `path` after a change, or the page saying why `outcome` failed.
fn after<T>(outcome: anyhow::Result<T>, path: &str) -> Response {
    match outcome {
        Ok(_) => Redirect::to(path).into_response(),
        Err(e) => refusal(&e),
    }
}

/// The page saying, in Chinese, why a change was refused; a failure of the server's own is
/// logged.
fn refusal(error: &anyhow::Error) -> Response {
    if error.downcast_ref::<TooShort>().is_some() {
        let why = format!("密码至少需要 {} 个字符。", crate::auth::password::MIN_CHARS);
        return page::refused(StatusCode::BAD_REQUEST, &why);
    }
    let Some(refusal) = error.downcast_ref::<Refusal>() else {
        return page::failed(&crate::error::ApiError::Internal(anyhow::anyhow!(
            "{error:#}"
        )));
    };
    let (status, why) = match refusal {
        Refusal::WrongParent { .. } => (
            StatusCode::BAD_REQUEST,
            "上级单位不符：乡镇（街道）属于区县，学校和村（社区）属于乡镇。".to_owned(),
        ),
        Refusal::CodeTaken => (StatusCode::CONFLICT, "该机构代码已被使用。".to_owned()),
        Refusal::UsernameTaken => (StatusCode::CONFLICT, "该用户名已被使用。".to_owned()),
        Refusal::BadName => (
            StatusCode::BAD_REQUEST,
            format!(
                "名称、代码和用户名须为 1 至 {} 个字符。",
                crate::records::MAX_NAME_CHARS
            ),
        ),
        Refusal::WrongUnitForRole { role, .. } => (
            StatusCode::BAD_REQUEST,
            format!(
                "{}须属于{}。",
                crate::reports::labels::role(*role),
                kind_label(role.org_unit_kind())
            ),
        ),
        Refusal::NotInDistrict => (
            StatusCode::NOT_FOUND,
            "没有找到，或它不在您管理的区县内。".to_owned(),
        ),
    };
    page::refused(status, &why)
}

/// An org unit kind in words.
fn kind_label(kind: sync_protocol::org::OrgUnitKind) -> &'static str {
    use sync_protocol::org::OrgUnitKind as K;
    match kind {
        K::District => "区县",
        K::Township => "乡镇（街道）",
        K::Village => "村（社区）",
        K::School => "学校",
    }
}
