//! `/api/v1/uploads`: the tus 1.0.0 endpoints. Any tus client works unchanged, with the JWT in
//! the `Authorization` header.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_protocol::ErrorCode;
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{declaration, uploads};
use axum::extract::{FromRef, FromRequestParts};

use crate::auth::AuthUser;
use crate::db::entity::upload;
use crate::error::{ApiError, Path};
use crate::media::MediaState;

/// The tus version spoken.
const TUS_VERSION: &str = "1.0.0";
/// The extensions supported.
const TUS_EXTENSIONS: &str = "creation,creation-with-upload,checksum,termination,expiration";

/// The upload routes.
/// Generic over the server's state `S`, which hands out [`MediaState`].
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    MediaState: FromRef<S>,
    AuthUser: FromRequestParts<S, Rejection = ApiError>,
{
    OpenApiRouter::new()
        .routes(routes!(options_uploads, create_upload))
        .routes(routes!(head_upload, patch_upload, delete_upload))
        .layer(axum::middleware::map_response(tus_headers))
}

/// tus: a client behind a proxy that passes only GET and POST sends `POST` with
/// `X-HTTP-Method-Override: PATCH` (or `DELETE`, `HEAD`) to an upload; the request is taken as
/// that method. Other routes keep their methods.
/// It wraps the whole router ([`crate::serve`]): a method must be rewritten before routing.
pub async fn method_override(mut request: axum::extract::Request) -> axum::extract::Request {
    let wanted = request
        .headers()
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .and_then(|m| match m.trim().to_ascii_uppercase().as_str() {
            "PATCH" => Some(axum::http::Method::PATCH),
            "DELETE" => Some(axum::http::Method::DELETE),
            "HEAD" => Some(axum::http::Method::HEAD),
            _ => None,
        });
    let tus = request.uri().path().starts_with("/api/v1/uploads/");
    if let Some(method) = wanted.filter(|_| tus && request.method() == axum::http::Method::POST) {
        *request.method_mut() = method;
    }
    request
}

/// Every tus answer says the version it speaks, refusals too; a 412 also lists the versions
/// spoken (`Tus-Version`), as tus 1.0.0 asks.
async fn tus_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry("tus-resumable")
        .or_insert(HeaderValue::from_static(TUS_VERSION));
    if response.status() == StatusCode::PRECONDITION_FAILED {
        response
            .headers_mut()
            .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    }
    response
}

/// Refuses a request that does not speak tus 1.0.0.
fn check_tus(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            ErrorCode::TusVersion,
            "send `Tus-Resumable: 1.0.0`",
        )),
    }
}

/// A tus response: status, `Tus-Resumable`, and the upload's offset, length and expiry.
fn tus_response(status: StatusCode, row: Option<&upload::Model>) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    if let Some(row) = row {
        headers.insert("upload-offset", HeaderValue::from(row.offset));
        headers.insert("upload-length", HeaderValue::from(row.length));
        // IMF-fixdate (RFC 9110): a two-digit day and `GMT`.
        let expires = row
            .expires_at
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        if let Ok(expires) = HeaderValue::from_str(&expires) {
            headers.insert("upload-expires", expires);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Receives a body in a task of its own: when the connection drops, the request's future is
/// cancelled, but the task goes on to the end of the body, so what arrived is kept.
async fn receive_detached(
    state: MediaState,
    row: upload::Model,
    headers: HeaderMap,
    body: Body,
    lease: uploads::Lease,
) -> Result<upload::Model, ApiError> {
    tokio::spawn(async move { uploads::receive(&state, row, &headers, body, lease).await })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("receiving an upload: {e}")))?
}

/// What the server speaks.
#[utoipa::path(options, path = "/api/v1/uploads", tag = "media", responses((status = 204, description = "tus capabilities in headers")))]
async fn options_uploads(State(state): State<MediaState>) -> Response {
    let mut response = tus_response(StatusCode::NO_CONTENT, None);
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(TUS_EXTENSIONS));
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static("sha1,sha256"),
    );
    headers.insert("tus-max-size", HeaderValue::from(state.limits.largest()));
    response
}

