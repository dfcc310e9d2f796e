//! Raising flags when evidence arrives: an attempt pushed (its time of recording, its place, the
//! author's other attempts near in time), a file linked (a photo's capture time and place, a
//! file already evidence elsewhere, a recording's length), and a photo's perceptual hash once its
//! thumbnail is made (a re-encoded copy of another attempt's photo). Each flag is raised once:
//! its key names its kind and the records it is about.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::cases::AttemptKind;
use sync_protocol::flags::FlagKind;
use sync_protocol::media::MediaKind;
use uuid::Uuid;

use super::{Thresholds, hash_distance};
use crate::db;
use crate::db::entity::{attempt, media_object, plausibility_flag};

/// How far around an attempt's time the author's other attempts are compared with it.
const TRAVEL_WINDOW: Duration = Duration::hours(12);

/// What a rule found, before it is stored.
struct Found {
    kind: FlagKind,
    media_id: Option<Uuid>,
    detail: String,
    related: Vec<Uuid>,
}

impl Found {
    fn new(kind: FlagKind, media_id: Option<Uuid>, detail: String, related: Vec<Uuid>) -> Self {
        Self {
            kind,
            media_id,
            detail,
            related,
        }
    }
}

/// An attempt created by a push, as the checks read it.
pub struct Arrival {
    /// The attempt.
    pub id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// The village of its case, whose centre it is compared with.
    pub village_id: Uuid,
    /// Who recorded it.
    pub author_id: Uuid,
    /// When it happened, by the phone.
    pub occurred_at: DateTime<Utc>,
    /// Where, if the phone knew.
    pub place: Option<super::Place>,
    /// When the phone recorded it (its stamp).
    pub recorded: DateTime<Utc>,
}

/// Stores what was `found` on the attempt `(id, case)`, each once.
async fn store(
    db: &impl ConnectionTrait,
    (attempt, case): (Uuid, Uuid),
    found: Vec<Found>,
) -> Result<(), DbErr> {
    for f in found {
        let mut related = f.related;
        related.sort();
        let names: Vec<String> = related.iter().map(Uuid::to_string).collect();
        let media = f.media_id.map(|m| m.to_string()).unwrap_or_default();
        let row = plausibility_flag::Model {
            id: Uuid::now_v7(),
            key: format!("{}:{attempt}:{media}:{}", f.kind.as_str(), names.join(",")),
            case_id: case,
            attempt_id: attempt,
            media_id: f.media_id,
            kind: f.kind.as_str().to_owned(),
            detail: f.detail,
            related: serde_json::to_string(&related)
                .map_err(|e| DbErr::Custom(format!("a flag's records do not encode: {e}")))?,
            raised_at: Utc::now(),
            dismissed_at: None,
            dismissed_by: None,
            dismiss_reason: None,
        };
        db::flags::raise(db, row).await?;
    }
    Ok(())
}

/// How far `what` at `place` is from the centre of the village of `attempt`'s case, if too far
/// (nothing when the village has no centre point).
async fn far_from_home(
    db: &impl ConnectionTrait,
    attempt: &attempt::Model,
    (what, place): (&str, super::Place),
    t: &Thresholds,
) -> Result<Option<String>, DbErr> {
    let Some(case) = db::cases::by_id(db, attempt.case_id).await? else {
        return Ok(None);
    };
    let centres = db::flags::centres(db, &[case.village_id]).await?;
    let centre = centres.get(&case.village_id);
    Ok(centre.and_then(|centre| super::far_from_village(what, place, *centre, t)))
}

/// The attempts with a place of each author of the `placed` attempts, from the earliest one's
/// time less [`TRAVEL_WINDOW`] to the latest one's plus it, by time: one query per author.
async fn placed_around(
    db: &impl ConnectionTrait,
    placed: &[&Arrival],
) -> Result<HashMap<Uuid, Vec<(Uuid, DateTime<Utc>, super::Place)>>, DbErr> {
    let mut spans: HashMap<Uuid, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    for a in placed {
        let span = spans
            .entry(a.author_id)
            .or_insert((a.occurred_at, a.occurred_at));
        *span = (span.0.min(a.occurred_at), span.1.max(a.occurred_at));
    }
    let mut out = HashMap::with_capacity(spans.len());
    for (author, (from, to)) in spans {
        let window = (from - TRAVEL_WINDOW, to + TRAVEL_WINDOW);
        let rows = db::flags::placed_attempts_by(db, author, window).await?;
        let rows = rows
            .into_iter()
            .map(|(id, at, lat, lon)| (id, at, (lat, lon)));
        out.insert(author, rows.collect());
    }
    Ok(out)
}

