//! Configuration from the environment, with the embedded default when nothing is set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sync_protocol::media::{MediaKind, MediaProfile};

pub use crate::secret::{ConfigError, Secret};

/// Seconds a request holds an upload after it took it or last renewed it; another may take
/// over after that. A request renews it while its body's bytes keep coming, and a body silent
/// for `UPLOAD_IDLE_SECS` ends as cut, letting the upload go.
pub const UPLOAD_LEASE_SECS: u64 = 60;
/// Seconds between renewals of the hold by a request receiving bytes.
pub const UPLOAD_LEASE_RENEWAL_SECS: u64 = 20;
/// The longest `UPLOAD_IDLE_SECS`: a silent request ends before its hold can lapse (its last
/// renewal may be this much older than its last byte).
pub const MAX_UPLOAD_IDLE_SECS: u64 = UPLOAD_LEASE_SECS - UPLOAD_LEASE_RENEWAL_SECS;

/// Everything the server reads at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (`BIND`, default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// Web origins whose pages may call the API from a browser (`CORS_ORIGINS`, comma-separated,
    /// e.g. `https://console.example.cn`; none by default: no cross-origin calls).
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// Where the embedded default keeps its database, media and keys (`DATA_DIR`, default `./data`).
    pub data_dir: PathBuf,
    /// `DATABASE_URL`; none means SQLite at `DATA_DIR/ledger.sqlite`.
    pub database_url: Option<Secret<String>>,
    /// The `iss` of access tokens (`JWT_ISSUER`).
    pub jwt_issuer: String,
    /// The `aud` of access tokens (`JWT_AUDIENCE`).
    pub jwt_audience: String,
    /// Lifetime of an access token (`ACCESS_TOKEN_TTL_SECS`, default 900).
    pub access_ttl: Duration,
    /// Lifetime of an unused refresh token (`REFRESH_TOKEN_TTL_SECS`, default 30 days).
    pub refresh_ttl: Duration,
    /// Largest JSON body accepted (`MAX_JSON_BYTES`, default 1 MiB).
    pub max_json_bytes: usize,
    /// Keys from `SIGNING_KEYS`, `DATA_KEYS` and `LOOKUP_KEY`; none means the key file under `data_dir`.
    pub keys: Option<crate::keys::KeyMaterial>,
    /// Where media objects live (`MEDIA_STORE` and `S3_*`; default `DATA_DIR/media`).
    pub storage: crate::storage::StorageConfig,
    /// Largest upload of each kind (`MAX_PHOTO_BYTES`, `MAX_AUDIO_BYTES`, `MAX_VIDEO_BYTES`,
    /// `MAX_DOCUMENT_BYTES`; defaults from [`MediaKind::default_max_size`]).
    pub media_limits: MediaLimits,
    /// How long an upload's body may send nothing before it counts as cut (`UPLOAD_IDLE_SECS`,
    /// 30 s, at most [`MAX_UPLOAD_IDLE_SECS`]): what arrived is kept, the upload
    /// is let go, and the phone resumes with a new request.
    pub upload_idle: Duration,
    /// How the phones prepare photos, served at `GET /api/v1/media/profile`: the long side
    /// (`PHOTO_LONG_SIDE`, 320 to 8192 px, default 2048), the JPEG quality (`PHOTO_QUALITY`,
    /// 30 to 100, default 85) and the long side of the previews sent first
    /// (`PHOTO_PREVIEW_SIDE`, 0 to 1024 px, default 320; 0: none).
    pub media_profile: MediaProfile,
    /// The age whose school year's end writes off a deferred or suspended child with the
    /// over-age leaving mark (超龄离校标注, R15–R17): `OVER_AGE_LEAVING_AGE`, 15 to 18, default
    /// 16 (the end of the school year in which the child turns 16).
    pub leaving_age: u32,
    /// The first day of each term, as month and day (`TERM_STARTS`, e.g. `09-01,03-01`, the
    /// default): each school reconciles its roll within two weeks of each (R7).
    pub term_starts: Vec<(u32, u32)>,
    /// The limits of the plausibility flags (`FLAG_*`, [`Thresholds`]).
    pub flags: Thresholds,
}

