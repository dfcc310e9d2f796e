//! `ApiError`: every failure a handler can answer with, sent as `application/problem+json` with a
//! stable code. A 500 logs its cause and sends a generic body.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_protocol::{ErrorCode, Problem};

/// An error a request ends in.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong; `detail` says how.
    #[error("{detail}")]
    BadRequest {
        /// The status, one of the 4xx.
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
    /// A 4xx with a code and a detail.
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// 404: the record does not exist in the caller's scope.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no such {what}"),
        )
    }

    /// 401: the caller is not signed in, or their token is not valid.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, detail)
    }

    /// 403: the caller's role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, detail)
    }

    /// 400: a path or query parameter is malformed.
    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidParameter, detail)
    }

    fn parts(&self) -> (StatusCode, ErrorCode, Option<String>) {
        match self {
            Self::BadRequest {
                status,
                code,
                detail,
            } => (*status, *code, Some(detail.clone())),
            Self::TooManyAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                Some(self.to_string()),
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
            JsonRejection::JsonSyntaxError(_) => {
                Self::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, detail)
            }
            JsonRejection::JsonDataError(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidBody,
                detail,
            ),
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
