//! Plausibility flags (issue 20): the server notices, as evidence arrives, a photo taken long
//! before the visit, a visit or photo far from the child's village, a photo already on another
//! attempt (the same file, or a re-encoded copy), a visit's recording of a few seconds, a record
//! made days after the visit, and one teacher in two far places within minutes. Each has a case
//! that raises it and one that does not; a supervisor dismisses a flag with a reason.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use server::db::entity::{audit_entry, student};
use server::reports::ledger::COLUMNS;
use sync_protocol::cases::{AttemptKind, CaseStatus, GeoPoint};
use sync_protocol::detail::CaseDetail;
use sync_protocol::flags::{Centre, DismissFlag, Flag, FlagKind};
use sync_protocol::sync::{Change, MutationOutcome, NewAttempt, PROTOCOL_VERSION, PushRequest};
use sync_protocol::{AttemptId, CaseId};
use tests::TestServer;

/// The village centre the tests set, and a place 100 m from it.
const CENTRE: (f64, f64) = (25.04, 102.71);
const NEARBY: (f64, f64) = (25.0405, 102.7105);
/// A place about 33 km north of the centre.
const TOWN: (f64, f64) = (25.34, 102.71);

/// The server with the teacher's first case's village centred at [`CENTRE`] by the
/// administrator; answers the server, the case and the teacher's token.
async fn setup() -> anyhow::Result<(TestServer, CaseId, String)> {
    let server = TestServer::start().await?;
    let case = server
        .school_cases()
        .next()
        .ok_or_else(|| anyhow::anyhow!("a case in the teacher's school"))?
        .clone();
    let admin = server.token("admin").await?;
    let centre = Centre {
        lat: CENTRE.0,
        lon: CENTRE.1,
    };
    let path = format!("/api/v1/org-units/{}/centre", case.village_id);
    let body = serde_json::to_vec(&centre)?;
    let set = server
        .request(
            reqwest::Method::PUT,
            &path,
            Some(&admin),
            Some(("application/json", body)),
        )
        .await?;
    anyhow::ensure!(set.status == StatusCode::NO_CONTENT, "{}", set.body.text());
    let teacher = server.token("teacher").await?;
    Ok((server, CaseId(case.id), teacher))
}

/// A `kind` attempt on `case` that happened at `at`, at `place`.
fn new_attempt(
    case: CaseId,
    (kind, at, place): (AttemptKind, DateTime<Utc>, Option<(f64, f64)>),
) -> NewAttempt {
    let mut new = tests::sample_attempt(case, "家访");
    new.kind = kind;
    new.occurred_at = at;
    new.location = place.map(|(lat, lon)| GeoPoint {
        lat,
        lon,
        accuracy_m: Some(10.0),
    });
    new
}

/// Pushes a `kind` attempt on `case` that happened at `at`, at `place`, as `token`'s holder
/// recording it now; answers its id.
async fn attempt(
    server: &TestServer,
    token: &str,
    case: CaseId,
    what: (AttemptKind, DateTime<Utc>, Option<(f64, f64)>),
) -> anyhow::Result<AttemptId> {
    let new = new_attempt(case, what);
    let id = new.id;
    let outcome = server
        .push_one(token, Change::CreateAttempt { attempt: new })
        .await?;
    anyhow::ensure!(
        matches!(outcome, MutationOutcome::Applied { .. }),
        "{outcome:?}"
    );
    Ok(id)
}

/// A phone call made five days ago and recorded now.
async fn late_call(server: &TestServer, token: &str, case: CaseId) -> anyhow::Result<AttemptId> {
    let five_days = Utc::now() - Duration::days(5);
    attempt(
        server,
        token,
        case,
        (AttemptKind::PhoneCall, five_days, None),
    )
    .await
}

/// A visit that happened an hour ago, near the village.
async fn visit(server: &TestServer, token: &str, case: CaseId) -> anyhow::Result<AttemptId> {
    let at = Utc::now() - Duration::hours(1);
    attempt(
        server,
        token,
        case,
        (AttemptKind::HomeVisit, at, Some(NEARBY)),
    )
    .await
}

