//! Opening and changing cases from the web: `POST /api/v1/cases` (an absence reported, R1),
//! `PATCH /api/v1/cases/{id}` (status moves, reason, responsible person, closure request) and
//! `POST /api/v1/cases/{id}/reviews`. A change becomes one mutation made by the server for the
//! caller and goes through the same push as a phone's, so the case machine, its roles and
//! requirements, the merge rules and the audit are the same whichever way a change comes.

use axum::extract::State;
use axum::http::StatusCode;
use sync_protocol::cases::{CaseChange, CaseSummary, FoundBy, OpenCase, ReviewRequest};
use sync_protocol::sync::{
    Change, Mutation, MutationOutcome, NewCase, NewReview, PROTOCOL_VERSION, PushRequest,
    RejectCode,
};
use sync_protocol::{CaseId, ErrorCode, MutationId, Problem, ReviewId};
use tracing::instrument;

use crate::auth::AuthUser;
use crate::db;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;

/// Applies `change` for `user` as one mutation of a push, answering a refusal as a problem.
pub(crate) async fn apply(
    state: &AppState,
    user: &AuthUser,
    base_version: i64,
    change: Change,
) -> Result<(), ApiError> {
    let mutation = Mutation {
        id: MutationId::new(),
        base_version,
        hlc: state.server_stamp(),
        change,
    };
    let request = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        mutations: vec![mutation],
    };
    let response = crate::sync::push::push(state, user, request).await?;
    let outcome = response
        .results
        .into_iter()
        .next()
        .map(|r| r.outcome)
        .ok_or_else(|| anyhow::anyhow!("a push of one mutation answered with no result"))?;
    match outcome {
        MutationOutcome::Applied { .. } => Ok(()),
        MutationOutcome::Rejected { code, reason } => Err(match code {
            RejectCode::NotFound => ApiError::NotFound(reason),
            RejectCode::Forbidden => ApiError::Forbidden(reason),
            RejectCode::IllegalTransition => {
                ApiError::conflict(ErrorCode::IllegalTransition, reason)
            }
            RejectCode::RequirementsUnmet => {
                ApiError::invalid(ErrorCode::RequirementsUnmet, reason)
            }
            RejectCode::ImmutableField
            | RejectCode::Invalid
            | RejectCode::BadSignature
            | RejectCode::KeyRevoked => ApiError::Malformed {
                code: ErrorCode::InvalidBody,
                detail: reason,
            },
        }),
    }
}

/// The case `id` as the caller now sees it.
async fn read_back(state: &AppState, user: &AuthUser, id: CaseId) -> Result<CaseSummary, ApiError> {
    let row = db::cases::find(&state.db.read, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    Ok(super::view(state, &state.db.read, row).await?)
}

/// Changes fields of a case in the caller's scope: a status move (checked against the case
/// machine, the caller's role and what the move requires), the reason, the responsible person,
/// or the closure request's reason. Concurrent edits merge as they do from phones.
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = CaseId, Path, description = "case id")),
    request_body = CaseChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the case after the change", body = CaseSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "the caller's role does not make this change", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`illegal_transition`: no such move", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`requirements_unmet`: the detail lists what is missing", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn change_case(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CaseId>,
    Json(body): Json<CaseChange>,
) -> Result<Json<CaseSummary>, ApiError> {
    let change = Change::UpdateCase {
        case_id: id,
        fields: body.fields,
    };
    apply(&state, &user, body.base_version, change).await?;
    Ok(Json(read_back(&state, &user, id).await?))
}

/// Records a supervisor's review of an attempt, a document or the closure request. Approving
/// the closure request closes the row (销号), or defers it first when its reason defers
/// (R15–R17, R19 (7)); refused with `requirements_unmet`, listing what is missing, until the
/// reason's evidence is attached and approved (and, for a deferred row, its over-age day came).
#[utoipa::path(post, path = "/api/v1/cases/{id}/reviews", tag = "cases",
    params(("id" = CaseId, Path, description = "case id")),
    request_body = ReviewRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "recorded; the case after it", body = CaseSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn review_case(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CaseId>,
    Json(body): Json<ReviewRequest>,
) -> Result<(StatusCode, Json<CaseSummary>), ApiError> {
    let review = NewReview {
        id: ReviewId::new(),
        case_id: id,
        target: body.target,
        target_id: body.target_id,
        verdict: body.verdict,
        reason: body.reason,
    };
    apply(&state, &user, 0, Change::CreateReview { review }).await?;
    Ok((
        StatusCode::CREATED,
        Json(read_back(&state, &user, id).await?),
    ))
}

/// Reports an unexcused absence (R1): opens the student's ledger row in `absent`, with the caller
/// as the responsible person, and what is due from day 1 (R2–R5). A student has one open row at a
/// time: another report while it is open is a 409 naming it (a relapse reopens the same row).
/// The report is the mutation a phone pushes (`open_case`), with an id made here.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases",
    request_body = OpenCase,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "the new case", body = CaseSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such student in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_already_open`", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn open_case(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<OpenCase>,
) -> Result<(StatusCode, Json<CaseSummary>), ApiError> {
    let now = chrono::Utc::now();
    let today = crate::calendar::china_date(now);
    let case = NewCase {
        id: CaseId::new(),
        student_id: body.student_id,
        found_by: body.found_by.unwrap_or(FoundBy::DailyAttendance),
        first_absent_on: body.first_absent_on.unwrap_or(today),
    };
    let id = case.id;
    let change = Change::OpenCase { case };
    if let Some(reason) = change.implausible(now, today) {
        return Err(ApiError::invalid_parameter(reason));
    }
    // A report on an open row is a mistake the web user should see; a phone's is joined to it.
    if super::rights::reports_absence(user.role)
        && let Some(open) = db::cases::open_of_student(&state.db.read, body.student_id.0).await?
        && db::students::in_scope(&state.db.read, user.scope(), body.student_id.0)
            .await?
            .is_some()
    {
        return Err(ApiError::conflict(
            ErrorCode::CaseAlreadyOpen,
            format!("the student's case {} is open: record on it", open.id),
        ));
    }
    apply(&state, &user, 0, change).await?;
    Ok((
        StatusCode::CREATED,
        Json(read_back(&state, &user, id).await?),
    ))
}

/// The routes that open and change cases.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(open_case))
        .routes(utoipa_axum::routes!(change_case))
        .routes(utoipa_axum::routes!(review_case))
}
