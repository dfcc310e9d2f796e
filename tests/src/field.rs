//! A day in the field played through a [`FaultProxy`]: home visits recorded offline on a phone,
//! with camera photos and recordings, then sent over the link until the server has everything,
//! the app killed now and then as a phone's system does. Shared by the end-to-end test and
//! `bench -- field`, which differ only in the size of the day.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mobile_shared::{AttemptDraft, MediaState, Phone, SyncEvent};
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use sync_protocol::AttemptId;
use sync_protocol::cases::{AttemptKind, AttemptOutcome};
use sync_protocol::media::MediaKind;

use crate::fault_proxy::{FaultProxy, LinkProfile};
use crate::files::{camera_photo, wav};
use crate::{TestServer, TestServerBuilder};

/// A teacher's phone signed in and synced in the office, through a proxy on a clean link, before
/// going out to the villages (then [`FaultProxy::set_profile`] makes the link a village's).
pub struct Office {
    /// The server.
    pub server: TestServer,
    /// The proxy between the phone and the server.
    pub proxy: FaultProxy,
    /// Where the phone's directory and the camera's files are.
    pub work: tempfile::TempDir,
    /// The phone's directory.
    pub dir: PathBuf,
}

impl Office {
    /// Starts `server`, a clean proxy before it, and the teacher's phone, signed in and synced
    /// through the proxy.
    pub async fn open(server: TestServerBuilder) -> anyhow::Result<Self> {
        let server = server.start().await?;
        let proxy = FaultProxy::start(&server.url, LinkProfile::clean()).await?;
        let work = tempfile::tempdir()?;
        let dir = work.path().join("phone");
        let mut phone = Phone::open(&dir)?;
        phone
            .login(&proxy.url(), "teacher", crate::PASSWORD)
            .await?;
        phone.sync(&mut mobile_shared::NoProgress).await?;
        Ok(Self {
            server,
            proxy,
            work,
            dir,
        })
    }

    /// Records `day` on the phone, offline.
    pub fn record(&self, day: &Day) -> anyhow::Result<Recorded> {
        record(
            &Phone::open(&self.dir)?,
            day,
            &self.work.path().join("camera"),
        )
    }
}

/// What a worker records in a day.
#[derive(Debug, Clone)]
pub struct Day {
    /// Home visits, one attempt each.
    pub visits: usize,
    /// Photos in all, spread over the visits, each `photo_pixels` as the camera takes it.
    pub photos: usize,
    /// A camera photo's width and height.
    pub photo_pixels: (u32, u32),
    /// The recordings' lengths in milliseconds, one on each of the first visits.
    pub recordings_ms: Vec<u32>,
}

/// What was recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The attempts, one per visit.
    pub attempts: Vec<AttemptId>,
    /// Files attached.
    pub files: usize,
    /// Their bytes as the camera and the recorder made them.
    pub original_bytes: u64,
}

/// Records `day` on the cases `phone` holds (offline: nothing is sent), its files made under
/// `work`.
fn record(phone: &Phone, day: &Day, work: &Path) -> anyhow::Result<Recorded> {
    let cases = phone.cases()?;
    anyhow::ensure!(!cases.is_empty(), "the phone holds no case");
    let mut recorded = Recorded {
        attempts: Vec::new(),
        files: 0,
        original_bytes: 0,
    };
    std::fs::create_dir_all(work)?;
    let mut attach = |attempt, kind, name: String, bytes: Vec<u8>| -> anyhow::Result<()> {
        let path = work.join(name);
        std::fs::write(&path, &bytes)?;
        phone.attach(attempt, kind, &path)?;
        std::fs::remove_file(&path)?;
        recorded.files += 1;
        recorded.original_bytes += bytes.len() as u64;
        Ok(())
    };
    let mut attempts = Vec::new();
    for visit in 0..day.visits {
        let case = &cases[visit % cases.len()];
        let mut draft = AttemptDraft::new(case.id, AttemptKind::HomeVisit, AttemptOutcome::Refused);
        draft.notes = format!("第{}次家访：家长外出务工，孩子在家", visit + 1);
        attempts.push(phone.record_attempt(draft)?);
    }
    for n in 0..day.photos {
        let (width, height) = day.photo_pixels;
        let photo = camera_photo(width, height, n as u64 + 1);
        attach(
            attempts[n % attempts.len()],
            MediaKind::Photo,
            format!("IMG_{n:04}.jpg"),
            photo,
        )?;
    }
    for (n, millis) in day.recordings_ms.iter().enumerate() {
        attach(
            attempts[n % attempts.len()],
            MediaKind::Audio,
            format!("talk-{n}.wav"),
            wav(*millis),
        )?;
    }
    recorded.attempts = attempts;
    Ok(recorded)
}