/// Uploads `file` as a `kind` file of `attempt` with the extra `Upload-Metadata` `extra`;
/// answers the media id.
async fn upload(
    server: &TestServer,
    token: &str,
    (kind, file): (&str, Vec<u8>),
    attempt: AttemptId,
    extra: &[(&str, &str)],
) -> anyhow::Result<uuid::Uuid> {
    let sha = server::digest::sha256_hex(&file);
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let mut metadata = tests::tus_metadata(kind, &sha, attempt.0);
    for (key, value) in extra {
        metadata.push_str(&format!(",{key} {}", b64(value)));
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/uploads", server.url))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", file.len())
        .header("Upload-Metadata", metadata)
        .header("Content-Type", "application/offset+octet-stream")
        .body(file)
        .send()
        .await?;
    anyhow::ensure!(answer.status().is_success(), "{}", answer.text().await?);
    let supervisor = server.token("supervisor").await?;
    let detail = case_of(server, &supervisor, attempt).await?;
    detail
        .media
        .iter()
        .find(|m| m.media.target_id == attempt.0 && m.media.sha256 == sha)
        .map(|m| m.media.id.0)
        .ok_or_else(|| anyhow::anyhow!("the file on the attempt"))
}

/// The case of `attempt`, as the supervisor reads it.
async fn case_of(
    server: &TestServer,
    supervisor: &str,
    attempt: AttemptId,
) -> anyhow::Result<CaseDetail> {
    use server::db::entity::attempt as row;
    let found = row::Entity::find_by_id(attempt.0)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("attempt {attempt}"))?;
    let answer = server
        .get(&format!("/api/v1/cases/{}", found.case_id), supervisor)
        .await?;
    anyhow::ensure!(answer.status == StatusCode::OK, "{}", answer.body.text());
    answer.body.parse()
}

/// The flags of `kind` on `attempt`, as the supervisor's case detail shows them.
async fn flags_on(
    server: &TestServer,
    attempt: AttemptId,
    kind: FlagKind,
) -> anyhow::Result<Vec<Flag>> {
    let supervisor = server.token("supervisor").await?;
    let detail = case_of(server, &supervisor, attempt).await?;
    Ok(detail
        .flags
        .into_iter()
        .filter(|f| f.attempt_id == attempt && f.kind == kind)
        .collect())
}

/// A 320×240 picture of bands whose phase follows `seed`'s parity and shades its value, as a
/// JPEG of `quality` scaled to `width`.
fn scene(seed: u32, width: u32, quality: u8) -> anyhow::Result<Vec<u8>> {
    let picture = image::RgbImage::from_fn(320, 240, |x, y| {
        let band = ((x / 40 + y / 30 + seed) % 2) as u8;
        let shade = u8::try_from((x * seed + y) % 200).unwrap_or(0);
        image::Rgb([shade / 2 + band * 100, 90 + band * 80, 200 - shade / 2])
    });
    let resized = image::DynamicImage::ImageRgb8(picture).resize(
        width,
        width,
        image::imageops::FilterType::Triangle,
    );
    let mut out = std::io::Cursor::new(Vec::new());
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    resized.write_with_encoder(encoder)?;
    Ok(out.into_inner())
}

/// Asks for the thumbnail of `media` (made now if the background has not made it yet).
async fn thumbnail(server: &TestServer, media: uuid::Uuid) -> anyhow::Result<()> {
    let supervisor = server.token("supervisor").await?;
    let answer = server
        .get(&format!("/api/v1/media/{media}/thumbnail"), &supervisor)
        .await?;
    anyhow::ensure!(answer.status == StatusCode::OK, "{}", answer.status);
    Ok(())
}

