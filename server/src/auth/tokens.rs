//! Access tokens: HS256 JWTs with `kid`, `iss`, `aud`, `exp`; the algorithm is pinned, so `none`
//! and every other algorithm are refused.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys::NamedKey;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The session (refresh-token family); revoked sessions' tokens are refused.
    pub sid: Uuid,
    /// The device the session belongs to.
    pub dev: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// A unique id, so no two tokens are alike.
    pub jti: Uuid,
}

/// Why an access token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The header names no key, or a key the server does not hold.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature, algorithm, issuer, audience or expiry is wrong, or the token is malformed.
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

/// Signs and verifies access tokens. The first key signs; every key verifies.
#[derive(Clone)]
pub struct TokenKeys {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: BTreeMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("signing_kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Builds the key set. `keys` must not be empty.
    pub fn new(
        keys: &[NamedKey],
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let first = keys
            .first()
            .ok_or_else(|| anyhow::anyhow!("no signing key configured"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            signing_kid: first.id.clone(),
            encoding: EncodingKey::from_secret(&first.bytes),
            decoding: keys
                .iter()
                .map(|k| (k.id.clone(), DecodingKey::from_secret(&k.bytes)))
                .collect(),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
    }

    /// Seconds an access token lives.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    /// Issues a token for `user` in session `session` on `device`.
    pub fn issue(&self, user: Uuid, session: Uuid, device: Uuid) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            sid: session,
            dev: device,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: Uuid::new_v4(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// Verifies `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        Ok(jsonwebtoken::decode::<Claims>(token, key, &self.validation)?.claims)
    }
}
