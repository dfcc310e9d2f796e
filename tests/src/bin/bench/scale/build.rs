//! The scale benchmark's districts, written straight to the database (bulk inserts, not through
//! the API), and the raw read of a scope that a pull is measured against.
//!
//! The server runs as a child process (this binary with `serve-scale-child`) over the test
//! fixtures plus the district `BENCH_SHAPE` describes: schools of the home district, the first
//! the fixture teacher's, each with the same number of cases of its own pupils and the same
//! number of attempts per case, their change-log entries interleaved across the schools (as
//! when every school works at once). Two of the teacher's cases get more attempts, 100 and
//! 5,000 in all, to compare a change to a short history with one to a long one. What is due on
//! every case is then stored as the server keeps it (`due_store::backfill`), and on PostgreSQL
//! the tables vacuumed and analyzed, as autovacuum would soon after. No ledger events are
//! written: a pull does not read them.

use std::time::Instant;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait as _,
    DatabaseConnection, EntityTrait as _, IntoActiveModel as _, QueryFilter as _, QuerySelect as _,
    TransactionTrait as _,
};
use server::db::entity::{attempt, attempt_participant, case, change_log, org_unit, student};
use sync_protocol::cases::CaseStatus;
use sync_protocol::org::{OrgUnitKind, Role};
use tests::TestServer;
use uuid::Uuid;

/// The argument that makes this binary the scale benchmark's server.
pub const SERVE_CHILD: &str = "serve-scale-child";

/// Rows per flush of each table.
const FLUSH: usize = 2_000;
/// Attempts in all on the two long-history cases of the teacher's school.
pub const LONG_CASES: [usize; 2] = [100, 5_000];

/// What a district holds besides the fixtures.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Schools, the teacher's first.
    pub schools: usize,
    /// Cases of each school.
    pub cases_per_school: usize,
    /// Attempts of each case.
    pub attempts_per_case: usize,
}

impl Shape {
    /// As the child reads it from `BENCH_SHAPE`.
    pub fn to_env(self) -> String {
        format!(
            "{}:{}:{}",
            self.schools, self.cases_per_school, self.attempts_per_case
        )
    }

    fn from_env(text: &str) -> anyhow::Result<Self> {
        let numbers: Vec<usize> = text
            .split(':')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("BENCH_SHAPE `{text}`"))?;
        let [schools, cases_per_school, attempts_per_case] = numbers[..] else {
            anyhow::bail!("BENCH_SHAPE `{text}` is not schools:cases:attempts");
        };
        anyhow::ensure!(
            schools >= 1 && cases_per_school >= 2,
            "too small a district"
        );
        Ok(Self {
            schools,
            cases_per_school,
            attempts_per_case,
        })
    }

    /// Cases in all.
    pub fn cases(self) -> usize {
        self.schools * self.cases_per_school
    }
}

/// Where a school's pupils live.
struct Place {
    school: org_unit::Model,
    village: org_unit::Model,
}

/// The schools of the district, the fixture teacher's first, new ones spread over the home
/// district's townships.
async fn places(server: &TestServer, schools: usize) -> anyhow::Result<Vec<Place>> {
    let townships = &server.home.townships;
    let first = &townships[0];
    let mut out = vec![Place {
        school: first.schools[0].clone(),
        village: first.villages[0].clone(),
    }];
    let db = &server.state.db.write;
    for n in 1..schools {
        let township = &townships[n % townships.len()];
        let school = server::records::org_unit(
            db,
            OrgUnitKind::School,
            &format!("规模学校{n}"),
            &format!("SCALE-S{n}"),
            Some(&township.unit),
        )
        .await?;
        let village = township.villages[n % township.villages.len()].clone();
        out.push(Place { school, village });
    }
    Ok(out)
}

/// Rows waiting to be written, flushed in one transaction per table group.
#[derive(Default)]
struct Pending {
    students: Vec<student::ActiveModel>,
    cases: Vec<case::ActiveModel>,
    attempts: Vec<attempt::Model>,
    participants: Vec<attempt_participant::Model>,
    log: Vec<change_log::ActiveModel>,
}

impl Pending {
    fn len(&self) -> usize {
        self.cases.len() + self.attempts.len()
    }

