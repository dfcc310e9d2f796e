//! Sealing minors' personal data at rest (XChaCha20-Poly1305 with a key id), and the keyed hash
//! through which a national ID number is looked up without storing it in the clear.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::KeyMaterial;

/// The sealing context of a personal-data field: its table, field and record.
pub fn seal_context(table: &str, field: &str, id: uuid::Uuid) -> String {
    format!("{table}.{field}:{id}")
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The value is not in the `kid.base64` form.
    #[error("sealed value is malformed")]
    Malformed,
    /// The value names a key the server does not hold.
    #[error("sealed with unknown key `{0}`")]
    UnknownKey(String),
    /// The value was altered, or belongs to another record or field.
    #[error("sealed value failed authentication")]
    Tampered,
}

/// Seals and opens personal data; the first data key seals, every data key opens.
#[derive(Clone)]
pub struct Sealer {
    current: String,
    ciphers: BTreeMap<String, XChaCha20Poly1305>,
    lookup: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

const NONCE_LEN: usize = 24;

impl Sealer {
    /// Builds the sealer from the data keys and the lookup key.
    pub fn new(keys: &KeyMaterial) -> anyhow::Result<Self> {
        let current = keys
            .data
            .first()
            .ok_or_else(|| anyhow::anyhow!("no data key configured"))?
            .id
            .clone();
        let ciphers = keys
            .data
            .iter()
            .map(|k| {
                XChaCha20Poly1305::new_from_slice(&k.bytes)
                    .map(|c| (k.id.clone(), c))
                    .map_err(|_| anyhow::anyhow!("data key `{}` must be 32 bytes", k.id))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            current,
            ciphers,
            lookup: keys.lookup.clone(),
        })
    }

    /// Seals `plain`, bound to `context` (table, field and record id) so a sealed value moved to
    /// another record or field no longer opens.
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let cipher = &self.ciphers[&self.current];
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 sealing of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{}.{}", self.current, B64.encode(out))
    }

    /// Opens a value made by [`Sealer::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let (kid, body) = sealed.split_once('.').ok_or(OpenError::Malformed)?;
        let cipher = self
            .ciphers
            .get(kid)
            .ok_or_else(|| OpenError::UnknownKey(kid.to_owned()))?;
        let bytes = B64.decode(body).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Tampered)?;
        String::from_utf8(plain).map_err(|_| OpenError::Tampered)
    }

    /// The lookup hash of a national ID number: HMAC-SHA256 over the normalised number, in hex.
    pub fn id_number_lookup(&self, id_number: &str) -> String {
        let normalised: String = id_number
            .trim()
            .to_uppercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.lookup)
            .expect("HMAC takes keys of any length");
        mac.update(normalised.as_bytes());
        crate::digest::hex(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::NamedKey;

    fn sealer_with(keys: Vec<NamedKey>) -> Sealer {
        let mut material = KeyMaterial::generate();
        material.data = keys;
        Sealer::new(&material).expect("sealer")
    }

    #[test]
    fn sealed_values_open_only_in_their_own_context() {
        let sealer = Sealer::new(&KeyMaterial::generate()).expect("sealer");
        let sealed = sealer.seal("110101201201011234", "students.id_number:1");
        assert!(!sealed.contains("1101012012"));
        assert_eq!(
            sealer.open(&sealed, "students.id_number:1").expect("open"),
            "110101201201011234"
        );
        assert!(matches!(
            sealer.open(&sealed, "students.id_number:2"),
            Err(OpenError::Tampered)
        ));
    }

    #[test]
    fn old_keys_still_open_after_rotation() {
        let old = NamedKey {
            id: "old".into(),
            bytes: vec![1; 32],
        };
        let new = NamedKey {
            id: "new".into(),
            bytes: vec![2; 32],
        };
        let before = sealer_with(vec![old.clone()]);
        let sealed = before.seal("13800000000", "ctx");
        let after = sealer_with(vec![new, old]);
        assert_eq!(after.open(&sealed, "ctx").expect("open"), "13800000000");
        assert!(after.seal("x", "ctx").starts_with("new."));
    }

    #[test]
    fn lookup_hash_ignores_case_and_spaces() {
        let sealer = Sealer::new(&KeyMaterial::generate()).expect("sealer");
        assert_eq!(
            sealer.id_number_lookup("11010120120101123x"),
            sealer.id_number_lookup(" 11010120120101123X ")
        );
        assert_ne!(sealer.id_number_lookup("1"), sealer.id_number_lookup("2"));
    }
}
