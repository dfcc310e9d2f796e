use chrono::{Duration, TimeZone as _};

use super::*;

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, hour, minute, 0).unwrap()
}

const VILLAGE: Place = (25.04, 102.71);

#[test]
fn a_photo_taken_far_from_the_attempts_time_is_flagged() {
    let t = Thresholds::default();
    assert!(capture_time(at(9, 0), at(11, 0), &t).is_none());
    let old = at(9, 0) - Duration::days(30);
    let said = capture_time(at(9, 0), old, &t).unwrap_or_default();
    assert!(said.contains("720 h apart (limit 24 h)"), "{said}");
}

#[test]
fn a_place_far_from_the_village_is_flagged() {
    let t = Thresholds::default();
    assert!(far_from_village("the attempt", (25.05, 102.72), VILLAGE, &t).is_none());
    let office = (25.30, 102.71);
    let said = far_from_village("the attempt", office, VILLAGE, &t).unwrap_or_default();
    assert!(said.contains("28.9 km"), "{said}");
    assert!((distance_km((0.0, 0.0), (0.0, 1.0)) - 111.19).abs() < 0.01);
}

#[test]
fn a_visit_recording_much_shorter_than_a_visit_is_flagged_a_call_is_not() {
    let t = Thresholds::default();
    assert!(short_recording(AttemptKind::HomeVisit, 8_000, &t).is_some());
    assert!(short_recording(AttemptKind::HomeVisit, 600_000, &t).is_none());
    assert!(short_recording(AttemptKind::PhoneCall, 8_000, &t).is_none());
}

#[test]
fn an_attempt_recorded_long_after_it_happened_is_flagged() {
    let t = Thresholds::default();
    assert!(late_record(at(9, 0), at(20, 0), &t).is_none());
    let said = late_record(at(9, 0), at(9, 0) + Duration::days(5), &t).unwrap_or_default();
    assert!(said.contains("120 h later"), "{said}");
}

#[test]
fn two_attempts_too_far_apart_for_the_time_between_them_are_flagged() {
    let t = Thresholds::default();
    let far = (25.50, 102.71);
    assert!(impossible_travel((at(9, 0), VILLAGE), (at(9, 20), far), &t).is_some());
    assert!(impossible_travel((at(9, 0), VILLAGE), (at(11, 0), far), &t).is_none());
    let next_door = (25.041, 102.711);
    assert!(impossible_travel((at(9, 0), VILLAGE), (at(9, 1), next_door), &t).is_none());
}

#[test]
fn a_re_encoded_copy_hashes_close_and_another_picture_far() {
    let scene = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let original = image::DynamicImage::ImageRgb8(scene);
    let mut jpeg = std::io::Cursor::new(Vec::new());
    original
        .resize(160, 120, image::imageops::FilterType::Triangle)
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap_or_default();
    let copy = image::load_from_memory(&jpeg.into_inner()).unwrap_or_default();
    let other = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([((y * 3) % 256) as u8, ((x * 7) % 256) as u8, 40])
    }));
    let a = difference_hash(&original);
    assert!(hash_distance(a, difference_hash(&copy)) <= 6);
    assert!(hash_distance(a, difference_hash(&other)) > 6);
}