/// Creates an upload (tus creation; with a body, creation-with-upload). `Upload-Metadata`
/// carries `kind`, `sha256`, `filename` and `attempt_id` or `document_id` (the caller must see
/// that record), and optionally `captured_at` (RFC 3339), `lat` and `lon` (degrees): when and
/// where the file was made, used when its bytes carry no EXIF, and `client_key`, the phone's own
/// key for the file (1 to 100 characters of printable ASCII). A file the server already holds
/// finishes at once (`Upload-Offset` = length). A creation repeated with the same `client_key`
/// for the same file and record is answered the upload already made, with its `Location` and
/// offset; its body is taken only while that upload stands at 0 (else the client resumes from
/// the offset).
#[utoipa::path(post, path = "/api/v1/uploads", tag = "media", security(("bearer" = [])),
    responses(
        (status = 201, description = "created; `Location` names the upload"),
        (status = 400, body = sync_protocol::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such attempt or document in scope", body = sync_protocol::Problem, content_type = "application/problem+json"),
        (status = 413, body = sync_protocol::Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn create_upload(
    State(state): State<MediaState>,
    user: AuthUser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_tus(&headers)?;
    if headers.contains_key("upload-concat") {
        return Err(declaration::bad(
            "Upload-Concat: the concatenation extension is not supported; send the file as one upload",
        ));
    }
    let declaration = declaration::declaration(&headers, &state.limits)?;
    let with_body = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/offset+octet-stream");
    let (mut row, lease) = uploads::create(&state, &user, &declaration, with_body).await?;
    // The body is the file's first bytes: an upload standing further on (made by an earlier
    // creation with the same `client_key`) does not take it, and its client reads the offset
    // answered and goes on from there.
    if with_body && row.offset == 0 && row.offset < row.length {
        let mut patch_headers = headers.clone();
        patch_headers.insert("upload-offset", HeaderValue::from(0));
        row = receive_detached(state, row, patch_headers, body, lease).await?;
    }
    let mut response = tus_response(StatusCode::CREATED, Some(&row));
    let location = HeaderValue::from_str(&format!("/api/v1/uploads/{}", row.id))
        .map_err(|e| anyhow::anyhow!(e))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// Where an upload stands. While a PATCH still holds the upload (a client asking right after
/// its connection was cut, before the server has kept what arrived), the answer waits a moment
/// for it to finish, so the offset given is where to resume.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "upload id")),
    responses((status = 200, description = "`Upload-Offset` and `Upload-Length` in headers"), (status = 404, description = "no such upload")))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn head_upload(
    State(state): State<MediaState>,
    user: AuthUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    check_tus(&headers)?;
    let row = uploads::settled(&state, &user, id).await?;
    Ok(tus_response(StatusCode::OK, Some(&row)))
}

/// Appends bytes at `Upload-Offset` (tus core; `Upload-Checksum` makes the chunk all-or-nothing,
/// a mismatch answers 460). The last byte stores and links the file.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "upload id")),
    responses(
        (status = 204, description = "received; `Upload-Offset` is the new offset"),
        (status = 409, description = "offset mismatch", body = sync_protocol::Problem, content_type = "application/problem+json"),
        (status = 422, description = "the whole file's size or SHA-256 differs from the declaration", body = sync_protocol::Problem, content_type = "application/problem+json"),
        (status = 460, description = "checksum mismatch", body = sync_protocol::Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn patch_upload(
    State(state): State<MediaState>,
    user: AuthUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    body: Body,
) -> Result<Response, ApiError> {
    check_tus(&headers)?;
    let row = uploads::find(&state, &user, id).await?;
    let from_start = headers
        .get("upload-offset")
        .is_some_and(|v| v.as_bytes() == b"0");
    if row.offset >= row.length && from_start {
        // Finished at creation (the server had the file): a standard client that sends the file
        // from 0 without reading the creation's offset is told it is complete; nothing is read.
        return Ok(tus_response(StatusCode::NO_CONTENT, Some(&row)));
    }
    if row.offset >= row.length {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::OffsetMismatch,
            format!(
                "the upload is complete at {} bytes: nothing more is taken",
                row.length
            ),
        ));
    }
    let row = receive_detached(state, row, headers, body, uploads::Lease::Take).await?;
    Ok(tus_response(StatusCode::NO_CONTENT, Some(&row)))
}

/// Ends an upload and deletes what it received (tus termination).
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "upload id")),
    responses((status = 204, description = "terminated"), (status = 404, description = "no such upload")))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn delete_upload(
    State(state): State<MediaState>,
    user: AuthUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    check_tus(&headers)?;
    let row = uploads::find(&state, &user, id).await?;
    uploads::terminate(&state, row).await?;
    Ok(tus_response(StatusCode::NO_CONTENT, None))
}
