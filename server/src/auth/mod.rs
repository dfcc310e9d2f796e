//! Accounts and sessions: account changes, passwords, access tokens, rotating refresh tokens, login throttling,
//! the `AuthUser` extractor and the scope every query is filtered by.

pub mod accounts;
pub mod extractor;
pub mod password;
pub mod routes;
pub mod scope;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use extractor::AuthUser;
pub use scope::Scope;
