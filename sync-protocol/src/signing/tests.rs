use chrono::{Duration, TimeZone as _, Utc};

use super::*;
use crate::cases::{AttemptKind, AttemptOutcome, GeoPoint};

fn visit() -> Attempt {
    let teacher = UserId::new();
    Attempt {
        id: AttemptId::new(),
        case_id: CaseId::new(),
        kind: AttemptKind::HomeVisit,
        occurred_at: Utc.with_ymd_and_hms(2026, 11, 3, 2, 30, 0).unwrap(),
        location: Some(GeoPoint {
            lat: 26.5,
            lon: 106.7,
            accuracy_m: Some(8.0),
        }),
        participants: vec![
            Participant {
                user_id: Some(teacher),
                name: "王老师".into(),
                unit: "一小".into(),
                department: None,
            },
            Participant {
                user_id: None,
                name: "李主任".into(),
                unit: "村委会".into(),
                department: None,
            },
        ],
        met_whom: "祖母".into(),
        guardian_statement: "同意".into(),
        outcome: AttemptOutcome::Undecided,
        next_step: String::new(),
        notes: "家中无人外出".into(),
        author_id: teacher,
        created_at: Utc.with_ymd_and_hms(2026, 11, 3, 3, 0, 0).unwrap(),
    }
}

fn signed(attempt: &Attempt, user_id: UserId, digest: &str) -> Signature {
    Signature {
        id: SignatureId::new(),
        case_id: attempt.case_id,
        attempt_id: attempt.id,
        user_id,
        user_name: String::new(),
        key_id: SigningKeyId::new(),
        device_id: "phone".into(),
        content_digest: digest.into(),
        signature: String::new(),
        signed_at: attempt.occurred_at,
        received_at: attempt.occurred_at,
        vouched: Vec::new(),
    }
}

#[test]
fn r21_the_content_ignores_order_and_precision_a_database_may_change() {
    let attempt = visit();
    let mut stored = attempt.clone();
    stored.participants.reverse();
    stored.occurred_at += Duration::microseconds(400);
    stored.created_at += Duration::hours(1);
    if let Some(place) = stored.location.as_mut() {
        place.lat += 1e-9;
        place.accuracy_m = None;
    }
    assert_eq!(
        content_digest(&attempt, ["b", "a"]),
        content_digest(&stored, ["a", "b", "a"])
    );
}

#[test]
fn r21_every_field_a_reader_relies_on_changes_the_digest() {
    let attempt = visit();
    let before = content_digest(&attempt, ["a"]);
    let edits: [fn(&mut Attempt); 7] = [
        |a| a.notes.push('。'),
        |a| a.guardian_statement = "不同意".into(),
        |a| a.outcome = AttemptOutcome::Refused,
        |a| a.occurred_at += Duration::seconds(1),
        |a| a.location = None,
        |a| a.participants.pop().map(drop).unwrap_or_default(),
        |a| a.met_whom = "父亲".into(),
    ];
    for edit in edits {
        let mut changed = attempt.clone();
        edit(&mut changed);
        assert_ne!(content_digest(&changed, ["a"]), before, "{changed:?}");
    }
    assert_ne!(content_digest(&attempt, ["a", "b"]), before, "a file added");
    // A field's length is part of it: moving text between fields is a change too.
    let mut moved = attempt.clone();
    moved.met_whom = "祖母同意".into();
    moved.guardian_statement = String::new();
    assert_ne!(content_digest(&moved, ["a"]), before);
}

#[test]
fn r21_each_participant_stands_signed_vouched_stale_or_missing() {
    let attempt = visit();
    let teacher = attempt.participants[0].user_id.unwrap_or_default();
    let now = content_digest(&attempt, ["drawing"]);
    let files = ["drawing"];

    let none = confirmations(&attempt, &[], &now, &files);
    assert!(none.iter().all(|c| c.confirmation == Confirmation::Missing));

    let mut own = signed(&attempt, teacher, &now);
    own.vouched.push(Vouched {
        name: "李主任".into(),
        drawing_sha256: "drawing".into(),
    });
    let both = confirmations(&attempt, std::slice::from_ref(&own), &now, &files);
    assert!(matches!(both[0].confirmation, Confirmation::Signed { .. }));
    assert!(matches!(both[1].confirmation, Confirmation::Vouched { by, .. } if by == teacher));
    assert!(both.iter().all(|c| c.confirmation.holds()));

    // The drawing is not among the attempt's files: the vouching does not count.
    let unfiled = confirmations(&attempt, std::slice::from_ref(&own), &now, &[]);
    assert_eq!(unfiled[1].confirmation, Confirmation::Missing);

    // Edited since: both stale, and nothing holds.
    let mut edited = attempt.clone();
    edited.notes = "改过".into();
    let later = content_digest(&edited, files);
    let stale = confirmations(&edited, std::slice::from_ref(&own), &later, &files);
    assert!(
        stale
            .iter()
            .all(|c| matches!(c.confirmation, Confirmation::Stale { .. }))
    );

    // Another user's signature is not the teacher's, and another attempt's counts for nothing.
    let other = signed(&attempt, UserId::new(), &now);
    let mut elsewhere = signed(&attempt, teacher, &now);
    elsewhere.attempt_id = AttemptId::new();
    let wrong = confirmations(&attempt, &[other, elsewhere], &now, &files);
    assert_eq!(wrong[0].confirmation, Confirmation::Missing);
}

#[test]
fn r21_the_signed_message_names_the_attempt_and_the_digest() {
    let attempt = visit();
    let digest = content_digest(&attempt, []);
    let message = String::from_utf8(message(attempt.id, &digest)).unwrap_or_default();
    assert!(message.contains(&attempt.id.to_string()) && message.ends_with(&digest));
    assert_ne!(
        super::message(AttemptId::new(), &digest),
        super::message(attempt.id, &digest)
    );
}
