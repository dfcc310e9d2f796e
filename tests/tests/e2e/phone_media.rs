//! The phone's media queue through the real server: a photo prepared on the phone (scaled down,
//! EXIF kept) and a recording sent with a sync; an upload cut mid-file resumed by a phone opened
//! again; a file the server refuses kept as refused with its reason, and not sent again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, TimeZone as _, Utc};
use mobile_shared::{
    AttemptDraft, ChunkPolicy, MediaState, NoProgress, Phone, SyncEvent, SyncOptions,
};
use server::digest::sha256_hex;
use sync_protocol::cases::{AttemptKind, AttemptOutcome};
use sync_protocol::media::MediaKind;
use sync_protocol::{AttemptId, CaseId};
use tests::TestServer;
use tests::fault_proxy::LinkProfile;
use tests::field::Office;
use tests::files::{CameraTags, camera_photo, jpeg, wav, with_exif};

/// A synced teacher's phone in `dir` with a new attempt on its first case (returned too).
async fn phone_with_attempt(
    server: &TestServer,
    dir: &std::path::Path,
) -> anyhow::Result<(Phone, CaseId, AttemptId)> {
    let mut phone = server.phone_in(dir, "teacher").await?;
    phone.sync(&mut NoProgress).await?;
    let case = phone
        .cases()?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the teacher holds no case"))?;
    let attempt = phone.record_attempt(AttemptDraft::new(
        case.id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Refused,
    ))?;
    Ok((phone, case.id, attempt))
}

