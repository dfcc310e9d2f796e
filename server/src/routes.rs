//! The route table: every route the server serves, by capability, and the application around
//! them (the OpenAPI document's own route, the fallbacks, the body limit, metrics, tracing, CORS).
//! The document is made from the same table (`openapi.rs` completes it).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use sync_protocol::ErrorCode;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every documented route, with the document they make.
pub fn table() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(crate::observability::router())
        .merge(crate::auth::routes::router())
        .merge(crate::cases::routes::router())
        .merge(crate::cases::edits::router())
        .merge(crate::chain::routes::router())
        .merge(crate::reports::routes::router())
        .merge(crate::students::routes::router())
        .merge(crate::sync::routes::router())
        .merge(crate::media::routes::router())
        .merge(crate::media::download::router())
        .merge(crate::media::profile::router())
        .merge(crate::calendar::routes::router())
        .merge(crate::signing::routes::router())
        .merge(crate::plausibility::routes::router())
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, document) = table().split_for_parts();
    let document = std::sync::Arc::new(crate::openapi::complete(&document));
    let max_json = state.config.max_json_bytes;
    let cors = cors_for(&state.config.cors_origins);
    api.merge(crate::console::router())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .fallback(|| async {
            crate::error::problem_response(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                Some("no such route".into()),
            )
        })
        .method_not_allowed_fallback(|| async {
            crate::error::problem_response(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                Some("method not allowed on this route".into()),
            )
        })
        .layer(DefaultBodyLimit::max(max_json))
        .layer(axum::middleware::from_fn(crate::observability::track))
        .layer(TraceLayer::new_for_http())
        .layer(tower::util::option_layer(cors))
        .with_state(state)
}

/// Cross-origin calls from browser pages on `origins` (none: no CORS headers at all): tus
/// uploads and downloads, with the headers a tus client or a player reads exposed.
fn cors_for(origins: &[axum::http::HeaderValue]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, Method, header};
    if origins.is_empty() {
        return None;
    }
    let names = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    let tus = [
        "tus-resumable",
        "tus-version",
        "tus-extension",
        "tus-max-size",
        "tus-checksum-algorithm",
        "upload-length",
        "upload-offset",
        "upload-expires",
    ];
    let mut allowed = names(&tus);
    allowed.extend(names(&[
        "upload-metadata",
        "upload-checksum",
        "upload-concat",
        "upload-defer-length",
        "x-http-method-override",
        "x-request-id",
    ]));
    allowed.extend([header::AUTHORIZATION, header::CONTENT_TYPE, header::RANGE]);
    let mut exposed = names(&tus);
    exposed.extend([
        header::LOCATION,
        header::CONTENT_RANGE,
        header::ACCEPT_RANGES,
        header::CONTENT_DISPOSITION,
        header::ETAG,
        header::RETRY_AFTER,
    ]);
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers(allowed)
            .expose_headers(exposed)
            .max_age(std::time::Duration::from_secs(600)),
    )
}
