//! The sync and case-ledger service for dropout field work (控辍保学).
//!
//! [`router`] builds the HTTP application from the route table (`routes.rs`) and [`serve`] runs
//! it on a listener until a shutdown signal; `main.rs` and the tests both use them.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod chain;
pub mod commands;
pub mod config;
pub mod console;
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
pub mod plausibility;
pub mod records;
pub mod reports;
pub mod routes;
pub mod secret;
pub mod signing;
pub mod state;
pub mod storage;
pub mod students;
pub mod sync;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use routes::router;
pub use state::AppState;

/// Serves the application on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(media::uploads::sweep_expired(state.clone()));
    let keeper = tokio::spawn(cases::due_store::keep(state.clone()));
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
    keeper.abort();
    served
}
