//! The OpenAPI document, built from the same route table the server serves (`routes.rs`).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// The document's frame before the routes add their paths: title, the `bearer` scheme and the
/// problem schemas every route answers with.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// A problem+json response described by `description`.
fn problem(description: &str) -> serde_json::Value {
    serde_json::json!({
        "description": description,
        "content": {
            "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } }
        }
    })
}

/// A required header parameter `name` with `schema`.
fn header(name: &str, description: &str, schema: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "name": name, "in": "header", "required": true, "description": description, "schema": schema,
    })
}

/// The document as served: `document` with what every route answers written out once here
/// rather than on each route: a description on every response, 401 on every operation that
/// needs a token, 400 wherever there is a parameter or a body, 404 wherever a path names a
/// record, 413/415/422 for JSON bodies, and
/// on tus routes the `Tus-Resumable` header (412 without it) and the creation and PATCH headers.
pub fn complete(document: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(document).unwrap_or_default();
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, method, op);
            }
        }
    }
    doc
}

type Operation = serde_json::Map<String, serde_json::Value>;

/// Writes into `op` (the `method` of `path`) what every such operation answers.
fn complete_operation(path: &str, method: &str, op: &mut Operation) {
    let tus = path.starts_with("/api/v1/uploads") && method != "options";
    let added = shared_answers(path, op, tus);
    let responses = op
        .entry("responses")
        .or_insert_with(|| serde_json::json!({}));
    if let Some(responses) = responses.as_object_mut() {
        for (status, description) in added {
            responses
                .entry(status)
                .or_insert_with(|| problem(description));
        }
        for (status, response) in responses.iter_mut() {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("answer");
            if let Some(response) = response.as_object_mut() {
                response
                    .entry("description")
                    .or_insert_with(|| reason.into());
            }
        }
    }
    if tus {
        let parameters = op
            .entry("parameters")
            .or_insert_with(|| serde_json::json!([]));
        if let Some(parameters) = parameters.as_array_mut() {
            parameters.extend(tus_headers(method));
        }
    }
}

/// The problem answers `op` on `path` may give without declaring them, with their descriptions.
fn shared_answers(path: &str, op: &Operation, tus: bool) -> Vec<(&'static str, &'static str)> {
    let secured = op
        .get("security")
        .and_then(|s| s.as_array())
        .is_some_and(|s| !s.is_empty());
    let has_parameters = op
        .get("parameters")
        .and_then(|p| p.as_array())
        .is_some_and(|p| !p.is_empty());
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.pointer("/content/application~1json"))
        .is_some();
    let mut added = Vec::new();
    if secured {
        added.push(("401", "no valid access token (`unauthenticated`)"));
    }
    if has_parameters || json_body || tus {
        added.push(("400", "a parameter, header or body is malformed"));
    }
    if path.contains('{') {
        added.push(("404", "no such record in the caller's scope"));
    }
    if json_body {
        added.push(("413", "the body is larger than `MAX_JSON_BYTES`"));
        added.push(("415", "the body is not `application/json`"));
        added.push(("422", "the body is JSON of the wrong shape"));
    }
    if tus {
        added.push(("412", "`Tus-Resumable` is missing or not 1.0.0"));
    }
    added
}

/// The headers a tus request with `method` carries.
fn tus_headers(method: &str) -> Vec<serde_json::Value> {
    let mut headers = vec![header(
        "Tus-Resumable",
        "the tus protocol version",
        serde_json::json!({ "type": "string", "enum": ["1.0.0"] }),
    )];
    match method {
        "post" => {
            headers.push(header(
                "Upload-Length",
                "the file's size in bytes",
                serde_json::json!({ "type": "integer", "minimum": 1 }),
            ));
            headers.push(header(
                "Upload-Metadata",
                "comma-separated `key base64value` pairs: kind, sha256, filename, attempt_id or document_id",
                serde_json::json!({ "type": "string", "minLength": 1 }),
            ));
        }
        "patch" => {
            headers.push(header(
                "Upload-Offset",
                "where the body's bytes go: the upload's offset",
                serde_json::json!({ "type": "integer", "minimum": 0 }),
            ));
            headers.push(header(
                "Content-Type",
                "the tus body type",
                serde_json::json!({ "type": "string", "enum": ["application/offset+octet-stream"] }),
            ));
        }
        _ => {}
    }
    headers
}
