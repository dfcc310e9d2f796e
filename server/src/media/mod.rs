//! Media evidence: resumable uploads (tus 1.0.0: creation, creation-with-upload, checksum,
//! termination, expiration) into the object store, linked to an attempt or document of a case;
//! and the profile the phones prepare photos by.

pub mod declaration;
pub mod derive;
pub mod download;
pub mod probe;
pub mod profile;
pub mod routes;
pub mod sniff;
pub mod upload_hash;
pub mod uploads;
