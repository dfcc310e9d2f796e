//! Key material: JWT signing keys and the keys that seal minors' personal data, each with a key id
//! so keys can rotate. From the environment, or a key file the embedded default makes on first start.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::secret::{ConfigError, Secret};

/// One key with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedKey {
    /// The key id (`kid`), stored beside everything the key signed or sealed.
    pub id: String,
    /// The raw key bytes, base64 in files and variables.
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

/// Every key the server uses. The first key of a list signs or seals; all of them verify or open.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterial {
    /// HMAC keys for access tokens (`SIGNING_KEYS`).
    pub signing: Vec<NamedKey>,
    /// 32-byte XChaCha20-Poly1305 keys for personal data (`DATA_KEYS`).
    pub data: Vec<NamedKey>,
    /// The HMAC key of the ID-number lookup hash (`LOOKUP_KEY`). It cannot rotate without re-hashing.
    #[serde(with = "base64_bytes")]
    pub lookup: Vec<u8>,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = |keys: &[NamedKey]| keys.iter().map(|k| k.id.clone()).collect::<Vec<_>>();
        f.debug_struct("KeyMaterial")
            .field("signing", &ids(&self.signing))
            .field("data", &ids(&self.data))
            .field("lookup", &Secret(()))
            .finish()
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Parses `kid:base64,kid:base64`, checking each key's length.
fn parse_key_list(
    name: &'static str,
    value: &str,
    len: std::ops::RangeInclusive<usize>,
) -> Result<Vec<NamedKey>, ConfigError> {
    let err = |reason: String| ConfigError { name, reason };
    let keys = value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (id, key) = part
                .split_once(':')
                .ok_or_else(|| err("each key is written `kid:base64`".into()))?;
            let bytes = B64
                .decode(key)
                .map_err(|e| err(format!("key `{id}` is not base64: {e}")))?;
            if !len.contains(&bytes.len()) {
                return Err(err(format!(
                    "key `{id}` has {} bytes; {}..={} are needed",
                    bytes.len(),
                    len.start(),
                    len.end()
                )));
            }
            Ok(NamedKey {
                id: id.to_owned(),
                bytes,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(err("no key given".into()));
    }
    Ok(keys)
}

impl KeyMaterial {
    /// Fresh random keys with ids `k1`.
    pub fn generate() -> Self {
        let random = |n: usize| (0..n).map(|_| rand::random::<u8>()).collect::<Vec<_>>();
        Self {
            signing: vec![NamedKey {
                id: "k1".into(),
                bytes: random(64),
            }],
            data: vec![NamedKey {
                id: "k1".into(),
                bytes: random(32),
            }],
            lookup: random(32),
        }
    }

    /// Reads keys from `SIGNING_KEYS`, `DATA_KEYS` and `LOOKUP_KEY`: all three or none.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let (signing, data, lookup) = (get("SIGNING_KEYS"), get("DATA_KEYS"), get("LOOKUP_KEY"));
        match (signing, data, lookup) {
            (None, None, None) => Ok(None),
            (Some(signing), Some(data), Some(lookup)) => Ok(Some(Self {
                signing: parse_key_list("SIGNING_KEYS", &signing, 32..=128)?,
                data: parse_key_list("DATA_KEYS", &data, 32..=32)?,
                lookup: B64.decode(lookup.trim()).map_err(|e| ConfigError {
                    name: "LOOKUP_KEY",
                    reason: format!("not base64: {e}"),
                })?,
            })),
            _ => Err(ConfigError {
                name: "SIGNING_KEYS",
                reason: "SIGNING_KEYS, DATA_KEYS and LOOKUP_KEY are set together or not at all"
                    .into(),
            }),
        }
    }

    /// Loads the key file at `path`, or makes one (readable by the owner only) if there is none.
    /// Returns the keys and whether they were just made.
    pub fn load_or_create(path: &Path) -> anyhow::Result<(Self, bool)> {
        use anyhow::Context as _;
        match std::fs::read(path) {
            Ok(bytes) => {
                let keys = serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading key file {}", path.display()))?;
                Ok((keys, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                let json = serde_json::to_vec_pretty(&keys)?;
                write_private(path, &json)
                    .with_context(|| format!("writing key file {}", path.display()))?;
                Ok((keys, true))
            }
            Err(e) => Err(e).with_context(|| format!("reading key file {}", path.display())),
        }
    }

    /// The key ids as a map, for lookup by `kid`.
    pub fn by_id(keys: &[NamedKey]) -> BTreeMap<String, Vec<u8>> {
        keys.iter()
            .map(|k| (k.id.clone(), k.bytes.clone()))
            .collect()
    }
}

/// Writes a new file that only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_all_three_variables_or_none() {
        let none = KeyMaterial::from_lookup(&|_: &str| None).expect("no keys is fine");
        assert!(none.is_none());
        let partial =
            KeyMaterial::from_lookup(&|n: &str| (n == "DATA_KEYS").then(|| "a:b".to_owned()));
        assert!(partial.is_err());
    }

    #[test]
    fn short_data_keys_are_refused_with_their_id() {
        let key = B64.encode([7u8; 16]);
        let err =
            parse_key_list("DATA_KEYS", &format!("old:{key}"), 32..=32).expect_err("too short");
        assert!(err.reason.contains("old"), "{err}");
    }

    #[test]
    fn a_created_key_file_loads_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.json");
        let (made, created) = KeyMaterial::load_or_create(&path).expect("create");
        assert!(created);
        let (loaded, created) = KeyMaterial::load_or_create(&path).expect("load");
        assert!(!created);
        assert_eq!(made, loaded);
    }
}
