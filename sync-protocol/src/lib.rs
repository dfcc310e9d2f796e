//! Wire types shared by the server and every client: ids, roles, requests, responses and the
//! stable error codes. No I/O lives here, so a phone core can embed it as it is.

pub mod auth;
pub mod calendar;
pub mod cases;
pub mod chain;
pub mod detail;
pub mod error;
pub mod evidence;
pub mod flags;
pub mod hlc;
pub mod ids;
pub mod media;
pub mod merge;
pub mod org;
pub mod plausible;
pub mod reports;
pub mod signing;
pub mod students;
pub mod sync;

pub use error::{ErrorCode, Problem};
pub use ids::*;
