//! Reviews from the console (supervisors): approve, reject with a reason, or ask for more
//! evidence, on an attempt, a document or a write-off request, each as the API's review (the same
//! mutation through the same push, so the same rules: a write-off is approved only once its
//! reason's evidence is complete). A refusal is a page that says why in Chinese; a write-off
//! refused for missing evidence lists what is missing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_protocol::evidence::{ReviewTarget, Verdict};
use sync_protocol::sync::{Change, NewReview};
use sync_protocol::{CaseId, ErrorCode, ReviewId};
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::auth::AuthUser;
use crate::cases::{history, machine};
use crate::db;
use crate::error::ApiError;
use crate::reports::labels;
use crate::state::AppState;

/// What a review form posts.
#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/cases/{id}/reviews`.
pub async fn post(
    State(state): State<AppState>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
    axum::Form(form): axum::Form<ReviewForm>,
) -> Response {
    if let Some(refused) = who.refusal(&form.csrf) {
        return refused;
    }
    let parsed = (
        form.target.parse::<ReviewTarget>(),
        form.target_id.parse::<Uuid>(),
        form.verdict.parse::<Verdict>(),
    );
    let (Ok(target), Ok(target_id), Ok(verdict)) = parsed else {
        return page::refused(
            StatusCode::BAD_REQUEST,
            "审核表单有误：审核对象或结论无法识别。",
        );
    };
    let review = NewReview {
        id: ReviewId::new(),
        case_id: CaseId(id),
        target,
        target_id,
        verdict,
        reason: form.reason.trim().to_owned(),
    };
    let change = Change::CreateReview { review };
    match crate::cases::edits::apply(&state, &who.user, 0, change).await {
        Ok(()) => Redirect::to(&format!("/console/cases/{id}")).into_response(),
        Err(e) => refusal(&state, &who.user, id, e).await,
    }
}

/// The page saying why a review was refused.
async fn refusal(state: &AppState, user: &AuthUser, id: Uuid, e: ApiError) -> Response {
    let (status, why) = match e {
        ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "只有教育局督导可以审核。".to_owned()),
        ApiError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "没有这个案件或审核对象，或它不在您的工作范围内。".to_owned(),
        ),
        ApiError::Malformed { .. } => (
            StatusCode::BAD_REQUEST,
            "驳回或要求补充材料时请写明理由。".to_owned(),
        ),
        ApiError::Invalid {
            code: ErrorCode::RequirementsUnmet,
            ..
        } => match closure_missing(state, user, id).await {
            Ok(missing) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("核销条件尚未满足，尚缺：{}。", missing.join("；")),
            ),
            Err(e) => return page::failed(&e),
        },
        ApiError::Invalid { .. } | ApiError::Conflict { .. } => (
            StatusCode::CONFLICT,
            "该审核与案件当前状态不符，请刷新案件页后重试。".to_owned(),
        ),
        other => return page::failed(&other),
    };
    page::refused(status, &why)
}

/// What the approval of case `id`'s write-off request still needs, in words (empty: complete),
/// by the case machine's own rule; the case must be in `user`'s scope.
pub async fn closure_missing(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
) -> Result<Vec<String>, ApiError> {
    let row = db::cases::find(&state.db.read, user.scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let rows = std::slice::from_ref(&row);
    let history = history::load(
        &state.db.read,
        &state.sealer,
        rows,
        state.config.leaving_age,
    )
    .await?
    .remove(&row.id)
    .ok_or_else(|| anyhow::anyhow!("no history for case {}", row.id))?;
    let to = machine::approved_closure(history.status, history.closure_reason);
    let today = crate::calendar::china_date(chrono::Utc::now());
    Ok(machine::requirements(&history, to, today)
        .iter()
        .map(labels::missing)
        .collect())
}
