//! `GET /api/v1/media/{id}`: an original, streamed, with HTTP Range (audio players seek),
//! scoped like the case it belongs to.

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt as _;
use sync_protocol::{ErrorCode, Problem};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use axum::extract::{FromRef, FromRequestParts};

use crate::auth::AuthUser;
use crate::db::entity::media_object;
use crate::error::{ApiError, Path};
use crate::media::MediaState;

/// The download routes.
/// Generic over the server's state `S`, which hands out [`MediaState`].
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    MediaState: FromRef<S>,
    AuthUser: FromRequestParts<S, Rejection = ApiError>,
{
    OpenApiRouter::new()
        .routes(routes!(get_media))
        .routes(routes!(get_thumbnail))
}

/// The media object `id` if the caller sees its case (else 404, like a missing one), its read
/// recorded in the audit log (R23: evidence about a minor).
async fn read_in_scope(
    state: &MediaState,
    user: &AuthUser,
    peer: std::net::SocketAddr,
    id: Uuid,
    thumbnail: bool,
) -> Result<media_object::Model, ApiError> {
    let media = crate::db::media::find_in_scope(&state.db.read, user.scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("media"))?;
    crate::audit::record(
        &state.db.write,
        user,
        Some(peer.ip()),
        crate::audit::Action::ReadEvidence,
        Some(id),
        serde_json::json!({ "case_id": media.case_id, "sha256": media.sha256, "thumbnail": thumbnail }),
    )
    .await?;
    Ok(media)
}

/// The thumbnail of an image (a JPEG at most 320 pixels a side; derived, not evidence).
#[utoipa::path(get, path = "/api/v1/media/{id}/thumbnail", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "media object id")),
    responses(
        (status = 200, description = "the thumbnail", content_type = "image/jpeg"),
        (status = 404, description = "no such media in scope, or no thumbnail", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn get_thumbnail(
    State(state): State<MediaState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    thumbnail(&state, &user, peer, id).await
}

/// The thumbnail of the image `id` if `user` sees its case, its read audited.
pub async fn thumbnail(
    state: &MediaState,
    user: &AuthUser,
    peer: std::net::SocketAddr,
    id: Uuid,
) -> Result<Response, ApiError> {
    let media = read_in_scope(state, user, peer, id, true).await?;
    if !media.content_type.starts_with("image/") {
        return Err(ApiError::not_found("thumbnail"));
    }
    let jpeg = super::derive::thumbnail(state, &media.sha256)
        .await
        .map_err(|e| ApiError::Internal(e.context("reading a thumbnail")))?
        .ok_or_else(|| ApiError::not_found("thumbnail"))?;
    let mut response = Body::from(jpeg).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    out.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// A `Range` header that cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A single byte range of an object of `size` bytes, from a `Range` header. `Ok(None)` serves
/// the whole object (no header, or several ranges).
pub fn parse_range(
    header: Option<&str>,
    size: u64,
) -> Result<Option<std::ops::Range<u64>>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| Unsatisfiable)?;
            size.saturating_sub(n)..size
        }
        (start, "") => start.parse::<u64>().map_err(|_| Unsatisfiable)?..size,
        (start, end) => {
            start.parse::<u64>().map_err(|_| Unsatisfiable)?
                ..end
                    .parse::<u64>()
                    .map_err(|_| Unsatisfiable)?
                    .saturating_add(1)
                    .min(size)
        }
    };
    if range.start >= range.end || range.start >= size {
        return Err(Unsatisfiable);
    }
    Ok(Some(range))
}

/// RFC 5987 encoding of a file name for `Content-Disposition`.
fn encode_file_name(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The original of a media object. `Range: bytes=a-b` answers 206 with those bytes.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "media object id")),
    responses(
        (status = 200, description = "the original"),
        (status = 206, description = "the requested range"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 416, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
async fn get_media(
    State(state): State<MediaState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    user: AuthUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    original(&state, &user, peer, &headers, id).await
}

/// The original `id` if `user` sees its case, its read audited; the `Range` of `headers` answers
/// 206 with those bytes.
pub async fn original(
    state: &MediaState,
    user: &AuthUser,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    id: Uuid,
) -> Result<Response, ApiError> {
    let media = read_in_scope(state, user, peer, id, false).await?;
    let size = u64::try_from(media.size).unwrap_or(0);
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    )
    .map_err(|Unsatisfiable| {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::InvalidParameter,
            format!("the object has {size} bytes"),
        )
    })?;
    let storage_error = |e| ApiError::Internal(anyhow::anyhow!("reading media {id}: {e}"));
    let stream = state
        .storage
        .read_stream(&media.sha256, range.clone())
        .await
        .map_err(storage_error)?;
    let body = Body::from_stream(stream.map_err(std::io::Error::other));
    let (status, length, content_range) = match range {
        Some(range) => (
            StatusCode::PARTIAL_CONTENT,
            range.end - range.start,
            Some(format!("bytes {}-{}/{size}", range.start, range.end - 1)),
        ),
        None => (StatusCode::OK, size, None),
    };
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    let content_type = HeaderValue::from_str(&media.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        encode_file_name(&media.file_name)
    );
    out.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| anyhow::anyhow!(e))?,
    );
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{}\"", media.sha256)).map_err(|e| anyhow::anyhow!(e))?,
    );
    if let Some(content_range) = content_range {
        out.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&content_range).map_err(|e| anyhow::anyhow!(e))?,
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_http_says() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=2-4"), 10), Ok(Some(2..5)));
        assert_eq!(parse_range(Some("bytes=7-"), 10), Ok(Some(7..10)));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some(7..10)));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), Ok(Some(5..10)));
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(Unsatisfiable));
        assert_eq!(parse_range(Some("bytes=x-"), 10), Err(Unsatisfiable));
        assert_eq!(encode_file_name("家访 1.jpg"), "%E5%AE%B6%E8%AE%BF%201.jpg");
    }
}
