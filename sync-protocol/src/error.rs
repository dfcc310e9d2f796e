//! The problem document (RFC 9457) every API error is sent as, and its stable machine codes.
//! An app shows its own words for a code; `detail` is for people reading logs.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. New codes may be added; existing ones never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is JSON but a field is missing, of the wrong type, or not allowed.
    InvalidBody,
    /// A path or query parameter is malformed.
    InvalidParameter,
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// The request has the wrong content type.
    UnsupportedMediaType,
    /// No bearer token, or one that is malformed, expired, forged or revoked.
    Unauthenticated,
    /// Username or password wrong; the message never says which.
    InvalidCredentials,
    /// The refresh token is unknown, expired, already used or revoked.
    InvalidRefreshToken,
    /// Too many failed logins for this account or address; retry after the given delay.
    TooManyAttempts,
    /// The caller's role may not do this.
    Forbidden,
    /// No such record in the caller's scope (records outside the scope look the same).
    NotFound,
    /// The method is not allowed on this path.
    MethodNotAllowed,
    /// The client speaks a protocol version older than the server accepts: update the app.
    ClientTooOld,
    /// The client speaks a protocol version newer than this server knows.
    UnsupportedProtocol,
    /// A mutation id was sent again with a different body (a client bug; nothing was applied).
    MutationIdReused,
    /// tus: the request lacks `Tus-Resumable: 1.0.0`.
    TusVersion,
    /// tus: `Upload-Offset` is not where the upload stands; ask with HEAD and resume from there.
    OffsetMismatch,
    /// tus: the chunk's `Upload-Checksum` does not match its bytes; the offset did not move.
    ChecksumMismatch,
    /// tus: another request is still writing this upload; ask again with HEAD shortly.
    UploadBusy,
    /// The finished upload's size or SHA-256 differs from the declaration; the bytes were removed.
    HashMismatch,
    /// An image declares more pixels than the server decodes (a decompression bomb); refused.
    ImageTooLarge,
    /// The case machine has no such move (for example, closing a case still at school).
    IllegalTransition,
    /// The move is legal but the case lacks what it requires; the detail lists what is missing.
    RequirementsUnmet,
    /// The student already has an open case (the ledger keeps one row per episode).
    CaseAlreadyOpen,
    /// The server failed; the detail is in its logs.
    Internal,
    /// The server cannot serve now (for example, the database is unreachable).
    Unavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::InvalidParameter => "invalid_parameter",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::TooManyAttempts => "too_many_attempts",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ClientTooOld => "client_too_old",
            Self::UnsupportedProtocol => "unsupported_protocol",
            Self::MutationIdReused => "mutation_id_reused",
            Self::TusVersion => "tus_version",
            Self::OffsetMismatch => "offset_mismatch",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::UploadBusy => "upload_busy",
            Self::HashMismatch => "hash_mismatch",
            Self::ImageTooLarge => "image_too_large",
            Self::IllegalTransition => "illegal_transition",
            Self::RequirementsUnmet => "requirements_unmet",
            Self::CaseAlreadyOpen => "case_already_open",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }
}

/// An `application/problem+json` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stable machine code.
    pub code: ErrorCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_the_serialized_form() {
        for code in [
            ErrorCode::MalformedJson,
            ErrorCode::TooManyAttempts,
            ErrorCode::NotFound,
        ] {
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
