//! Plausibility flags in the console: on a case page, each attempt's flags with, for a
//! supervisor, a form that dismisses one with a reason (the API's own dismissal, audited); in the
//! review queue, the open flags of the scope, oldest first.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use sync_protocol::AttemptId;
use sync_protocol::flags::Flag;
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::db::entity::case;
use crate::error::ApiError;
use crate::reports::labels;
use crate::state::AppState;

/// What a dismissal form posts.
#[derive(Debug, Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/flags/{id}/dismiss`: back to the flag's attempt on its case page.
pub async fn dismiss(
    State(state): State<AppState>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
    axum::Form(form): axum::Form<DismissForm>,
) -> Response {
    if let Some(refused) = who.refusal(&form.csrf) {
        return refused;
    }
    match crate::plausibility::review::dismiss(&state, &who.user, id, &form.reason).await {
        Ok(flag) => {
            let to = format!(
                "/console/cases/{}#attempt-{}",
                flag.case_id, flag.attempt_id
            );
            Redirect::to(&to).into_response()
        }
        Err(ApiError::Forbidden(_)) => {
            page::refused(StatusCode::FORBIDDEN, "只有教育局督导可以排除存疑提示。")
        }
        Err(ApiError::Invalid { .. }) => page::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "排除存疑提示时请写明理由。",
        ),
        Err(e) => page::refusal(&e),
    }
}

/// The flags of attempt `attempt` among `flags`, each with a dismissal form when `csrf` (a
/// supervisor's page) is given.
pub fn on_attempt(flags: &[Flag], attempt: AttemptId, csrf: Option<&str>) -> Markup {
    html! {
        @for f in flags.iter().filter(|f| f.attempt_id == attempt) {
            @if let Some(d) = &f.dismissal {
                p.flag { "存疑提示（已排除）：" (labels::flag(f.kind)) "。排除理由：" (d.reason) }
            } @else {
                div.flag {
                    p.error { "存疑提示：" (labels::flag(f.kind)) }
                    @if let Some(csrf) = csrf {
                        form.dismiss method="post" action=(format!("/console/flags/{}/dismiss", f.id)) {
                            input type="hidden" name="csrf" value=(csrf);
                            input name="reason" aria-label="排除理由" placeholder="排除理由（必填）";
                            button { "排除" }
                        }
                    }
                }
            }
        }
    }
}

/// The open `flags` of the scope, oldest first, each linking to its attempt, with the students'
/// names through `cases` and `pupils`.
pub fn queue(
    flags: &[Flag],
    cases: &HashMap<Uuid, case::Model>,
    pupils: &HashMap<Uuid, String>,
) -> Markup {
    let student = |f: &Flag| {
        cases
            .get(&f.case_id.0)
            .and_then(|c| pupils.get(&c.student_id))
            .map_or("", String::as_str)
    };
    html! {
        @if flags.is_empty() {
            p { "没有待处理的存疑提示。" }
        } @else {
            table.queue {
                thead { tr { th { "提示时间" } th { "学生" } th { "存疑提示" } } }
                tbody {
                    @for f in flags {
                        tr {
                            td { (page::china_time(f.raised_at)) }
                            td { (student(f)) }
                            td {
                                a href=(format!("/console/cases/{}#attempt-{}", f.case_id, f.attempt_id)) { (labels::flag(f.kind)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
