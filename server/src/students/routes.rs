//! `/api/v1/students/{id}`: a student's record; every read is audited.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use sync_protocol::students::{RollEntry, StudentDetail, TransferRequest};
use sync_protocol::{Problem, StudentId};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::auth::AuthUser;
use crate::db;
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;

/// The student routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_roll))
        .routes(routes!(get_student))
        .routes(routes!(transfer_student))
        .routes(routes!(super::roll::compare_roll))
        .routes(routes!(super::roll::list_unenrolled))
        .routes(routes!(
            super::reconcile::list_reconciliations,
            super::reconcile::reconcile_roll
        ))
}

/// The roll of the caller's school, for a phone to report an absence offline (R1): the class
/// teacher or the school's lead only. Writes an audit entry.
#[utoipa::path(get, path = "/api/v1/roll", tag = "students",
    security(("bearer" = [])),
    responses(
        (status = 200, body = [RollEntry]),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn get_roll(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: AuthUser,
) -> Result<Json<Vec<RollEntry>>, ApiError> {
    if !crate::cases::rights::reports_absence(user.role) {
        return Err(ApiError::forbidden(
            "the roll is listed for the class teachers and the school's lead, who report absences",
        ));
    }
    let rows = db::students::of_school(&state.db.read, user.org_unit_id).await?;
    let detail = serde_json::json!({ "students": rows.len() });
    let action = audit::Action::ReadRoll;
    audit::record(
        &state.db.write,
        &user,
        Some(peer.ip()),
        action,
        None,
        detail,
    )
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| RollEntry {
                id: s.id.into(),
                name: s.name,
                school_id: s.school_id.into(),
                village_id: s.village_id.into(),
                township_id: s.township_id.into(),
                grade: s.grade,
                class_name: s.class_name,
            })
            .collect(),
    ))
}

/// One student in the caller's scope, with personal data. Writes an audit entry.
#[utoipa::path(get, path = "/api/v1/students/{id}", tag = "students",
    params(("id" = StudentId, Path, description = "student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = StudentDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn get_student(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Path(id): Path<StudentId>,
) -> Result<Json<StudentDetail>, ApiError> {
    let (row, guardians) = db::students::find(&state.db.read, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("student"))?;
    let detail = super::detail(&state.sealer, row, guardians)?;
    // The entry is written before the data leaves: no read goes unrecorded.
    audit::record(
        &state.db.write,
        &user,
        Some(peer.ip()),
        audit::Action::ReadStudent,
        Some(id.0),
        serde_json::Value::Null,
    )
    .await?;
    Ok(Json(detail))
}

/// Moves a student (and their cases) to another school and village of the district: a roll
/// change (R7). Supervisors and admins only. Phones of the old scope drop the records at their
/// next pull.
#[utoipa::path(post, path = "/api/v1/students/{id}/transfer", tag = "students",
    params(("id" = StudentId, Path, description = "student id")),
    request_body = TransferRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "moved"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no such school or village in the district", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn transfer_student(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<StudentId>,
    Json(body): Json<TransferRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    super::transfer::transfer(&state, &user, id.0, body.school_id.0, body.village_id.0).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