/// The limits past which a rule raises its flag (`FLAG_*` settings; docs/plausibility.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A photo taken this long before or after its attempt (`FLAG_CAPTURE_GAP_HOURS`, 24).
    pub capture_gap: chrono::Duration,
    /// An attempt or photo this far from the village's centre (`FLAG_DISTANCE_KM`, 5).
    pub distance_km: f64,
    /// Perceptual hashes this many bits apart or closer are one photo re-encoded
    /// (`FLAG_PHOTO_HASH_BITS`, 6; 0 compares exact copies only).
    pub photo_hash_bits: u32,
    /// A visit's recording shorter than this (`FLAG_SHORT_RECORDING_SECS`, 60).
    pub short_recording: chrono::Duration,
    /// An attempt recorded on the phone this long after it happened (`FLAG_LATE_RECORD_HOURS`,
    /// 48).
    pub late_record: chrono::Duration,
    /// Two attempts of one person whose places are further apart than this speed allows, in
    /// km/h (`FLAG_TRAVEL_KMH`, 120).
    pub travel_kmh: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            capture_gap: chrono::Duration::hours(24),
            distance_km: 5.0,
            photo_hash_bits: 6,
            short_recording: chrono::Duration::seconds(60),
            late_record: chrono::Duration::hours(48),
            travel_kmh: 120.0,
        }
    }
}

/// The largest file the server takes, per media kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    photo: u64,
    audio: u64,
    video: u64,
    document: u64,
}