#[tokio::test]
async fn r21_flags_an_attempt_recorded_days_late_far_from_the_village_or_far_from_the_last_one()
-> anyhow::Result<()> {
    let (server, case, teacher) = setup().await?;

    // A record made five days after the visit; one made the same day is not.
    let late = late_call(&server, &teacher, case).await?;
    let flags = flags_on(&server, late, FlagKind::LateRecord).await?;
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(
        flags[0].detail.contains("h later (limit 48 h)"),
        "{}",
        flags[0].detail
    );
    let on_time = visit(&server, &teacher, case).await?;
    assert!(
        flags_on(&server, on_time, FlagKind::LateRecord)
            .await?
            .is_empty()
    );

    // A visit recorded 33 km from the village; the one near it is not.
    let yesterday = Utc::now() - Duration::hours(30);
    let away = (AttemptKind::HomeVisit, yesterday, Some(TOWN));
    let far = attempt(&server, &teacher, case, away).await?;
    let flags = flags_on(&server, far, FlagKind::FarFromVillage).await?;
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(
        flags[0].detail.contains("km from the village centre"),
        "{}",
        flags[0].detail
    );
    assert!(
        flags_on(&server, on_time, FlagKind::FarFromVillage)
            .await?
            .is_empty()
    );

    // Ten minutes after the visit near the village, the same teacher 33 km away.
    let then = Utc::now() - Duration::hours(1) + Duration::minutes(10);
    let jump = (AttemptKind::HomeVisit, then, Some(TOWN));
    let jumped = attempt(&server, &teacher, case, jump).await?;
    let flags = flags_on(&server, jumped, FlagKind::ImpossibleTravel).await?;
    assert!(
        flags.iter().any(|f| f.related == vec![on_time.0]),
        "{flags:?}"
    );
    // Five hours later is a journey one can make.
    let later = (
        AttemptKind::HomeVisit,
        Utc::now() - Duration::hours(25),
        Some(CENTRE),
    );
    let calm = attempt(&server, &teacher, case, later).await?;
    let flags = flags_on(&server, calm, FlagKind::ImpossibleTravel).await?;
    assert!(flags.is_empty(), "{flags:?}");
    Ok(())
}

#[tokio::test]
async fn r21_attempts_of_one_push_are_checked_against_each_other_and_the_authors_earlier_ones()
-> anyhow::Result<()> {
    let (server, case, teacher) = setup().await?;
    let before = visit(&server, &teacher, case).await?;
    // One push, after that visit an hour ago: near the village 5 minutes later, in town 5
    // minutes after that, and in town two days before (too long before anything else to be a
    // journey).
    let at = Utc::now() - Duration::minutes(55);
    let near = new_attempt(case, (AttemptKind::HomeVisit, at, Some(NEARBY)));
    let town = (
        AttemptKind::HomeVisit,
        at + Duration::minutes(5),
        Some(TOWN),
    );
    let town = new_attempt(case, town);
    let days = (AttemptKind::HomeVisit, at - Duration::days(2), Some(TOWN));
    let days_before = new_attempt(case, days);
    let ids = (near.id, town.id, days_before.id);
    let device = sync_protocol::DeviceId::new();
    let request = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        mutations: [near, town, days_before]
            .into_iter()
            .map(|attempt| tests::mutation(device, 0, Change::CreateAttempt { attempt }))
            .collect(),
    };
    let pushed = server.post("/api/v1/sync/push", &teacher, &request).await?;
    anyhow::ensure!(pushed.status == StatusCode::OK, "{}", pushed.body.text());

    let related = |flags: Vec<Flag>| {
        let mut ids: Vec<uuid::Uuid> = flags.into_iter().flat_map(|f| f.related).collect();
        ids.sort();
        ids
    };
    let mut expected = vec![ids.0.0, before.0];
    expected.sort();
    let in_town = flags_on(&server, ids.1, FlagKind::ImpossibleTravel).await?;
    assert_eq!(related(in_town), expected, "the town visit jumps from both");
    let near = flags_on(&server, ids.0, FlagKind::ImpossibleTravel).await?;
    assert_eq!(
        related(near),
        vec![ids.1.0],
        "the near one jumps to the town"
    );
    let alone = flags_on(&server, ids.2, FlagKind::ImpossibleTravel).await?;
    assert!(alone.is_empty(), "{alone:?}");
    Ok(())
}