/// Checks the attempts that arrived in a push, once they are written: recorded long after,
/// far from the village, or too far from the author's other attempts for the time. A few
/// queries for the whole push, whatever its size; one more per flag raised.
pub async fn on_attempts(
    db: &impl ConnectionTrait,
    t: &Thresholds,
    arrived: &[Arrival],
) -> Result<(), DbErr> {
    let placed: Vec<&Arrival> = arrived.iter().filter(|a| a.place.is_some()).collect();
    let villages: HashSet<Uuid> = placed.iter().map(|a| a.village_id).collect();
    let villages: Vec<Uuid> = villages.into_iter().collect();
    let centres = db::flags::centres(db, &villages).await?;
    let around = placed_around(db, &placed).await?;
    for a in arrived {
        let mut found = Vec::new();
        if let Some(d) = super::late_record(a.occurred_at, a.recorded, t) {
            found.push(Found::new(FlagKind::LateRecord, None, d, Vec::new()));
        }
        if let Some(place) = a.place {
            let centre = centres.get(&a.village_id);
            if let Some(d) =
                centre.and_then(|c| super::far_from_village("the attempt", place, *c, t))
            {
                found.push(Found::new(FlagKind::FarFromVillage, None, d, Vec::new()));
            }
            let others = around.get(&a.author_id).map_or(&[][..], Vec::as_slice);
            let from = others.partition_point(|o| o.1 < a.occurred_at - TRAVEL_WINDOW);
            let to = others.partition_point(|o| o.1 <= a.occurred_at + TRAVEL_WINDOW);
            for &(other, at, there) in others[from..to].iter().filter(|o| o.0 != a.id) {
                if let Some(d) = super::impossible_travel((a.occurred_at, place), (at, there), t) {
                    found.push(Found::new(FlagKind::ImpossibleTravel, None, d, vec![other]));
                }
            }
        }
        store(db, (a.id, a.case_id), found).await?;
    }
    Ok(())
}

/// Checks a file that became evidence of an attempt: a photo taken far from the attempt's time
/// or place, a photo already evidence of another record, a visit's recording too short.
pub async fn on_media(
    db: &impl ConnectionTrait,
    t: &Thresholds,
    media: &media_object::Model,
) -> Result<(), DbErr> {
    if media.target_kind != "attempt" || media.preview_of.is_some() {
        return Ok(());
    }
    let Some(attempt) = db::attempts::by_id(db, media.target_id).await? else {
        return Ok(());
    };
    let mut found = Vec::new();
    let one = Some(media.id);
    if media.kind == MediaKind::Photo.as_str() {
        if let Some(d) = media
            .captured_at
            .and_then(|taken| super::capture_time(attempt.occurred_at, taken, t))
        {
            found.push(Found::new(FlagKind::CaptureTime, one, d, Vec::new()));
        }
        if let Some(place) = media.lat.zip(media.lon)
            && let Some(d) = far_from_home(db, &attempt, ("the photo", place), t).await?
        {
            found.push(Found::new(FlagKind::FarFromVillage, one, d, Vec::new()));
        }
        let elsewhere = db::flags::same_file_elsewhere(db, media).await?;
        if let Some(phash) = elsewhere.iter().find_map(|m| m.phash) {
            // The same photo's perceptual hash, known already: its thumbnail is not made again.
            db::flags::set_phash(db, &media.sha256, phash).await?;
        }
        for other in elsewhere {
            let d = format!(
                "the same file (SHA-256 {}) is evidence of {} {} too",
                media.sha256, other.target_kind, other.target_id
            );
            let related = vec![other.target_id, other.id];
            found.push(Found::new(FlagKind::ReusedPhoto, one, d, related));
        }
    }
    if let Some(ms) = media.duration_ms.and_then(|d| u64::try_from(d).ok()) {
        let kind: Option<AttemptKind> = attempt.kind.parse().ok();
        if let Some(d) = kind.and_then(|k| super::short_recording(k, ms, t)) {
            found.push(Found::new(FlagKind::ShortRecording, one, d, Vec::new()));
        }
    }
    store(db, (attempt.id, attempt.case_id), found).await
}

/// Whether a perceptual hash has the structure to compare: a flat picture (a blank page, a lens
/// cap) hashes to nearly all zeros or ones, and matches every other flat one.
fn telling(phash: u64) -> bool {
    (8..=56).contains(&phash.count_ones())
}

/// Keeps the perceptual hash `phash` of the photo `sha256` and flags each attempt it is
/// evidence of whose photo is a near copy of another attempt's photo in the same district
/// (flat pictures are not compared).
pub async fn perceptual(
    db: &impl ConnectionTrait,
    t: &Thresholds,
    sha256: &str,
    phash: u64,
) -> Result<(), DbErr> {
    let stored = i64::from_ne_bytes(phash.to_ne_bytes());
    let files = db::flags::set_phash(db, sha256, stored).await?;
    if t.photo_hash_bits == 0 || !telling(phash) {
        return Ok(());
    }
    for media in files.iter().filter(|m| {
        m.target_kind == "attempt" && m.preview_of.is_none() && m.kind == MediaKind::Photo.as_str()
    }) {
        let (Some(attempt), Some(case)) = (
            db::attempts::by_id(db, media.target_id).await?,
            db::cases::by_id(db, media.case_id).await?,
        ) else {
            continue;
        };
        let mut found = Vec::new();
        for (other, other_attempt, hash) in
            db::flags::hashed_photos(db, case.district_id, sha256).await?
        {
            let hash = u64::from_ne_bytes(hash.to_ne_bytes());
            let bits = hash_distance(phash, hash);
            if other_attempt != attempt.id && telling(hash) && bits <= t.photo_hash_bits {
                let d = format!(
                    "a near copy of photo {other} of attempt {other_attempt} (perceptual hashes {bits} bits apart, limit {})",
                    t.photo_hash_bits
                );
                let related = vec![other_attempt, other];
                found.push(Found::new(
                    FlagKind::ReusedPhoto,
                    Some(media.id),
                    d,
                    related,
                ));
            }
        }
        store(db, (attempt.id, attempt.case_id), found).await?;
    }
    Ok(())
}
