//! The sync and case-ledger service for dropout field work (控辍保学).
//!
//! [`router`] builds the HTTP application and [`serve`] runs it on a listener until a shutdown
//! signal; `main.rs` and the tests both use them.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod chain;
pub mod config;
pub mod data_dir;
pub mod db;
pub mod demo;
pub mod digest;
pub mod error;
pub mod instance;
pub mod keys;
pub mod media;
pub mod memory;
pub mod observability;
pub mod openapi;
pub mod personal_data;
pub mod records;
pub mod reports;
pub mod secret;
pub mod state;
pub mod storage;
pub mod students;
pub mod sync;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use sync_protocol::ErrorCode;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use state::AppState;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, document) = openapi::routes().split_for_parts();
    let document = std::sync::Arc::new(openapi::complete(&document));
    let max_json = state.config.max_json_bytes;
    let cors = cors_for(&state.config.cors_origins);
    api.route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json(document.as_ref().clone()) }
        }),
    )
    .fallback(|| async {
        error::problem_response(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            Some("no such route".into()),
        )
    })
    .method_not_allowed_fallback(|| async {
        error::problem_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            Some("method not allowed on this route".into()),
        )
    })
    .layer(DefaultBodyLimit::max(max_json))
    .layer(axum::middleware::from_fn(observability::track))
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

/// Serves the application on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(media::uploads::sweep_expired(state.clone()));
    // The method override is read before routing, so it wraps the router.
    let app = tower::Layer::layer(
        &axum::middleware::map_request(media::routes::method_override),
        router(state),
    );
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
        SocketAddr,
    >(app);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    served
}