#[tokio::test]
async fn r21_flags_a_photo_taken_long_before_or_far_away_and_a_short_visit_recording()
-> anyhow::Result<()> {
    let (server, case, teacher) = setup().await?;
    let a = visit(&server, &teacher, case).await?;

    let month_ago = (Utc::now() - Duration::days(30)).to_rfc3339();
    let old = upload(
        &server,
        &teacher,
        ("photo", scene(1, 320, 90)?),
        a,
        &[("captured_at", &month_ago)],
    )
    .await?;
    let flags = flags_on(&server, a, FlagKind::CaptureTime).await?;
    assert_eq!(
        flags
            .iter()
            .map(|f| f.media_id.map(|m| m.0))
            .collect::<Vec<_>>(),
        vec![Some(old)]
    );
    let now = Utc::now().to_rfc3339();
    let (lat, lon) = (TOWN.0.to_string(), TOWN.1.to_string());
    let elsewhere = [("captured_at", now.as_str()), ("lat", &lat), ("lon", &lon)];
    let away = upload(
        &server,
        &teacher,
        ("photo", scene(2, 320, 90)?),
        a,
        &elsewhere,
    )
    .await?;
    let flags = flags_on(&server, a, FlagKind::CaptureTime).await?;
    assert_eq!(
        flags.len(),
        1,
        "a photo taken now raises nothing: {flags:?}"
    );
    let flags = flags_on(&server, a, FlagKind::FarFromVillage).await?;
    assert_eq!(
        flags
            .iter()
            .map(|f| f.media_id.map(|m| m.0))
            .collect::<Vec<_>>(),
        vec![Some(away)]
    );

    // A visit's recording of five seconds; ninety seconds is a visit.
    let short = upload(
        &server,
        &teacher,
        ("audio", tests::files::wav(5_000)),
        a,
        &[],
    )
    .await?;
    upload(
        &server,
        &teacher,
        ("audio", tests::files::wav(90_000)),
        a,
        &[],
    )
    .await?;
    let flags = flags_on(&server, a, FlagKind::ShortRecording).await?;
    assert_eq!(
        flags
            .iter()
            .map(|f| f.media_id.map(|m| m.0))
            .collect::<Vec<_>>(),
        vec![Some(short)]
    );
    Ok(())
}

#[tokio::test]
async fn r21_flags_a_photo_on_two_attempts_and_a_re_encoded_copy_but_not_another_photo()
-> anyhow::Result<()> {
    let (server, case, teacher) = setup().await?;
    let (first, second, third, fourth) = (
        visit(&server, &teacher, case).await?,
        visit(&server, &teacher, case).await?,
        visit(&server, &teacher, case).await?,
        visit(&server, &teacher, case).await?,
    );
    let photo = scene(3, 320, 90)?;
    let original = upload(&server, &teacher, ("photo", photo.clone()), first, &[]).await?;
    thumbnail(&server, original).await?;
    // The same file again on another attempt.
    upload(&server, &teacher, ("photo", photo), second, &[]).await?;
    let flags = flags_on(&server, second, FlagKind::ReusedPhoto).await?;
    assert!(
        flags
            .iter()
            .any(|f| f.related.contains(&first.0) && f.detail.contains("same file")),
        "{flags:?}"
    );
    // A smaller, re-encoded copy: another SHA-256, a near perceptual hash.
    let copy = upload(&server, &teacher, ("photo", scene(3, 200, 60)?), third, &[]).await?;
    thumbnail(&server, copy).await?;
    let flags = flags_on(&server, third, FlagKind::ReusedPhoto).await?;
    assert!(
        flags
            .iter()
            .any(|f| f.related.contains(&first.0) && f.detail.contains("near copy")),
        "{flags:?}"
    );
    // Another picture is no copy.
    let other = upload(
        &server,
        &teacher,
        ("photo", scene(4, 320, 90)?),
        fourth,
        &[],
    )
    .await?;
    thumbnail(&server, other).await?;
    let flags = flags_on(&server, fourth, FlagKind::ReusedPhoto).await?;
    assert!(flags.is_empty(), "{flags:?}");
    Ok(())
}