#[tokio::test]
async fn a_phone_sends_a_photo_scaled_to_the_server_s_profile_with_its_exif_and_a_recording()
-> anyhow::Result<()> {
    // A district on slow links: photos at most 640 px on their long side.
    let server = TestServer::builder()
        .with_env("PHOTO_LONG_SIDE", "640")
        .start()
        .await?;
    let work = tempfile::tempdir()?;
    let (mut phone, case_id, attempt) =
        phone_with_attempt(&server, &work.path().join("phone")).await?;

    let taken = NaiveDate::from_ymd_opt(2026, 9, 14)
        .and_then(|d| d.and_hms_opt(16, 5, 0))
        .ok_or_else(|| anyhow::anyhow!("date"))?;
    let camera = with_exif(
        &jpeg(1600, 1200),
        CameraTags {
            taken,
            offset: Some("+08:00"),
            position: (26.58, 106.71),
        },
    );
    let recording = wav(1500);
    let (photo_path, audio_path) = (
        work.path().join("IMG_0001.jpg"),
        work.path().join("talk.wav"),
    );
    std::fs::write(&photo_path, &camera)?;
    std::fs::write(&audio_path, &recording)?;
    let attached = phone.attach(attempt, MediaKind::Photo, &photo_path)?;
    assert!(
        !attached.prepared,
        "attaching returns at once; the sync prepares the photo"
    );
    phone.attach(attempt, MediaKind::Audio, &audio_path)?;
    // The queue holds its own copies: the app's files may go.
    std::fs::remove_file(&photo_path)?;
    std::fs::remove_file(&audio_path)?;

    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!(
        (report.uploaded, report.upload_failed),
        (2, 0),
        "a photo this small goes without a preview"
    );
    let queue = phone.media_queue()?;
    let queued = |name: &str| {
        queue
            .iter()
            .find(|m| m.file_name == name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{name} is not in the queue: {queue:?}"))
    };
    let (photo, audio) = (queued("IMG_0001.jpg")?, queued("talk.wav")?);
    assert_ne!(
        photo.sha256,
        sha256_hex(&camera),
        "the photo was re-encoded"
    );
    assert_eq!(
        audio.sha256,
        sha256_hex(&recording),
        "a recording is sent as it is"
    );
    assert!(
        phone
            .media_queue()?
            .iter()
            .all(|m| m.state == MediaState::Done && m.sent == m.size)
    );

    // The same sync brought the references back, with what the server read from the bytes.
    let held = phone.media(case_id)?;
    let photo_ref = held
        .iter()
        .find(|m| m.sha256 == photo.sha256)
        .ok_or_else(|| anyhow::anyhow!("the photo's reference: {held:?}"))?;
    assert_eq!(photo_ref.target_id, attempt.0);
    assert_eq!(photo_ref.content_type, "image/jpeg");
    assert_eq!(
        photo_ref.captured_at,
        Utc.with_ymd_and_hms(2026, 9, 14, 8, 5, 0).single(),
        "the EXIF capture time survived re-encoding"
    );
    let place = photo_ref
        .location
        .ok_or_else(|| anyhow::anyhow!("no location"))?;
    assert!((place.lat - 26.58).abs() < 1e-4 && (place.lon - 106.71).abs() < 1e-4);
    let audio_ref = held
        .iter()
        .find(|m| m.sha256 == audio.sha256)
        .ok_or_else(|| anyhow::anyhow!("the recording's reference: {held:?}"))?;
    assert_eq!(audio_ref.duration_ms, Some(1500));

    // What the server keeps is the scaled photo, byte for byte what the phone hashed.
    let token = server.token("teacher").await?;
    let stored = server
        .get(&format!("/api/v1/media/{}", photo_ref.id), &token)
        .await?;
    assert_eq!(sha256_hex(&stored.body.0), photo.sha256);
    let (w, h) = image::ImageReader::with_format(
        std::io::Cursor::new(&stored.body.0),
        image::ImageFormat::Jpeg,
    )
    .into_dimensions()?;
    assert_eq!((w, h), (640, 480));
    Ok(())
}

#[tokio::test]
async fn an_upload_cut_mid_file_resumes_on_a_phone_opened_again() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let work = tempfile::tempdir()?;
    let dir = work.path().join("phone");
    let (mut phone, case_id, attempt) = phone_with_attempt(&server, &dir).await?;
    const CHUNK: u64 = 16 * 1024;
    let options = SyncOptions {
        upload_chunk: ChunkPolicy::fixed(CHUNK as usize),
        ..SyncOptions::default()
    };
    phone.set_sync_options(options.clone());
    let recording = wav(30_000);
    let path = work.path().join("long-talk.wav");
    std::fs::write(&path, &recording)?;
    phone.attach(attempt, MediaKind::Audio, &path)?;
    let size = recording.len() as u64;
    assert!(size > 20 * CHUNK);

    // The app is killed after the server confirmed five chunks: the sync's future is dropped
    // wherever it stands, as a killed process would leave it.
    let confirmed = Arc::new(tokio::sync::Notify::new());
    let (mut chunks, mut last) = (0, 0);
    let signal = confirmed.clone();
    let mut count = move |event: SyncEvent| {
        if let SyncEvent::Uploading(p) = event
            && p.confirmed > last
        {
            last = p.confirmed;
            chunks += 1;
            if chunks == 5 {
                signal.notify_one();
            }
        }
    };
    tokio::select! {
        done = phone.sync(&mut count) => anyhow::bail!("the sync ended before the cut: {done:?}"),
        () = confirmed.notified() => {}
    }
    drop(phone);

    let mut phone = server.phone_in(&dir, "teacher").await?;
    phone.set_sync_options(options);
    let before = phone.media_queue()?[0].sent;
    assert!(before >= 4 * CHUNK && before < size, "{before}");
    // Bytes the second run sends: from where the server stands to the end.
    let resumed_from = Arc::new(AtomicU64::new(u64::MAX));
    let first = resumed_from.clone();
    let mut watch = move |event: SyncEvent| {
        if let SyncEvent::Uploading(p) = event {
            let _ =
                first.compare_exchange(u64::MAX, p.confirmed, Ordering::SeqCst, Ordering::SeqCst);
        }
    };
    let report = phone.sync(&mut watch).await?;
    assert_eq!(report.uploaded, 1);
    let resumed = resumed_from.load(Ordering::SeqCst);
    assert!(
        resumed >= before,
        "resumed at {resumed}, the phone had {before} confirmed"
    );
    // First run: what was confirmed plus at most the chunk in flight; second: the rest.
    let total_sent = before + CHUNK + (size - resumed);
    assert!(
        total_sent as f64 <= 1.05 * size as f64,
        "{total_sent} bytes sent for a file of {size}"
    );
    assert!(
        phone
            .media(case_id)?
            .iter()
            .any(|m| m.sha256 == sha256_hex(&recording) && m.size == size)
    );
    Ok(())
}

#[tokio::test]
async fn a_file_the_server_refuses_is_kept_as_refused_and_not_sent_again() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let work = tempfile::tempdir()?;
    let (mut phone, _, attempt) = phone_with_attempt(&server, &work.path().join("phone")).await?;
    // A photo renamed as a recording: the server sniffs the bytes.
    let path = work.path().join("talk.m4a");
    std::fs::write(&path, jpeg(64, 48))?;
    phone.attach(attempt, MediaKind::Audio, &path)?;

    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!((report.uploaded, report.upload_failed), (0, 1));
    let queue = phone.media_queue()?;
    assert_eq!(queue[0].state, MediaState::Failed);
    let failure = queue[0]
        .failure
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no reason kept"))?;
    assert_eq!(failure.code, "unsupported_media_type");
    assert!(!failure.detail.is_empty());

    let again = phone.sync(&mut NoProgress).await?;
    assert_eq!((again.uploaded, again.upload_failed), (0, 0));
    Ok(())
}

