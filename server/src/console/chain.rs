//! A case's ledger check (台账核验, `/console/cases/{id}/verify`): the bureau recomputes the
//! case's hash chain and reads every evidence file back, by the API's own verification, and
//! reads whether the ledger is intact or what does not match, link by link.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use sync_protocol::CaseId;
use sync_protocol::chain::Verification;
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::state::AppState;

/// `GET /console/cases/{id}/verify`.
pub async fn page(
    State(state): State<AppState>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
) -> Response {
    let verification = match crate::chain::routes::verified(&state, &who.user, CaseId(id)).await {
        Ok(verification) => verification,
        Err(e) => return page::refusal(&e),
    };
    match super::frame(&state, &who.user).await {
        Ok(frame) => {
            let body = render(id, &verification);
            page::answer(
                StatusCode::OK,
                page::layout("台账核验", Some((&frame, &who.csrf)), body),
            )
        }
        Err(e) => page::failed(&e),
    }
}

/// The kind of record a finding names, in words.
fn kind(entity_kind: &str) -> &str {
    match entity_kind {
        "attempt" => "劝返记录",
        "document" => "文书",
        "review" => "审核",
        "move" => "状态变更",
        "media" => "证据文件",
        "case" => "案件",
        other => other,
    }
}

fn render(case: Uuid, v: &Verification) -> Markup {
    html! {
        h1 { "台账核验" }
        section.chain {
            @if v.intact {
                p { strong { "台账完整" } "：" (v.events) " 个环节的哈希链与每条记录、每个证据文件一致，未发现篡改。" }
            } @else {
                p.error { strong { "台账异常" } "：发现 " (v.findings.len()) " 处不一致，请保存本页并上报。" }
                table {
                    thead { tr { th { "环节" } th { "记录类型" } th { "记录编号" } th { "问题（技术说明）" } } }
                    tbody {
                        @for f in &v.findings {
                            tr {
                                td { (f.seq.map_or_else(|| "—".to_owned(), |s| s.to_string())) }
                                td { (kind(&f.entity_kind)) }
                                td { code { (f.entity_id) } }
                                td { (f.problem) }
                            }
                        }
                    }
                }
            }
            p.verdict { "链头哈希：" code { (v.head) } }
            p { a href=(format!("/console/cases/{case}")) { "返回案件" } }
        }
    }
}
