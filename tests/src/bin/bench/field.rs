//! `bench -- field`: a worker's day of evidence (visits with camera photos and recordings) sent by
//! a phone through a village link played by the fault proxy, the app killed every few minutes.
//! The figures are the link's: total time against the time the stored bytes alone need at the
//! link's pace, bytes up ÷ bytes stored, and how many launches and syncs it took.

use std::time::Duration;

use mobile_shared::RetryPolicy;
use tests::TestServer;
use tests::fault_proxy::LinkProfile;
use tests::field::{Day, Office, check_held, deliver};

/// What the day holds and how the link and the app behave.
#[derive(Debug, Clone)]
pub struct Options {
    /// Home visits.
    pub visits: usize,
    /// Photos in all.
    pub photos: usize,
    /// Recordings, of 1 to 3 minutes.
    pub recordings: usize,
    /// The server's media profile: the longest side of a photo.
    pub long_side: u32,
    /// Seconds between kills of the app (0: never).
    pub kill_every: u64,
}

impl Default for Options {
    /// The day of the field trial: 10 visits, 30 photos of 12 megapixels, 5 recordings, photos
    /// scaled to 2048 px, the app killed every 3 minutes.
    fn default() -> Self {
        Self {
            visits: 10,
            photos: 30,
            recordings: 5,
            long_side: 2048,
            kill_every: 180,
        }
    }
}

/// Runs the day and prints its figures.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let office = Office::open(
        TestServer::builder()
            .with_env("PHOTO_LONG_SIDE", &options.long_side.to_string())
            .with_env("ACCESS_TOKEN_TTL_SECS", "86400"),
    )
    .await?;
    let (server, proxy, dir) = (&office.server, &office.proxy, &office.dir);
    let day = Day {
        visits: options.visits,
        photos: options.photos,
        photo_pixels: (4000, 3000),
        recordings_ms: (0..options.recordings)
            .map(|n| 60_000 + 30_000 * (n as u32 % 5))
            .collect(),
    };
    println!(
        "field: recording {} visits, {} photos of 4000x3000, {} recordings …",
        day.visits, day.photos, options.recordings
    );
    let recorded = office.record(&day)?;
    let link = LinkProfile::field_2g();
    println!(
        "field: {} files, {:.1} MB as taken; sending at {} kbit/s up, {} down, {} ms each way, \
         a cut in {:.0} % of the stretches of {} KiB sent, app killed every {} s",
        recorded.files,
        recorded.original_bytes as f64 / 1e6,
        link.up_bits_per_sec / 1000,
        link.down_bits_per_sec / 1000,
        link.one_way_delay.as_millis(),
        link.cut_fraction * 100.0,
        link.cut_window / 1024,
        options.kill_every
    );
    let before = proxy.stats();
    proxy.set_profile(link.clone());
    let kill_every = (options.kill_every > 0).then(|| Duration::from_secs(options.kill_every));
    let delivery = deliver(dir, kill_every, |phone| {
        phone.set_retry_policy(RetryPolicy {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_attempts: 8,
        });
    })
    .await?;
    let mut stats = proxy.stats();
    stats.bytes_up -= before.bytes_up;
    stats.cut -= before.cut;
    stats.connections -= before.connections;
    let held = check_held(server, dir, &recorded, "teacher").await?;
    let link_seconds = held.stored_bytes as f64 * 8.0 / link.up_bits_per_sec as f64;
    println!(
        "field: every file stored and re-hashed; {:.1} MB stored, {} uploads left unfinished",
        held.stored_bytes as f64 / 1e6,
        held.orphan_uploads
    );
    println!(
        "field: total {:.0} s = {:.2} x the {:.0} s the stored bytes need at the link's pace",
        delivery.elapsed.as_secs_f64(),
        delivery.elapsed.as_secs_f64() / link_seconds,
        link_seconds
    );
    println!(
        "field: bytes up / stored = {:.3} ({} up); {} launches (kills + 1), {} syncs, {} retries, \
         {} of {} connections cut; longest wait between progress events {:.1} s",
        stats.bytes_up as f64 / held.stored_bytes as f64,
        stats.bytes_up,
        delivery.launches,
        delivery.syncs,
        delivery.retries,
        stats.cut,
        stats.connections,
        delivery.longest_quiet.as_secs_f64()
    );
    Ok(())
}