#[tokio::test]
async fn another_account_signs_in_only_once_the_files_are_sent() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let work = tempfile::tempdir()?;
    let dir = work.path().join("phone");
    let (mut phone, _, attempt) = phone_with_attempt(&server, &dir).await?;
    phone.sync(&mut NoProgress).await?;
    let path = work.path().join("talk.wav");
    std::fs::write(&path, wav(500))?;
    let queued = phone.attach(attempt, MediaKind::Audio, &path)?;
    assert_eq!(
        phone.pending_count()?,
        0,
        "the attempt itself is on the server"
    );

    // The file would go up under the wrong name: refused while it waits.
    let refused = phone.login(&server.url, "b-teacher", tests::PASSWORD).await;
    assert!(
        matches!(
            refused,
            Err(mobile_shared::PhoneError::OtherAccountPending { pending: 1, .. })
        ),
        "{refused:?}"
    );

    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!(report.uploaded, 1);
    assert!(
        !dir.join("media").join(queued.id.to_string()).exists(),
        "a sent file's copy is deleted"
    );
    phone
        .login(&server.url, "b-teacher", tests::PASSWORD)
        .await?;
    assert!(
        phone.media_queue()?.is_empty(),
        "the last account's queue is gone"
    );
    Ok(())
}

#[tokio::test]
async fn a_photo_s_preview_goes_up_first_so_a_supervisor_sees_the_visit_before_the_photo()
-> anyhow::Result<()> {
    // The default profile (previews of 320 px); the phone signed in through a proxy.
    let office = Office::open(TestServer::builder()).await?;
    let server = &office.server;
    let phone = Phone::open(&office.dir)?;
    let case_id = phone
        .cases()?
        .first()
        .map(|c| c.id)
        .ok_or_else(|| anyhow::anyhow!("the teacher holds no case"))?;
    let attempt = phone.record_attempt(AttemptDraft::new(
        case_id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Refused,
    ))?;
    let path = office.work.path().join("IMG_0002.jpg");
    std::fs::write(&path, camera_photo(1600, 1200, 7))?;
    phone.attach(attempt, MediaKind::Photo, &path)?;
    drop(phone);

    // Out in the village at 64 kbit/s, the app is killed as soon as the first file is sent.
    office.proxy.set_profile(LinkProfile {
        up_bits_per_sec: 64_000,
        ..LinkProfile::clean()
    });
    let mut phone = Phone::open(&office.dir)?;
    let first_done = Arc::new(tokio::sync::Notify::new());
    let signal = first_done.clone();
    let mut watch = move |event: SyncEvent| {
        if let SyncEvent::Uploading(p) = event
            && p.file == 1
            && p.confirmed == p.size
        {
            signal.notify_one();
        }
    };
    tokio::select! {
        done = phone.sync(&mut watch) => anyhow::bail!("the sync ended before the cut: {done:?}"),
        () = first_done.notified() => {}
    }
    drop(phone);

    // The supervisor already sees the visit: its preview, small, naming the photo to come.
    let mut supervisor = server.phone("supervisor").await?;
    supervisor.sync(&mut NoProgress).await?;
    let seen = supervisor.media(case_id)?;
    let [preview] = seen.as_slice() else {
        anyhow::bail!("one preview expected: {seen:?}");
    };
    assert_eq!(preview.file_name, "preview-IMG_0002.jpg");
    let photo_sha = preview
        .preview_of
        .clone()
        .ok_or_else(|| anyhow::anyhow!("not marked a preview: {preview:?}"))?;
    let token = server.token("supervisor").await?;
    let small = server
        .get(&format!("/api/v1/media/{}", preview.id), &token)
        .await?;
    let size = image::load_from_memory(&small.body.0)?;
    assert_eq!((size.width(), size.height()), (320, 240));

    // Back in the office, the phone sends the photo itself, which the preview named.
    office.proxy.set_profile(LinkProfile::clean());
    let mut phone = Phone::open(&office.dir)?;
    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!(
        (report.uploaded, report.upload_failed),
        (1, 0),
        "{report:?}"
    );
    supervisor.sync(&mut NoProgress).await?;
    let seen = supervisor.media(case_id)?;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter().any(|m| m.preview_of.is_none()
            && m.sha256 == photo_sha
            && m.size > small.body.0.len() as u64),
        "the photo the preview named: {seen:?}"
    );
    Ok(())
}