    async fn flush(&mut self, db: &DatabaseConnection) -> anyhow::Result<()> {
        let txn = db.begin().await?;
        for rows in std::mem::take(&mut self.students).chunks(500) {
            student::Entity::insert_many(rows.to_vec())
                .exec(&txn)
                .await?;
        }
        for rows in std::mem::take(&mut self.cases).chunks(500) {
            case::Entity::insert_many(rows.to_vec()).exec(&txn).await?;
        }
        server::db::attempts::insert_rows(
            &txn,
            std::mem::take(&mut self.attempts),
            std::mem::take(&mut self.participants),
        )
        .await?;
        for rows in std::mem::take(&mut self.log).chunks(500) {
            change_log::Entity::insert_many(rows.to_vec())
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

/// The next change number, as the server's counter has it.
async fn next_seq(db: &DatabaseConnection) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM sync_counter WHERE id = 1",
        ))
        .await?
        .context("the change counter")?;
    Ok(row.try_get::<i64>("", "value")? + 1)
}

/// A case of the district, with where it belongs.
struct Opened {
    id: Uuid,
    place: usize,
}

/// Writes the district of `shape`; answers the ids of the teacher's two long-history cases.
async fn build(server: &TestServer, shape: Shape) -> anyhow::Result<[Uuid; 2]> {
    let started = Instant::now();
    let db = &server.state.db.write;
    let places = places(server, shape.schools).await?;
    let pupil = student::Entity::find()
        .one(db)
        .await?
        .context("a fixture student")?;
    let template = server.home.cases.first().context("a fixture case")?.clone();
    let author = server.home.users[0].1.id;
    let district = server.home.district.id;
    let opened_on = NaiveDate::from_ymd_opt(2026, 9, 10).context("a date")?;
    let mut seq = next_seq(db).await?;
    let mut pending = Pending::default();
    let mut opened = Vec::with_capacity(shape.cases());
    let log = |seq: i64, kind: &str, (id, case_id): (Uuid, Uuid), place: &Place| {
        change_log::ActiveModel {
            seq: Set(seq),
            entity_kind: Set(kind.to_owned()),
            entity_id: Set(id),
            case_id: Set(Some(case_id)),
            op: Set("upsert".into()),
            school_id: Set(place.school.id),
            village_id: Set(place.village.id),
            township_id: Set(place.village.township_id.unwrap_or(district)),
            district_id: Set(district),
        }
    };
    for i in 0..shape.cases_per_school {
        for (p, place) in places.iter().enumerate() {
            let (student_id, case_id) = (Uuid::now_v7(), Uuid::now_v7());
            let mut s = pupil.clone().into_active_model().reset_all();
            s.id = Set(student_id);
            s.name = Set(format!("学生{p}-{i}"));
            s.id_number_lookup = Set(format!("scale-{p}-{i}"));
            s.registration_no = Set(format!("S{p:03}{i:07}"));
            s.school_id = Set(place.school.id);
            s.village_id = Set(place.village.id);
            s.township_id = Set(place.village.township_id.unwrap_or(district));
            pending.students.push(s);
            let mut c = template.clone().into_active_model().reset_all();
            c.id = Set(case_id);
            c.student_id = Set(student_id);
            c.school_id = Set(place.school.id);
            c.village_id = Set(place.village.id);
            c.township_id = Set(place.village.township_id.unwrap_or(district));
            c.status = Set(CaseStatus::SchoolPersuasion.as_str().to_owned());
            c.opened_on = Set(opened_on);
            c.closure_reason = Set(None);
            c.version = Set(1);
            c.field_stamps = Set("{}".into());
            pending.cases.push(c);
            pending
                .log
                .push(log(seq, "case", (case_id, case_id), place));
            seq += 1;
            opened.push(Opened {
                id: case_id,
                place: p,
            });
            if pending.len() >= FLUSH {
                pending.flush(db).await?;
            }
        }
    }
    let long = [opened[0].id, opened[places.len()].id];
    // Every case's attempts, a round at a time, then the long histories' extra ones.
    let extra = LONG_CASES.map(|n| n.saturating_sub(shape.attempts_per_case));
    let rounds = (0..shape.attempts_per_case).flat_map(|_| opened.iter());
    let longer = (0..2).flat_map(|k| std::iter::repeat_n(&opened[k * places.len()], extra[k]));
    let now = Utc::now();
    for (n, case) in rounds.chain(longer).enumerate() {
        let new = tests::sample_attempt(case.id.into(), format!("visit {n}"));
        let (row, people) = server::db::attempts::rows(
            &server.state.sealer,
            &new,
            author,
            &Default::default(),
            now,
        );
        pending
            .log
            .push(log(seq, "attempt", (row.id, case.id), &places[case.place]));
        seq += 1;
        pending.attempts.push(row);
        pending.participants.extend(people);
        if pending.len() >= FLUSH {
            pending.flush(db).await?;
        }
        if (n + 1) % 200_000 == 0 {
            eprintln!("scale: {} attempts written", n + 1);
        }
    }
    pending.flush(db).await?;
    db.execute_unprepared(&format!(
        "UPDATE sync_counter SET value = {} WHERE id = 1",
        seq - 1
    ))
    .await?;
    eprintln!(
        "scale: {} cases and their attempts written in {:.0} s; storing what is due on each…",
        shape.cases(),
        started.elapsed().as_secs_f64()
    );
    let recomputed = server::cases::due_store::backfill(&server.state).await?;
    eprintln!("scale: due items of {recomputed} cases stored");
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // What autovacuum does within a minute or so of a bulk load, done before the clock
        // starts rather than during the pulls: without the statistics the first reads are
        // planned on the empty tables' estimates. SQLite gets no statistics, as the server
        // gives it none.
        db.execute_unprepared("VACUUM ANALYZE").await?;
    }
    Ok(long)
}

