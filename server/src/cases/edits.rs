//! Opening and changing cases from the web: `POST /api/v1/cases` (an absence reported, R1),
//! `PATCH /api/v1/cases/{id}` (status moves, reason, responsible person, closure request) and
//! `POST /api/v1/cases/{id}/reviews`. A change becomes one mutation made by the server for the
//! caller and goes through the same push as a phone's, so the case machine, its roles and
//! requirements, the merge rules and the audit are the same whichever way a change comes.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::TransactionTrait as _;
use sync_protocol::cases::{CaseChange, CaseStatus, CaseSummary, FoundBy, OpenCase, ReviewRequest};
use sync_protocol::org::Role;
use sync_protocol::sync::{
    Change, Mutation, MutationOutcome, NewReview, PROTOCOL_VERSION, PushRequest, RejectCode,
};
use sync_protocol::{CaseId, ErrorCode, MutationId, Problem, ReviewId};
use tracing::instrument;

use crate::auth::AuthUser;
use crate::db::changes::ChangeSet;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;
use crate::{audit, db, records};

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
            RejectCode::ImmutableField | RejectCode::Invalid => ApiError::Malformed {
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

/// Who reports an absence: the class teacher at the morning roll call, or the school's lead.
const OPENERS: &[Role] = &[Role::Teacher, Role::SchoolLead];

/// Reports an unexcused absence (R1): opens the student's ledger row in `absent`, with the caller
/// as the responsible person, and what is due from day 1 (R2–R5). A student has one open row at a
/// time: another report while it is open is a 409 naming it (a relapse reopens the same row).
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
    if !OPENERS.contains(&user.role) {
        return Err(ApiError::forbidden(
            "an absence is reported by the class teacher or the school's lead",
        ));
    }
    let today = crate::calendar::china_date(chrono::Utc::now());
    let first = body.first_absent_on.unwrap_or(today);
    sync_protocol::plausible::day(first, today, "first_absent_on")
        .map_err(ApiError::invalid_parameter)?;
    if first > today {
        return Err(ApiError::invalid_parameter(format!(
            "the first day of absence {first} is after today ({today})"
        )));
    }
    let txn = state.db.write.begin().await?;
    let (student, _) = db::students::find(&txn, user.scope(), body.student_id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("student"))?;
    if let Some(open) = db::cases::open_of_student(&txn, student.id).await? {
        return Err(ApiError::conflict(
            ErrorCode::CaseAlreadyOpen,
            format!("the student's case {} is open: record on it", open.id),
        ));
    }
    let mut changes = ChangeSet::default();
    let row = records::case(
        &txn,
        &mut changes,
        &student,
        records::NewCase {
            status: CaseStatus::Absent,
            found_by: body.found_by.unwrap_or(FoundBy::DailyAttendance),
            reason: None,
            responsible_user_id: Some(user.id),
            opened_on: first,
            relapse_count: 0,
        },
    )
    .await?;
    audit::record(
        &txn,
        &user,
        None,
        audit::Action::OpenCase,
        Some(row.id),
        serde_json::json!({ "student_id": student.id, "first_absent_on": first }),
    )
    .await?;
    changes.append(&txn).await?;
    txn.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(super::view(&state, &state.db.read, row).await?),
    ))
}

/// The routes that open and change cases.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(open_case))
        .routes(utoipa_axum::routes!(change_case))
        .routes(utoipa_axum::routes!(review_case))
}
