//! Field conditions: a phone on a 64 kbit/s uplink that drops its connection every 20 s or so
//! sends visits and their evidence with no user action, every file once, with little sent twice
//! and no upload left behind.

use std::time::Duration;

use mobile_shared::{Phone, RetryPolicy};
use tests::TestServer;
use tests::fault_proxy::LinkProfile;
use tests::field::{Day, Office, check_held, deliver};

/// How a test phone retries: quickly, so the test spends its time on the link.
fn quick_retries(phone: &mut Phone) {
    phone.set_retry_policy(RetryPolicy {
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        max_attempts: 10,
    });
}

#[tokio::test]
async fn three_visits_with_photos_and_a_recording_get_through_a_slow_link_that_drops()
-> anyhow::Result<()> {
    // Signed in and synced in the office; then out to the villages.
    let office = Office::open(TestServer::builder().with_env("PHOTO_LONG_SIDE", "800")).await?;
    let (server, proxy, dir) = (&office.server, &office.proxy, &office.dir);
    let day = Day {
        visits: 3,
        photos: 2,
        photo_pixels: (1600, 1200),
        recordings_ms: vec![6_000],
    };
    let recorded = office.record(&day)?;

    // A village link: 64 kbit/s up, 256 down, 150 ms each way, and a drop at a random byte of
    // one in five stretches of 32 KiB sent (about every 20 s while sending).
    let before = proxy.stats();
    proxy.set_profile(LinkProfile {
        cut_window: 32 * 1024,
        // A seed whose draws cut three connections of this run, at different points of it.
        seed: 5,
        ..LinkProfile::field_2g()
    });
    let delivery = deliver(dir, None, quick_retries).await?;
    let mut stats = proxy.stats();
    stats.bytes_up -= before.bytes_up;
    stats.cut -= before.cut;
    let held = check_held(server, dir, &recorded, "teacher").await?;

    assert!(
        stats.cut >= 2,
        "the link cut too few connections: {stats:?}"
    );
    assert_eq!(held.orphan_uploads, 0, "uploads left unfinished");
    let ratio = stats.bytes_up as f64 / held.stored_bytes as f64;
    assert!(
        ratio <= 1.1,
        "{} bytes went up for {} stored ({ratio:.3}): {delivery:?} {stats:?}",
        stats.bytes_up,
        held.stored_bytes
    );
    assert!(
        delivery.longest_quiet <= Duration::from_secs(2),
        "progress went quiet for {:?}",
        delivery.longest_quiet
    );
    Ok(())
}
