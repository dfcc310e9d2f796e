//! The offline-first core a phone app embeds. So far: the typed API client that signs in, keeps
//! its tokens fresh and reads the ledger. The local store, outbox and sync engine build on it.

pub mod api;

pub use api::{Client, ClientError};
