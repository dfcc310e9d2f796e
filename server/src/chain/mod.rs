//! Tamper evidence as a service: verifying a case's hash chain (its events are appended by
//! [`crate::db::chain`] in the writing transaction) and the route that reports it.

pub mod routes;
pub mod verify;
