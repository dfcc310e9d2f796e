//! The OpenAPI document, built from the same route table the server serves.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "控辍保学 sync and ledger API", description = "Sync, case ledger and evidence service for dropout field work."),
    modifiers(&BearerAuth),
    components(schemas(sync_protocol::Problem, sync_protocol::ErrorCode)),
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the routes refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// Every documented route, with the document they make.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::observability::router())
        .merge(crate::auth::routes::router())
        .merge(crate::cases::routes::router())
        .merge(crate::cases::changes::router())
        .merge(crate::ledger::routes::router())
        .merge(crate::reports::routes::router())
        .merge(crate::students::routes::router())
        .merge(crate::sync::routes::router())
        .merge(crate::media::routes::router())
        .merge(crate::media::download::router())
        .merge(crate::media::profile::router())
        .merge(crate::calendar::routes::router())
}
