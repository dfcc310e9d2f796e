//! `AppState`: what every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::keys::KeyMaterial;
use crate::personal_data::Sealer;

/// Shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The fields behind [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// The configuration read at start.
    pub config: Config,
    /// Database connections.
    pub db: Db,
    /// Access-token signing and verification.
    pub tokens: TokenKeys,
    /// Sealing of minors' personal data.
    pub sealer: Sealer,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Connects to the database (migrating it), loads keys and builds the state.
    ///
    /// Keys come from the configuration or, on the embedded default, from `DATA_DIR/keys.json`,
    /// made on first start.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let keys = match &config.keys {
            Some(keys) => keys.clone(),
            None => {
                let path = config.data_dir.join("keys.json");
                let (keys, created) = KeyMaterial::load_or_create(&path)?;
                if created {
                    tracing::warn!(path = %path.display(), "made new signing and data keys; back this file up: without it personal data cannot be read");
                }
                keys
            }
        };
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating data directory {}", config.data_dir.display())
            })?;
        }
        let db = Db::connect(&config.effective_database_url())
            .await
            .context("opening the database")?;
        let tokens = TokenKeys::new(
            &keys.signing,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.access_ttl,
        )?;
        let sealer = Sealer::new(&keys)?;
        Ok(Self(Arc::new(Inner {
            config,
            db,
            tokens,
            sealer,
        })))
    }
}
