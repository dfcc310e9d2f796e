//! The SHA-256 of an upload's bytes, carried from one PATCH to the next in the upload's row: the
//! hash state after the first `offset` bytes is saved with the offset, so whichever instance
//! receives the next bytes, after a restart too, continues it, and a finished upload is never
//! read back to be hashed.

use sha2::digest::common::hazmat::{SerializableState as _, SerializedState};
use sha2::{Digest as _, Sha256};

/// The hash state saved with an upload's offset does not continue its bytes.
#[derive(Debug, thiserror::Error)]
#[error("upload stands at byte {offset} but its saved hash state is {found}")]
pub struct ResumeError {
    offset: u64,
    found: &'static str,
}

/// The hash of the first `offset` bytes of an upload, from the state saved with that offset
/// (none at offset 0).
pub fn resume(saved: Option<&[u8]>, offset: u64) -> Result<Sha256, ResumeError> {
    let refused = |found| ResumeError { offset, found };
    match saved {
        None if offset == 0 => Ok(Sha256::new()),
        None => Err(refused("missing")),
        Some(bytes) => {
            let state = SerializedState::<Sha256>::try_from(bytes)
                .map_err(|_| refused("of the wrong size"))?;
            Sha256::deserialize(&state).map_err(|_| refused("not a SHA-256 state"))
        }
    }
}

/// The state of `hash`, to save with the offset it reached.
pub fn save(hash: &Sha256) -> Vec<u8> {
    hash.serialize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_hash_continues_to_the_hash_of_the_whole() {
        let mut first = resume(None, 0).expect("a new upload starts a hash");
        first.update(b"abc");
        let saved = save(&first);
        let mut rest = resume(Some(&saved), 3).expect("it continues from 3");
        rest.update(b"def");
        assert_eq!(rest.finalize(), Sha256::digest(b"abcdef"));
    }

    #[test]
    fn a_missing_or_broken_state_is_refused() {
        assert!(resume(None, 5).is_err(), "bytes but no state");
        assert!(resume(Some(b"short"), 5).is_err());
    }
}
