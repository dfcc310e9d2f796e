//! Sync: `push` applies a batch of mutations exactly once each, `pull` serves every change the
//! caller may see since a cursor. The merge rules themselves are `sync_protocol::merge`.

pub(crate) mod apply;
pub mod pull;
pub mod push;
pub mod routes;
pub mod shape;

use axum::http::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::sync::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};

use crate::error::ApiError;

/// Refuses clients whose protocol version the server does not speak.
pub fn check_protocol(version: u32) -> Result<(), ApiError> {
    if version < MIN_PROTOCOL_VERSION {
        return Err(ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::ClientTooOld,
            format!(
                "protocol {version} is too old; this server needs {MIN_PROTOCOL_VERSION} or later: update the app"
            ),
        ));
    }
    if version > PROTOCOL_VERSION {
        return Err(ApiError::Malformed {
            code: ErrorCode::UnsupportedProtocol,
            detail: format!("protocol {version} is newer than this server's {PROTOCOL_VERSION}"),
        });
    }
    Ok(())
}
