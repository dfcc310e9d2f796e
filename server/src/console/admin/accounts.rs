//! The accounts of the administrator's district (账号): who signs in, with which role, in which
//! unit, and whether they may; forms to add one, to give one a new password (its sessions end)
//! and to disable or enable one.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use sync_protocol::org::Role;
use uuid::Uuid;

use super::super::page;
use super::super::session::ConsoleUser;
use crate::admin::NewAccount;
use crate::db;
use crate::db::entity::{org_unit, user};
use crate::reports::labels;
use crate::state::AppState;

/// Where the page is.
const HERE: &str = "/console/admin/accounts";

/// The add form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    username: String,
    display_name: String,
    role: String,
    org_unit: String,
    password: String,
}

/// The new-password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    password: String,
}

/// The disable / enable form: `disabled` is `1` to disable, `0` to enable.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisabledForm {
    csrf: String,
    disabled: String,
}

/// `GET /console/admin/accounts`.
pub async fn page(State(state): State<AppState>, who: ConsoleUser) -> Response {
    if let Some(refused) = super::not_admin(&who) {
        return refused;
    }
    let district = who.user.org_unit_id;
    let read = async {
        let units = db::org::of_district(&state.db.read, district).await?;
        let ids = units.iter().map(|u| u.id).collect();
        let accounts = db::users::in_units(&state.db.read, ids).await?;
        Ok::<_, sea_orm::DbErr>((units, accounts))
    };
    match read.await {
        Ok((units, accounts)) => {
            let body = render(&units, &accounts, &who.csrf);
            super::shown(&state, &who, "账号管理", body).await
        }
        Err(e) => page::failed(&e.into()),
    }
}

fn render(units: &[org_unit::Model], accounts: &[user::Model], csrf: &str) -> Markup {
    let names: HashMap<Uuid, &str> = units.iter().map(|u| (u.id, u.name.as_str())).collect();
    html! {
        h1 { "账号管理" }
        section {
            h2 { "添加账号" }
            form.filters method="post" action=(HERE) {
                input type="hidden" name="csrf" value=(csrf);
                label { "用户名 " input name="username" required autocomplete="off"; }
                label { "姓名 " input name="display_name" required; }
                label { "角色 "
                    select name="role" {
                        @for role in Role::ALL { option value=(role.as_str()) { (labels::role(role)) } }
                    }
                }
                label { "所属单位 "
                    select name="org_unit" {
                        @for unit in units {
                            option value=(unit.id) { (unit.name) "（" (unit_kind(unit)) "）" }
                        }
                    }
                }
                label { "初始密码 " input name="password" type="password" required minlength="8" autocomplete="new-password"; }
                button type="submit" { "添加" }
            }
        }
        section {
            h2 { "账号（" (accounts.len()) "个）" }
            table.accounts {
                thead { tr { th { "用户名" } th { "姓名" } th { "角色" } th { "单位" } th { "状态" } th { "操作" } } }
                tbody {
                    @for a in accounts { (row(a, &names, csrf)) }
                }
            }
        }
    }
}

/// One account's row with its forms.
fn row(a: &user::Model, units: &HashMap<Uuid, &str>, csrf: &str) -> Markup {
    let role = a.role.parse::<Role>().map_or("", labels::role);
    html! {
        tr id=(format!("account-{}", a.id)) {
            td { (a.username) }
            td { (a.display_name) }
            td { (role) }
            td { (units.get(&a.org_unit_id).copied().unwrap_or("")) }
            td { @if a.disabled { span.error { "已停用" } } @else { "正常" } }
            td {
                form.review method="post" action=(format!("{HERE}/{}/password", a.id)) {
                    input type="hidden" name="csrf" value=(csrf);
                    input name="password" type="password" aria-label="新密码" placeholder="新密码（至少8位）" required minlength="8" autocomplete="new-password";
                    button type="submit" { "重置密码" }
                }
                form.review method="post" action=(format!("{HERE}/{}/disabled", a.id)) {
                    input type="hidden" name="csrf" value=(csrf);
                    @if a.disabled {
                        input type="hidden" name="disabled" value="0";
                        button type="submit" { "启用" }
                    } @else {
                        input type="hidden" name="disabled" value="1";
                        button type="submit" { "停用" }
                    }
                }
            }
        }
    }
}

/// A unit's kind in words.
fn unit_kind(unit: &org_unit::Model) -> &'static str {
    unit.kind.parse().map_or("", super::kind_label)
}

/// `POST /console/admin/accounts`: adds an account.
pub async fn add(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    axum::Form(form): axum::Form<AddForm>,
) -> Response {
    if let Some(refused) = super::guard(&who, &form.csrf) {
        return refused;
    }
    let (Ok(role), Ok(org_unit_id)) = (form.role.parse::<Role>(), form.org_unit.parse::<Uuid>())
    else {
        return page::refused(
            axum::http::StatusCode::BAD_REQUEST,
            "表单有误：角色或所属单位无法识别。",
        );
    };
    let new = NewAccount {
        username: form.username,
        display_name: form.display_name,
        role,
        org_unit_id,
        password: form.password,
    };
    super::after(
        crate::admin::add_account(&state, &who.user, peer.ip(), new).await,
        HERE,
    )
}

/// `POST /console/admin/accounts/{id}/password`: gives the account a new password.
pub async fn password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
    axum::Form(form): axum::Form<PasswordForm>,
) -> Response {
    if let Some(refused) = super::guard(&who, &form.csrf) {
        return refused;
    }
    let done = crate::admin::reset_password(&state, &who.user, peer.ip(), id, &form.password);
    super::after(done.await, HERE)
}

/// `POST /console/admin/accounts/{id}/disabled`: disables or enables the account.
pub async fn disabled(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
    axum::Form(form): axum::Form<DisabledForm>,
) -> Response {
    if let Some(refused) = super::guard(&who, &form.csrf) {
        return refused;
    }
    let disabled = form.disabled == "1";
    match crate::auth::routes::set_disabled(&state, peer, &who.user, id, disabled).await {
        Ok(_) => Redirect::to(HERE).into_response(),
        Err(e) => page::refusal(&e),
    }
}
