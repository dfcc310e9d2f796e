//! Writing attempts and their participants, the free text sealed (R23). One path for the demo,
//! the tests' fixtures and sync.

use crate::db::CHUNK;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use sync_protocol::cases::Participant;
use sync_protocol::merge::AttemptFields;
use sync_protocol::sync::{FieldStamps, NewAttempt};
use uuid::Uuid;

use crate::db::entity::{attempt, attempt_participant};
use crate::personal_data::{Sealer, seal_context};

/// The stamps text of a field clock.
pub fn stamps_text(stamps: &FieldStamps) -> String {
    serde_json::to_string(stamps).unwrap_or_else(|_| "{}".into())
}

/// The field clock stored as `text`; a malformed one is a corrupt row.
pub fn parse_stamps(text: &str) -> Result<FieldStamps, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Custom(format!("corrupt field clock: {e}")))
}

/// Seals `plain`, the free-text `field` of attempt `id` (R23).
fn seal(sealer: &Sealer, id: Uuid, field: &str, plain: &str) -> String {
    sealer.seal(plain, &seal_context("attempts", field, id))
}

/// `row` with its free text opened (a row written before text was sealed is in the clear).
pub fn opened(sealer: &Sealer, mut row: attempt::Model) -> Result<attempt::Model, DbErr> {
    if !row.private_sealed {
        return Ok(row);
    }
    let id = row.id;
    let open = |field: &str, sealed: &str| {
        sealer
            .open(sealed, &seal_context("attempts", field, id))
            .map_err(|e| DbErr::Custom(format!("the {field} of attempt {id}: {e}")))
    };
    row.met_whom = open("met_whom", &row.met_whom)?;
    row.guardian_statement = open("guardian_statement", &row.guardian_statement)?;
    row.next_step = open("next_step", &row.next_step)?;
    row.notes = open("notes", &row.notes)?;
    row.private_sealed = false;
    Ok(row)
}

/// The rows of a new attempt by `author` with field clock `stamps` (version 1): the attempt, its
/// free text sealed, and its participants in order.
pub fn rows(
    sealer: &Sealer,
    new: &NewAttempt,
    author: Uuid,
    stamps: &FieldStamps,
    now: DateTime<Utc>,
) -> (attempt::Model, Vec<attempt_participant::Model>) {
    let id = new.id.0;
    let row = attempt::Model {
        id: new.id.0,
        case_id: new.case_id.0,
        kind: new.kind.as_str().to_owned(),
        occurred_at: new.occurred_at,
        lat: new.location.map(|l| l.lat),
        lon: new.location.map(|l| l.lon),
        accuracy_m: new.location.and_then(|l| l.accuracy_m),
        met_whom: seal(sealer, id, "met_whom", &new.met_whom),
        guardian_statement: seal(sealer, id, "guardian_statement", &new.guardian_statement),
        outcome: new.outcome.as_str().to_owned(),
        next_step: seal(sealer, id, "next_step", &new.next_step),
        notes: seal(sealer, id, "notes", &new.notes),
        private_sealed: true,
        author_id: author,
        created_at: now,
        version: 1,
        field_stamps: stamps_text(stamps),
        initial_participants: i32::try_from(new.participants.len()).unwrap_or(i32::MAX),
    };
    (row, participant_rows(new.id.0, &new.participants))
}

fn participant_rows(
    attempt_id: Uuid,
    participants: &[Participant],
) -> Vec<attempt_participant::Model> {
    participants
        .iter()
        .zip(0..)
        .map(|(p, position)| attempt_participant::Model {
            id: Uuid::now_v7(),
            attempt_id,
            position,
            user_id: p.user_id.map(|u| u.0),
            name: p.name.clone(),
            unit: p.unit.clone(),
            department: p.department.map(|d| d.as_str().to_owned()),
        })
        .collect()
}