#[tokio::test]
async fn r21_a_supervisor_dismisses_a_flag_with_a_reason_and_others_may_not() -> anyhow::Result<()>
{
    let (server, _, teacher) = setup().await?;
    let row = server.school_case_at(CaseStatus::Reported).await?;
    let case = CaseId(row.id);
    let late = late_call(&server, &teacher, case).await?;
    let pupil = student::Entity::find_by_id(row.student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the case's student"))?;
    let column = COLUMNS.iter().position(|c| *c == "存疑提示").unwrap_or(0);
    let in_ledger = async || -> anyhow::Result<String> {
        let listed = server.ledger_row(&pupil.registration_no).await?;
        Ok(listed
            .and_then(|r| r.get(column).map(str::to_owned))
            .unwrap_or_default())
    };
    assert_eq!(in_ledger().await?, "劝返记录补录过晚×1");
    let flag = flags_on(&server, late, FlagKind::LateRecord)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the late record's flag"))?;

    // The scope's open flags list it; another school's teacher and another district's see none.
    let supervisor = server.token("supervisor").await?;
    let open: Vec<Flag> = server
        .get("/api/v1/flags", &supervisor)
        .await?
        .body
        .parse()?;
    assert!(open.iter().any(|f| f.id == flag.id));
    let bad = server
        .get("/api/v1/flags?dismissed=maybe", &supervisor)
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.is_client_problem() && bad.body.text().contains("dismissed"));
    let admin = server.token("admin").await?;
    let refused = server.get("/api/v1/flags", &admin).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for outsider in [TestServer::other_username(
        sync_protocol::org::Role::Supervisor,
    )] {
        let token = server.token(&outsider).await?;
        let theirs: Vec<Flag> = server.get("/api/v1/flags", &token).await?.body.parse()?;
        assert!(theirs.iter().all(|f| f.id != flag.id), "{outsider} sees it");
        let path = format!("/api/v1/flags/{}/dismiss", flag.id);
        let reason = DismissFlag {
            reason: "补录".into(),
        };
        let refused = server.post(&path, &token, &reason).await?;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
    }

    let path = format!("/api/v1/flags/{}/dismiss", flag.id);
    let reason = DismissFlag {
        reason: "山区无信号，回校后补录".into(),
    };
    let by_teacher = server.post(&path, &teacher, &reason).await?;
    assert_eq!(by_teacher.status, StatusCode::FORBIDDEN);
    let blank = DismissFlag { reason: " ".into() };
    let empty = server.post(&path, &supervisor, &blank).await?;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.is_client_problem());

    let dismissed = server.post(&path, &supervisor, &reason).await?;
    assert_eq!(
        dismissed.status,
        StatusCode::OK,
        "{}",
        dismissed.body.text()
    );
    let dismissed: Flag = dismissed.body.parse()?;
    assert_eq!(
        dismissed.dismissal.map(|d| d.reason),
        Some("山区无信号，回校后补录".to_owned())
    );
    let open: Vec<Flag> = server
        .get("/api/v1/flags", &supervisor)
        .await?
        .body
        .parse()?;
    assert!(
        open.iter().all(|f| f.id != flag.id),
        "a dismissed flag leaves the queue"
    );
    let all: Vec<Flag> = server
        .get("/api/v1/flags?dismissed=true", &supervisor)
        .await?
        .body
        .parse()?;
    assert!(all.iter().any(|f| f.id == flag.id));
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("flag.dismiss"))
        .count(&server.state.db.read)
        .await?;
    assert_eq!(audited, 1);
    assert_eq!(in_ledger().await?, "", "a dismissed flag leaves the ledger");
    Ok(())
}