/// How the sending went.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// From the first try to the last byte.
    pub elapsed: Duration,
    /// Times the app started sending (once, plus once after each kill).
    pub launches: usize,
    /// Syncs run, the retries of [`Phone::sync_until_done`] included.
    pub syncs: usize,
    /// Calls retried after a cut, a silence or a busy server.
    pub retries: usize,
    /// The longest time between two upload progress events with nothing else between them
    /// (a retry, a pull, a wait each say something of their own).
    pub longest_quiet: Duration,
}

/// Sends everything the phone in `dir` holds with [`Phone::sync_until_done`], until it is all
/// sent. With `kill_every`, the app is killed that often (its sync dropped wherever it stands,
/// the phone opened again from its directory), as a phone's system kills a background app.
/// `prepare` sets up each phone opened (retry policy, sync options).
pub async fn deliver(
    dir: &PathBuf,
    kill_every: Option<Duration>,
    prepare: impl Fn(&mut Phone),
) -> anyhow::Result<Delivery> {
    let started = Instant::now();
    let mut delivery = Delivery::default();
    loop {
        let mut phone = Phone::open(dir)?;
        prepare(&mut phone);
        delivery.launches += 1;
        let mut last_upload_event: Option<Instant> = None;
        let mut on_event = |event: SyncEvent| {
            match event {
                SyncEvent::Pushing { .. } => delivery.syncs += 1,
                SyncEvent::Retrying { .. } => delivery.retries += 1,
                SyncEvent::Uploading(_) => {
                    let now = Instant::now();
                    if let Some(last) = last_upload_event {
                        delivery.longest_quiet = delivery.longest_quiet.max(now - last);
                    }
                    last_upload_event = Some(now);
                    return;
                }
                _ => {}
            }
            last_upload_event = None;
        };
        let outcome = match kill_every {
            Some(every) => tokio::time::timeout(every, phone.sync_until_done(&mut on_event))
                .await
                .ok(),
            None => Some(phone.sync_until_done(&mut on_event).await),
        };
        if let Some(done) = outcome {
            done.context("sending the day")?;
            delivery.elapsed = started.elapsed();
            return Ok(delivery);
        }
    }
}

/// What the server holds of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Bytes of the files stored for the day's attempts (previews included).
    pub stored_bytes: u64,
    /// Uploads begun and never finished (what a cut creation used to leave behind).
    pub orphan_uploads: u64,
}

/// Checks that the server holds each of `recorded`'s attempts once and each file the phone in
/// `dir` sent (the photos' previews too, each naming its photo), byte for byte as the phone
/// hashed it (read back over the API, directly from the server), and says what it holds.
pub async fn check_held(
    server: &TestServer,
    dir: &PathBuf,
    recorded: &Recorded,
    username: &str,
) -> anyhow::Result<Held> {
    use server::db::entity::{attempt, media_object, upload};
    let ids: Vec<uuid::Uuid> = recorded.attempts.iter().map(|a| a.0).collect();
    let db = &server.state.db.write;
    let attempts = attempt::Entity::find()
        .filter(attempt::Column::Id.is_in(ids.clone()))
        .count(db)
        .await?;
    anyhow::ensure!(
        attempts == ids.len() as u64,
        "{attempts} of {} attempts on the server",
        ids.len()
    );
    let queue = Phone::open(dir)?.media_queue()?;
    anyhow::ensure!(
        queue.iter().all(|m| m.state == MediaState::Done),
        "files not sent: {queue:?}"
    );
    let objects = media_object::Entity::find()
        .filter(media_object::Column::TargetId.is_in(ids))
        .all(db)
        .await?;
    let (previews, files): (Vec<_>, Vec<_>) = objects.iter().partition(|o| o.preview_of.is_some());
    anyhow::ensure!(
        files.len() == recorded.files,
        "{} media objects for {} files",
        files.len(),
        recorded.files
    );
    anyhow::ensure!(
        previews.iter().all(|p| files
            .iter()
            .any(|f| p.preview_of.as_ref() == Some(&f.sha256))),
        "a preview of a photo that is not there"
    );
    let token = server.token(username).await?;
    let mut stored_bytes = 0;
    for object in &objects {
        anyhow::ensure!(
            queue.iter().any(|m| m.sha256 == object.sha256),
            "{} is not a file the phone sent",
            object.sha256
        );
        let body = server
            .get(&format!("/api/v1/media/{}", object.id), &token)
            .await?
            .body
            .0;
        anyhow::ensure!(
            server::digest::sha256_hex(&body) == object.sha256,
            "the bytes stored for {} hash otherwise",
            object.sha256
        );
        stored_bytes += body.len() as u64;
    }
    let orphan_uploads = upload::Entity::find()
        .all(db)
        .await?
        .iter()
        .filter(|u| u.offset < u.length)
        .count() as u64;
    Ok(Held {
        stored_bytes,
        orphan_uploads,
    })
}
