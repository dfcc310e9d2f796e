//! `AppState`: what every handler shares.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use axum::extract::FromRef;
use sync_protocol::DeviceId;
use sync_protocol::hlc::{Hlc, HlcStamp};

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::keys::KeyMaterial;
use crate::media::MediaState;
use crate::personal_data::Sealer;
use crate::storage::Storage;

/// Shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The working-day calendar with the marks of the stored schedules it was built from.
#[derive(Debug)]
pub struct LoadedCalendar {
    /// The calendar.
    pub calendar: crate::calendar::WorkCalendar,
    marks: crate::calendar::store::Marks,
}

impl LoadedCalendar {
    /// The year and load time of each stored schedule it was built from.
    pub fn marks(&self) -> &crate::calendar::store::Marks {
        &self.marks
    }
}

impl std::ops::Deref for LoadedCalendar {
    type Target = crate::calendar::WorkCalendar;

    fn deref(&self) -> &Self::Target {
        &self.calendar
    }
}

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
    /// The server's hybrid logical clock, which answers carry so clients move past it.
    pub clock: Mutex<Hlc>,
    /// Media objects.
    pub storage: Storage,
    /// Permits for heavy work (image decoding) run off the async threads, one per core.
    pub heavy: Arc<tokio::sync::Semaphore>,
    /// Background work (thumbnails of finished uploads): one at a time, once uploads pause.
    pub background: Arc<crate::media::derive::Background>,
    /// The working-day calendar: the shipped holiday schedules and those stored.
    pub calendar: std::sync::RwLock<Arc<LoadedCalendar>>,
    /// This process among the instances on the database (who holds an upload).
    pub instance: Arc<crate::instance::Instance>,
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
        let sealed = crate::db::unenrolled::seal_names_left_in_the_clear(&db.write, &sealer)
            .await
            .context("sealing the names of unenrolled children")?;
        if sealed > 0 {
            tracing::info!(
                sealed,
                "sealed the names of unenrolled children written before"
            );
        }
        let clock = Mutex::new(Hlc::new(DeviceId(uuid::Uuid::nil())));
        let storage = Storage::open(&config.storage).context("opening the media store")?;
        let instance =
            crate::instance::Instance::start(&config.effective_database_url(), &config.data_dir)
                .await
                .context("starting the instance lock")?;
        let (calendar, marks) = crate::calendar::store::load_all(&db.read)
            .await
            .context("loading the holiday schedules")?;
        for year in calendar.missing(chrono::Utc::now().date_naive()) {
            tracing::warn!(
                year,
                "no holiday schedule is loaded for {year}: deadlines in working days cannot be counted there; load it (PUT /api/v1/calendars/{year} or `server calendar load`)"
            );
        }
        Ok(Self(Arc::new(Inner {
            config,
            db,
            tokens,
            sealer,
            clock,
            storage,
            heavy: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
            background: Default::default(),
            calendar: std::sync::RwLock::new(Arc::new(LoadedCalendar { calendar, marks })),
            instance: Arc::new(instance),
        })))
    }

    /// The working-day calendar as the database holds it now: rebuilt when a schedule was
    /// loaded since, through this server or any other on the same database (one small query
    /// tells).
    pub async fn calendar(
        &self,
    ) -> Result<Arc<LoadedCalendar>, crate::calendar::store::StoreError> {
        let held = self
            .0
            .calendar
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if crate::db::calendars::marks(&self.db.read).await? == held.marks {
            return Ok(held);
        }
        let (calendar, marks) = crate::calendar::store::load_all(&self.db.read).await?;
        let fresh = Arc::new(LoadedCalendar { calendar, marks });
        *self
            .0
            .calendar
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    /// The media part of the state (what [`FromRef`] hands the media handlers).
    pub fn media(&self) -> MediaState {
        MediaState::from_ref(self)
    }

    /// A fresh stamp of the server's clock.
    pub fn server_stamp(&self) -> HlcStamp {
        let now = chrono::Utc::now().timestamp_millis();
        match self.clock.lock() {
            Ok(mut clock) => clock.tick(now),
            Err(poisoned) => poisoned.into_inner().tick(now),
        }
    }
}

impl FromRef<AppState> for MediaState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            storage: state.storage.clone(),
            limits: state.config.media_limits,
            profile: state.config.media_profile,
            upload_idle: state.config.upload_idle,
            flags: state.config.flags,
            heavy: state.heavy.clone(),
            background: state.background.clone(),
            instance: state.instance.clone(),
        }
    }
}
