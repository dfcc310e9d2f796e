//! `GET /api/v1/media/profile`: how the phones of this server prepare photos before they go up
//! (`PHOTO_LONG_SIDE`, `PHOTO_QUALITY`); a district on slow links sets them lower.

use axum::extract::State;
use sync_protocol::Problem;
use sync_protocol::media::MediaProfile;
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::{FromRef, FromRequestParts};

use crate::auth::AuthUser;
use crate::error::{ApiError, Json};
use crate::media::MediaState;

/// The profile route.
/// Generic over the server's state `S`, which hands out [`MediaState`].
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    MediaState: FromRef<S>,
    AuthUser: FromRequestParts<S, Rejection = ApiError>,
{
    OpenApiRouter::new().routes(routes!(get_profile))
}

/// The longest side and the JPEG quality of the photos the phones send, as the server is
/// configured; every role may ask.
#[utoipa::path(get, path = "/api/v1/media/profile", tag = "media", security(("bearer" = [])),
    responses(
        (status = 200, body = MediaProfile),
        (status = 401, description = "no valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user.id))]
async fn get_profile(State(state): State<MediaState>, _user: AuthUser) -> Json<MediaProfile> {
    Json(state.profile)
}
