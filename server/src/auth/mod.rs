//! Accounts and sessions: account changes, passwords, access tokens, rotating refresh tokens, login throttling
//! and the `AuthUser` extractor.

pub mod accounts;
pub mod extractor;
pub mod password;
pub mod routes;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use extractor::AuthUser;
