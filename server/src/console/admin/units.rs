//! The org units of the administrator's district (组织机构): its townships, each with its schools
//! and villages, and a form to add one (a township under the district, a school or a village
//! under a township).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use sync_protocol::org::OrgUnitKind;
use uuid::Uuid;

use super::super::page;
use super::super::session::ConsoleUser;
use crate::admin::NewUnit;
use crate::db;
use crate::db::entity::org_unit;
use crate::state::AppState;

/// Where the page is.
const HERE: &str = "/console/admin/units";

/// The kinds the form adds (a district is the installation's, added by the `server` command).
const ADDED: [OrgUnitKind; 3] = [
    OrgUnitKind::Township,
    OrgUnitKind::School,
    OrgUnitKind::Village,
];

/// The add form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    kind: String,
    name: String,
    code: String,
    parent: String,
}

/// `GET /console/admin/units`.
pub async fn page(State(state): State<AppState>, who: ConsoleUser) -> Response {
    if let Some(refused) = super::not_admin(&who) {
        return refused;
    }
    match db::org::of_district(&state.db.read, who.user.org_unit_id).await {
        Ok(units) => {
            let body = render(who.user.org_unit_id, &units, &who.csrf);
            super::shown(&state, &who, "组织机构", body).await
        }
        Err(e) => page::failed(&e.into()),
    }
}

fn render(district: Uuid, units: &[org_unit::Model], csrf: &str) -> Markup {
    let of_kind = |kind: OrgUnitKind| units.iter().filter(move |u| u.kind == kind.as_str());
    let under = |parent: Uuid, kind: OrgUnitKind| {
        of_kind(kind)
            .filter(|u| u.parent_id == Some(parent))
            .collect::<Vec<_>>()
    };
    let district_name = units
        .iter()
        .find(|u| u.id == district)
        .map_or("", |u| u.name.as_str());
    html! {
        h1 { "组织机构" }
        section {
            h2 { "添加机构" }
            form.filters method="post" action=(HERE) {
                input type="hidden" name="csrf" value=(csrf);
                label { "类型 "
                    select name="kind" {
                        @for kind in ADDED { option value=(kind.as_str()) { (super::kind_label(kind)) } }
                    }
                }
                label { "名称 " input name="name" required; }
                label { "代码 " input name="code" required; }
                label { "上级单位 "
                    select name="parent" {
                        option value=(district) { (district_name) "（区县）" }
                        @for t in of_kind(OrgUnitKind::Township) { option value=(t.id) { (t.name) "（乡镇）" } }
                    }
                }
                button type="submit" { "添加" }
            }
            p.verdict { "乡镇（街道）属于区县；学校和村（社区）属于乡镇。" }
        }
        section {
            h2 { (district_name) }
            @for t in of_kind(OrgUnitKind::Township) {
                article id=(format!("unit-{}", t.id)) {
                    h3 { (t.name) " " small { (t.code) } }
                    @for kind in [OrgUnitKind::School, OrgUnitKind::Village] {
                        p {
                            (super::kind_label(kind)) "："
                            @for (i, u) in under(t.id, kind).iter().enumerate() {
                                @if i > 0 { "、" }
                                (u.name) " " small { (u.code) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /console/admin/units`: adds an org unit.
pub async fn add(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    axum::Form(form): axum::Form<AddForm>,
) -> Response {
    if let Some(refused) = super::guard(&who, &form.csrf) {
        return refused;
    }
    let kind = form
        .kind
        .parse::<OrgUnitKind>()
        .ok()
        .filter(|k| ADDED.contains(k));
    let (Some(kind), Ok(parent_id)) = (kind, form.parent.parse::<Uuid>()) else {
        return page::refused(
            StatusCode::BAD_REQUEST,
            "表单有误：机构类型或上级单位无法识别。",
        );
    };
    let new = NewUnit {
        kind,
        name: form.name,
        code: form.code,
        parent_id,
    };
    super::after(
        crate::admin::add_unit(&state, &who.user, peer.ip(), new).await,
        HERE,
    )
}