/// Inserts attempt rows, then participant rows, many per statement.
pub async fn insert_rows(
    db: &impl ConnectionTrait,
    attempts: Vec<attempt::Model>,
    participants: Vec<attempt_participant::Model>,
) -> Result<(), DbErr> {
    let mut attempts = attempts
        .into_iter()
        .map(attempt::ActiveModel::from)
        .peekable();
    while attempts.peek().is_some() {
        attempt::Entity::insert_many(attempts.by_ref().take(CHUNK))
            .exec(db)
            .await?;
    }
    let mut participants = participants
        .into_iter()
        .map(attempt_participant::ActiveModel::from)
        .peekable();
    while participants.peek().is_some() {
        attempt_participant::Entity::insert_many(participants.by_ref().take(CHUNK))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Inserts `new` by `author` with field clock `stamps` (version 1) and its participants.
pub async fn insert(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    new: &NewAttempt,
    author: Uuid,
    stamps: &FieldStamps,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (row, participants) = rows(sealer, new, author, stamps, now);
    insert_rows(db, vec![row], participants).await
}

/// Replaces the participants of `attempt_id` with `participants`, in order.
pub async fn replace_participants(
    db: &impl ConnectionTrait,
    attempt_id: Uuid,
    participants: &[Participant],
) -> Result<(), DbErr> {
    attempt_participant::Entity::delete_many()
        .filter(attempt_participant::Column::AttemptId.eq(attempt_id))
        .exec(db)
        .await?;
    insert_rows(db, Vec::new(), participant_rows(attempt_id, participants)).await
}

/// The participants of `attempt_id` in order.
pub async fn participants(
    db: &impl ConnectionTrait,
    attempt_id: Uuid,
) -> Result<Vec<Participant>, DbErr> {
    attempt_participant::Entity::find()
        .filter(attempt_participant::Column::AttemptId.eq(attempt_id))
        .order_by_asc(attempt_participant::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            let department = p
                .department
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: String| DbErr::Custom(format!("corrupt participant {}: {e}", p.id)))?;
            Ok(Participant {
                user_id: p.user_id.map(Into::into),
                name: p.name,
                unit: p.unit,
                department,
            })
        })
        .collect()
}

/// The mergeable fields of a stored attempt, its free text opened.
pub fn fields(
    sealer: &Sealer,
    row: &attempt::Model,
    participants: Vec<Participant>,
) -> Result<AttemptFields, DbErr> {
    let row = &opened(sealer, row.clone())?;
    let corrupt = |e: String| DbErr::Custom(format!("corrupt attempt {}: {e}", row.id));
    Ok(AttemptFields {
        met_whom: row.met_whom.clone(),
        guardian_statement: row.guardian_statement.clone(),
        outcome: row.outcome.parse().map_err(corrupt)?,
        next_step: row.next_step.clone(),
        notes: row.notes.clone(),
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(sync_protocol::cases::GeoPoint {
                lat,
                lon,
                accuracy_m: row.accuracy_m,
            }),
            _ => None,
        },
        participants,
        initial_participants: usize::try_from(row.initial_participants).unwrap_or(0),
    })
}

/// Writes merged fields back, the free text sealed, with the new version and field clock.
pub async fn store(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    row: attempt::Model,
    fields: &AttemptFields,
    stamps: &FieldStamps,
    version: i64,
    participants_changed: bool,
) -> Result<(), DbErr> {
    let id = row.id;
    let mut active: attempt::ActiveModel = row.into();
    active.met_whom = Set(seal(sealer, id, "met_whom", &fields.met_whom));
    active.guardian_statement = Set(seal(
        sealer,
        id,
        "guardian_statement",
        &fields.guardian_statement,
    ));
    active.outcome = Set(fields.outcome.as_str().to_owned());
    active.next_step = Set(seal(sealer, id, "next_step", &fields.next_step));
    active.notes = Set(seal(sealer, id, "notes", &fields.notes));
    active.private_sealed = Set(true);
    active.lat = Set(fields.location.map(|l| l.lat));
    active.lon = Set(fields.location.map(|l| l.lon));
    active.accuracy_m = Set(fields.location.and_then(|l| l.accuracy_m));
    active.version = Set(version);
    active.field_stamps = Set(stamps_text(stamps));
    active.update(db).await?;
    if participants_changed {
        replace_participants(db, id, &fields.participants).await?;
    }
    Ok(())
}

/// The participant rows of the attempts `ids`, by attempt, in signing order.
pub async fn participants_of(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<std::collections::HashMap<Uuid, Vec<attempt_participant::Model>>, DbErr> {
    let mut by_attempt: std::collections::HashMap<Uuid, Vec<attempt_participant::Model>> =
        Default::default();
    for chunk in ids.chunks(CHUNK) {
        let rows = attempt_participant::Entity::find()
            .filter(attempt_participant::Column::AttemptId.is_in(chunk.iter().copied()))
            .order_by_asc(attempt_participant::Column::Position)
            .all(db)
            .await?;
        for row in rows {
            by_attempt.entry(row.attempt_id).or_default().push(row);
        }
    }
    Ok(by_attempt)
}

/// The attempt `id`, as stored (free text still sealed).
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<attempt::Model>, DbErr> {
    attempt::Entity::find_by_id(id).one(db).await
}

/// Those of the attempts `ids` that exist.
pub async fn existing(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<Uuid> = attempt::Entity::find()
            .select_only()
            .column(attempt::Column::Id)
            .filter(attempt::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}