impl MediaLimits {
    /// The largest `kind` file, in bytes.
    pub fn max_size(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Photo => self.photo,
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
            MediaKind::Document => self.document,
        }
    }

    /// The largest file of any kind (tus `Tus-Max-Size`).
    pub fn largest(&self) -> u64 {
        self.photo
            .max(self.audio)
            .max(self.video)
            .max(self.document)
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get`, which returns a variable's value if set.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(get);
        let defaults = MediaProfile::default();
        let media_profile = MediaProfile {
            photo_long_side: env.ranged("PHOTO_LONG_SIDE", defaults.photo_long_side, 320..=8192)?,
            photo_quality: env.ranged("PHOTO_QUALITY", defaults.photo_quality, 30..=100)?,
            preview_long_side: env.ranged(
                "PHOTO_PREVIEW_SIDE",
                defaults.preview_long_side,
                0..=1024,
            )?,
        };
        let bind = env.text("BIND", "127.0.0.1:8080");
        let bind = bind.parse().map_err(|e| ConfigError {
            name: "BIND",
            reason: format!("`{bind}` is not an address:port: {e}"),
        })?;
        let data_dir = PathBuf::from(env.text("DATA_DIR", "./data"));
        let storage = crate::storage::StorageConfig::from_lookup(&env.0, &data_dir)?;
        let cors_origins = (env.0)("CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(web_origin)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            bind,
            cors_origins,
            data_dir,
            database_url: (env.0)("DATABASE_URL")
                .filter(|v| !v.is_empty())
                .map(Secret),
            jwt_issuer: env.text("JWT_ISSUER", "kongchuo-server"),
            jwt_audience: env.text("JWT_AUDIENCE", "kongchuo-api"),
            access_ttl: Duration::from_secs(env.number("ACCESS_TOKEN_TTL_SECS", 900)?),
            refresh_ttl: Duration::from_secs(env.number("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?),
            max_json_bytes: usize::try_from(env.number("MAX_JSON_BYTES", 1 << 20)?)
                .unwrap_or(usize::MAX),
            keys: crate::keys::KeyMaterial::from_lookup(&env.0)?,
            storage,
            media_limits: MediaLimits {
                photo: env.size_limit("MAX_PHOTO_BYTES", MediaKind::Photo.default_max_size())?,
                audio: env.size_limit("MAX_AUDIO_BYTES", MediaKind::Audio.default_max_size())?,
                video: env.size_limit("MAX_VIDEO_BYTES", MediaKind::Video.default_max_size())?,
                document: env
                    .size_limit("MAX_DOCUMENT_BYTES", MediaKind::Document.default_max_size())?,
            },
            upload_idle: match env.number("UPLOAD_IDLE_SECS", 30)? {
                secs @ 1..=MAX_UPLOAD_IDLE_SECS => Duration::from_secs(secs),
                other => {
                    return Err(ConfigError {
                        name: "UPLOAD_IDLE_SECS",
                        reason: format!(
                            "{other} s: must be 1 to {}, so that a silent request ends before its hold on the upload can lapse",
                            MAX_UPLOAD_IDLE_SECS
                        ),
                    });
                }
            },
            media_profile,
            leaving_age: env.ranged("OVER_AGE_LEAVING_AGE", 16u32, 15..=18)?,
            term_starts: term_starts(&env.text("TERM_STARTS", "09-01,03-01"))?,
            flags: thresholds(&env)?,
        })
    }

    /// The database URL in force: `DATABASE_URL`, or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.0.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("ledger.sqlite").display()
            ),
        }
    }
}

/// The plausibility flags' limits from the `FLAG_*` variables, each within its range.
fn thresholds<G: Fn(&str) -> Option<String>>(env: &Env<G>) -> Result<Thresholds, ConfigError> {
    let hours = |name, default, range| {
        env.ranged(name, default, range)
            .map(|h: u32| chrono::Duration::hours(i64::from(h)))
    };
    Ok(Thresholds {
        capture_gap: hours("FLAG_CAPTURE_GAP_HOURS", 24, 1..=720)?,
        distance_km: f64::from(env.ranged("FLAG_DISTANCE_KM", 5u32, 1..=500)?),
        photo_hash_bits: env.ranged("FLAG_PHOTO_HASH_BITS", 6u32, 0..=16)?,
        short_recording: chrono::Duration::seconds(i64::from(env.ranged(
            "FLAG_SHORT_RECORDING_SECS",
            60u32,
            0..=3600,
        )?)),
        late_record: hours("FLAG_LATE_RECORD_HOURS", 48, 1..=2160)?,
        travel_kmh: f64::from(env.ranged("FLAG_TRAVEL_KMH", 120u32, 10..=1000)?),
    })
}

/// The term starts of `list` (`MM-DD,MM-DD`), or why not.
fn term_starts(list: &str) -> Result<Vec<(u32, u32)>, ConfigError> {
    let starts: Vec<(u32, u32)> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|day| {
            chrono::NaiveDate::parse_from_str(&format!("2000-{day}"), "%Y-%m-%d")
                .map(|d| (chrono::Datelike::month(&d), chrono::Datelike::day(&d)))
                .map_err(|_| ConfigError {
                    name: "TERM_STARTS",
                    reason: format!("`{day}` is not a month and day (MM-DD)"),
                })
        })
        .collect::<Result<_, _>>()?;
    if starts.is_empty() {
        return Err(ConfigError {
            name: "TERM_STARTS",
            reason: "name at least one term start (MM-DD)".into(),
        });
    }
    Ok(starts)
}

/// `origin` as a `scheme://host[:port]` origin a browser sends, or why not.
fn web_origin(origin: &str) -> Result<axum::http::HeaderValue, ConfigError> {
    let invalid = |why: &str| ConfigError {
        name: "CORS_ORIGINS",
        reason: format!("`{origin}` {why}"),
    };
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| invalid("is not an origin: it starts with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '*']) {
        return Err(invalid("is not an origin: scheme, host and port only"));
    }
    axum::http::HeaderValue::from_str(origin).map_err(|_| invalid("is not a valid header value"))
}

/// The environment as [`Config::from_lookup`] reads it: `get` returns a variable's value if set.
struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The text of `name`, or `default`.
    fn text(&self, name: &str, default: &str) -> String {
        (self.0)(name).unwrap_or_else(|| default.to_owned())
    }

    /// The whole number of `name`, or `default`.
    fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match (self.0)(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| ConfigError {
                name,
                reason: format!("`{v}` is not a whole number: {e}"),
            }),
        }
    }

    /// A size limit of uploads from `name`: an upload is at most 10,000 parts of one segment on
    /// S3.
    fn size_limit(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        let limit = self.number(name, default)?;
        if limit > crate::storage::MAX_UPLOAD_BYTES {
            return Err(ConfigError {
                name,
                reason: format!(
                    "{limit} bytes is over the largest upload, {} bytes",
                    crate::storage::MAX_UPLOAD_BYTES
                ),
            });
        }
        Ok(limit)
    }

    /// A whole number of type `T` from `name`, within `range`.
    fn ranged<T: Copy + Into<u64> + TryFrom<u64>>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError> {
        let value = self.number(name, default.into())?;
        match T::try_from(value) {
            Ok(v) if (*range.start()).into() <= value && value <= (*range.end()).into() => Ok(v),
            _ => Err(ConfigError {
                name,
                reason: format!(
                    "{value} is out of range: it must be {} to {}",
                    (*range.start()).into(),
                    (*range.end()).into()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_upload_body_is_cut_before_its_hold_on_the_upload_lapses() {
        let with = |value: &'static str| {
            Config::from_lookup(move |name| (name == "UPLOAD_IDLE_SECS").then(|| value.to_owned()))
        };
        let default = Config::from_lookup(|_| None).expect("the defaults");
        assert_eq!(default.upload_idle, Duration::from_secs(30));
        assert_eq!(with("5").expect("5 s").upload_idle, Duration::from_secs(5));
        for bad in ["0", "41", "soon"] {
            let refused = with(bad).expect_err(bad);
            assert_eq!(
                refused.name, "UPLOAD_IDLE_SECS",
                "{bad}: {}",
                refused.reason
            );
        }
    }

    #[test]
    fn a_photo_quality_or_long_side_out_of_range_is_refused_by_name() {
        let with = |name: &'static str, value: &'static str| {
            Config::from_lookup(move |n| (n == name).then(|| value.to_owned()))
        };
        let default = Config::from_lookup(|_| None).expect("the defaults");
        assert_eq!(default.media_profile, MediaProfile::default());
        assert_eq!(default.leaving_age, 16, "R15: the year the child turns 16");
        assert_eq!(
            default.term_starts,
            [(9, 1), (3, 1)],
            "R7: autumn and spring"
        );
        let set = with("PHOTO_QUALITY", "60").expect("quality 60");
        assert_eq!(set.media_profile.photo_quality, 60);
        assert_eq!(set.media_profile.photo_long_side, 2048);
        for (name, bad) in [
            ("PHOTO_QUALITY", "0"),
            ("PHOTO_QUALITY", "29"),
            ("PHOTO_QUALITY", "101"),
            ("PHOTO_QUALITY", "good"),
            ("PHOTO_LONG_SIDE", "319"),
            ("PHOTO_LONG_SIDE", "8193"),
            ("PHOTO_PREVIEW_SIDE", "1025"),
            ("OVER_AGE_LEAVING_AGE", "14"),
            ("OVER_AGE_LEAVING_AGE", "19"),
            ("TERM_STARTS", "13-01"),
            ("TERM_STARTS", "spring"),
            ("TERM_STARTS", ","),
        ] {
            let refused = with(name, bad).expect_err(bad);
            assert_eq!(refused.name, name, "{bad}: {}", refused.reason);
            assert!(
                refused.to_string().contains(name),
                "{name}={bad}: {refused}"
            );
        }
    }
}
