//! Plausibility flags (issue 20): what the server notices about evidence when it arrives. Each
//! rule here is a plain function over the values it compares and the configured [`Thresholds`],
//! answering the flag's evidence in words or nothing; `raise` runs them when an attempt or a
//! file arrives and stores what they find, `review` reads and dismisses flags (`routes` over
//! HTTP). A flag never
//! blocks anything.

pub mod raise;
pub mod review;
pub mod routes;

use chrono::{DateTime, Utc};
use sync_protocol::cases::AttemptKind;

pub use crate::config::Thresholds;

/// A place: latitude and longitude in degrees.
pub type Place = (f64, f64);

/// The great-circle distance between `a` and `b`, in km.
pub fn distance_km(a: Place, b: Place) -> f64 {
    const EARTH_KM: f64 = 6371.0;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let (dlat, dlon) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_KM * h.sqrt().min(1.0).asin()
}

/// A photo taken at `captured` for an attempt at `occurred`, too far apart.
pub fn capture_time(
    occurred: DateTime<Utc>,
    captured: DateTime<Utc>,
    t: &Thresholds,
) -> Option<String> {
    let gap = (captured - occurred).abs();
    (gap > t.capture_gap).then(|| {
        format!(
            "photo taken {} but the attempt happened {}: {} h apart (limit {} h)",
            captured.to_rfc3339(),
            occurred.to_rfc3339(),
            gap.num_hours(),
            t.capture_gap.num_hours()
        )
    })
}

/// `what` at `place`, too far from the village's `centre`.
pub fn far_from_village(what: &str, place: Place, centre: Place, t: &Thresholds) -> Option<String> {
    let km = distance_km(place, centre);
    (km > t.distance_km).then(|| {
        format!(
            "{what} at {:.5},{:.5} is {km:.1} km from the village centre {:.5},{:.5} (limit {} km)",
            place.0, place.1, centre.0, centre.1, t.distance_km
        )
    })
}

/// A recording of `duration_ms` of an attempt of `kind`, too short for a visit (a phone call
/// may be short).
pub fn short_recording(kind: AttemptKind, duration_ms: u64, t: &Thresholds) -> Option<String> {
    let visit = matches!(
        kind,
        AttemptKind::HomeVisit | AttemptKind::CollectiveVisit | AttemptKind::JointPersuasion
    );
    let limit = u64::try_from(t.short_recording.num_milliseconds()).unwrap_or(0);
    (visit && duration_ms < limit).then(|| {
        format!(
            "a {} recorded for {:.1} s (a visit's recording under {} s)",
            kind.as_str(),
            duration_ms as f64 / 1000.0,
            t.short_recording.num_seconds()
        )
    })
}

/// An attempt that happened at `occurred` and was recorded on the phone at `recorded`, too late.
pub fn late_record(
    occurred: DateTime<Utc>,
    recorded: DateTime<Utc>,
    t: &Thresholds,
) -> Option<String> {
    let late = recorded - occurred;
    (late > t.late_record).then(|| {
        format!(
            "recorded {} for an attempt at {}: {} h later (limit {} h)",
            recorded.to_rfc3339(),
            occurred.to_rfc3339(),
            late.num_hours(),
            t.late_record.num_hours()
        )
    })
}

/// Two attempts of one person, at `a` and `b` (time and place), further apart than the
/// configured speed allows.
pub fn impossible_travel(
    a: (DateTime<Utc>, Place),
    b: (DateTime<Utc>, Place),
    t: &Thresholds,
) -> Option<String> {
    let km = distance_km(a.1, b.1);
    let hours = (b.0 - a.0).abs().num_seconds() as f64 / 3600.0;
    let minutes = (b.0 - a.0).abs().num_minutes();
    (km > t.distance_km && km > t.travel_kmh * hours).then(|| {
        format!(
            "{km:.1} km from another attempt {minutes} min apart (over {} km/h)",
            t.travel_kmh
        )
    })
}

/// The 64-bit difference hash of a picture: each bit says whether a pixel of the 9×8 grey
/// reduction is brighter than its right-hand neighbour. A re-encoded or rescaled copy differs
/// in a few bits; another picture in about half.
pub fn difference_hash(picture: &image::DynamicImage) -> u64 {
    let small = picture
        .resize_exact(9, 8, image::imageops::FilterType::Triangle)
        .to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let brighter = small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0];
            hash = (hash << 1) | u64::from(brighter);
        }
    }
    hash
}

/// How many bits `a` and `b` differ in.
pub fn hash_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests;
