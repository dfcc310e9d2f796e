//! `ApiError`: every failure a handler can answer with, sent as `application/problem+json` with a
//! stable code. A 500 logs its cause and sends a generic body.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_protocol::{ErrorCode, Problem};

/// An error a request ends in, named by what happened; `ApiError::parts` is the one mapping
/// from what happened to the HTTP status of its problem+json answer. Domain code says what
/// happened; only the HTTP layer (tus, byte ranges) picks a status itself ([`ApiError::Http`]).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request does not parse, or a parameter is malformed (400).
    #[error("{detail}")]
    Malformed {
        /// The stable code.
        code: ErrorCode,
        /// What is wrong, in words.
        detail: String,
    },
    /// The caller is not signed in, or what they signed in with is not valid (401).
    #[error("{detail}")]
    Unauthenticated {
        /// The stable code.
        code: ErrorCode,
        /// What is wrong, in words.
        detail: String,
    },
    /// The caller's role may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The record does not exist in the caller's scope (404): the detail, which names what was
    /// looked for (see [`ApiError::not_found`]).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored (409).
    #[error("{detail}")]
    Conflict {
        /// The stable code.
        code: ErrorCode,
        /// What is wrong, in words.
        detail: String,
    },
    /// The request is well-formed but breaks a rule (422).
    #[error("{detail}")]
    Invalid {
        /// The stable code.
        code: ErrorCode,
        /// What is wrong, in words.
        detail: String,
    },
    /// An answer of the HTTP protocol itself (a tus version, an offset, a byte range, a size or
    /// media type the transport refuses), whose status the route picks.
    #[error("{detail}")]
    Http {
        /// The status, one of the 4xx or 503.
        status: StatusCode,
        /// The stable code.
        code: ErrorCode,
        /// What is wrong, in words.
        detail: String,
    },
    /// Too many failed attempts; retry after this many seconds.
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    TooManyAttempts {
        /// Seconds until the next try may succeed.
        retry_after_secs: u64,
    },
    /// The database failed.
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    /// Anything else that is the server's fault.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// An answer of the HTTP protocol with `status` (for the HTTP layer only; domain code uses
    /// the variant that says what happened).
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Http {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// The record does not exist in the caller's scope.
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("no such {what}"))
    }

    /// The caller is not signed in, or their token is not valid.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::Unauthenticated {
            code: ErrorCode::Unauthenticated,
            detail: detail.into(),
        }
    }

    /// The caller's role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }

    /// A path or query parameter is malformed.
    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        Self::Malformed {
            code: ErrorCode::InvalidParameter,
            detail: detail.into(),
        }
    }

    /// The request conflicts with what is stored.
    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// The request is well-formed but breaks a rule.
    pub fn invalid(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// The one mapping from what happened to the status, code and detail of the answer.
    fn parts(&self) -> (StatusCode, ErrorCode, Option<String>) {
        let detail = Some(self.to_string());
        match self {
            Self::Malformed { code, .. } => (StatusCode::BAD_REQUEST, *code, detail),
            Self::Unauthenticated { code, .. } => (StatusCode::UNAUTHORIZED, *code, detail),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden, detail),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, detail),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, *code, detail),
            Self::Invalid { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *code, detail),
            Self::Http { status, code, .. } => (*status, *code, detail),
            Self::TooManyAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                detail,
            ),
            Self::Database(_) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, None)
            }
        }
    }
}

/// A problem+json response for `status` and `code`.
pub fn problem_response(status: StatusCode, code: ErrorCode, detail: Option<String>) -> Response {
    let problem = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        code,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let mut response = problem_response(status, code, detail);
        if let Self::TooManyAttempts { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::JsonSyntaxError(_) => Self::Malformed {
                code: ErrorCode::MalformedJson,
                detail,
            },
            JsonRejection::JsonDataError(_) => Self::invalid(ErrorCode::InvalidBody, detail),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "expected `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    detail,
                )
            }
            _ => Self::new(rejection.status(), ErrorCode::InvalidBody, detail),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::invalid_parameter(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::invalid_parameter(rejection.body_text())
    }
}

/// `Json<T>` whose rejection is a problem+json [`ApiError`].
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Path<T>` whose rejection is a problem+json [`ApiError`].
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `Query<T>` whose rejection is a problem+json [`ApiError`].
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);