/// The `id` of each of `rows`.
fn ids_of(rows: &[serde_json::Value]) -> anyhow::Result<Vec<Uuid>> {
    rows.iter()
        .map(|row| {
            row["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .context("a row's id")
        })
        .collect()
}

/// Reads what a pull of the whole of a scope sends, with plain queries: the ids of the scope's
/// cases (its index), then 500 cases at a time the cases, their attempts and the attempts'
/// participants, each page's rows encoded as JSON: (rows, seconds).
async fn raw_read(
    db: &DatabaseConnection,
    column: case::Column,
    unit: Uuid,
) -> anyhow::Result<(usize, f64)> {
    let started = Instant::now();
    let ids: Vec<Uuid> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(column.eq(unit))
        .into_tuple()
        .all(db)
        .await?;
    let (mut rows, mut bytes) = (0usize, 0usize);
    for chunk in ids.chunks(500) {
        let cases = case::Entity::find()
            .filter(case::Column::Id.is_in(chunk.iter().copied()))
            .into_json()
            .all(db)
            .await?;
        let attempts = attempt::Entity::find()
            .filter(attempt::Column::CaseId.is_in(chunk.iter().copied()))
            .into_json()
            .all(db)
            .await?;
        let attempt_ids = ids_of(&attempts)?;
        let mut participants = Vec::new();
        for chunk in attempt_ids.chunks(500) {
            participants.extend(
                attempt_participant::Entity::find()
                    .filter(attempt_participant::Column::AttemptId.is_in(chunk.iter().copied()))
                    .into_json()
                    .all(db)
                    .await?,
            );
        }
        rows += cases.len() + attempts.len();
        for page in [cases, attempts, participants] {
            bytes += serde_json::to_vec(&page)?.len();
        }
    }
    anyhow::ensure!(bytes > 0, "nothing read");
    Ok((rows, started.elapsed().as_secs_f64()))
}

/// The scale benchmark's server: the fixtures plus the district of `BENCH_SHAPE`; prints
/// `ready <url>`, then for the teacher, the township officer and the supervisor their token,
/// the rows of their scope and the median seconds of three raw reads of it, then the long
/// cases' ids; serves until killed.
pub async fn serve_child() -> anyhow::Result<()> {
    server::memory::return_large_blocks();
    let shape = Shape::from_env(&std::env::var("BENCH_SHAPE").context("BENCH_SHAPE")?)?;
    let server = TestServer::builder()
        .with_env("ACCESS_TOKEN_TTL_SECS", "86400")
        .start()
        .await?;
    let long = build(&server, shape).await?;
    let first = &server.home.townships[0];
    let scopes = [
        (Role::Teacher, case::Column::SchoolId, first.schools[0].id),
        (
            Role::TownshipOfficer,
            case::Column::TownshipId,
            first.unit.id,
        ),
        (
            Role::Supervisor,
            case::Column::DistrictId,
            server.home.district.id,
        ),
    ];
    let mut words = vec![server.url.clone()];
    for (role, column, unit) in scopes {
        let mut seconds = Vec::new();
        let mut rows = 0;
        for _ in 0..3 {
            let (read, secs) = raw_read(&server.state.db.read, column, unit).await?;
            rows = read;
            seconds.push(secs);
        }
        words.push(server.token(role.as_str()).await?);
        words.push(rows.to_string());
        words.push(format!("{:.6}", crate::median(&seconds)));
    }
    words.extend(long.map(|id| id.to_string()));
    println!("ready {}", words.join(" "));
    std::future::pending::<()>().await;
    Ok(())
}
