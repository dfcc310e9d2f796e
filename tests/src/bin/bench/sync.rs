//! Sync throughput against the limits of the same database engine, measured in the same run.
//!
//! 1. Raw batched INSERT: attempt rows into a scratch table with the same columns, key and index
//!    as `attempts`, 500 rows per transaction: once with 500 rows per statement (the engine's
//!    limit for this write), once with one row per statement (the usual batched insert).
//! 2. Raw INSERT of what a push writes: per mutation the attempt, its participant, the
//!    idempotency record, the change-log entry and the ledger event, and per case touched the
//!    chain head (an upsert), in the real tables, 500 mutations per transaction, one multi-row
//!    statement per table, plus the change numbers taken from their counter.
//! 3. Push: the same number of `CreateAttempt` mutations through `POST /api/v1/sync/push`, 500
//!    per request, each applied exactly once (idempotency record, change log, participants,
//!    ledger event); then the same requests again, answered from the idempotency records
//!    without a write (the protocol's own cost).
//! 4. First sync: a teacher pulls 2,000 cases and 20,000 attempts from an empty cursor.
//!
//! Steps 1–3 run in rounds (`--rounds`, default 3), each on the database the rounds before
//! left, and each ratio is the median of the rounds' ratios; step 4 runs once, after the first
//! round, when the school holds exactly the 20,000 attempts that round pushed.
//!
//! Runs on the embedded default (SQLite); with `TEST_DATABASE_URL` set, on PostgreSQL.

use std::time::Instant;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
use server::db::changes::ChangeSet;
use server::records::{self, NewCase, NewStudent};
use sync_protocol::cases::{CaseStatus, FoundBy};
use sync_protocol::students::{Gender, SpecialGroups};
use sync_protocol::sync::{
    Change, PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse,
};
use sync_protocol::{CaseId, DeviceId, MutationId};
use tests::TestServer;

const BATCH: usize = 500;

/// Opens `cases` cases in the teacher's school, in one transaction.
pub(crate) async fn seed_cases(server: &TestServer, cases: usize) -> anyhow::Result<Vec<CaseId>> {
    let school = &server.home.townships[0].schools[0];
    let village = &server.home.townships[0].villages[0];
    let txn = server.state.db.write.begin().await?;
    let mut changes = ChangeSet::default();
    let mut ids = Vec::with_capacity(cases);
    for n in 0..cases {
        let student = NewStudent {
            name: format!("学生{n}"),
            gender: Gender::Female,
            birth_date: NaiveDate::from_ymd_opt(2013, 5, 1).context("date")?,
            id_number: format!("53010220130501{:04}", n % 10_000),
            registration_no: format!("B{n}"),
            grade: 6,
            class_name: "1班".into(),
            household_address: "一组".into(),
            residence_address: "一组".into(),
            guardians: Vec::new(),
            groups: SpecialGroups::default(),
        };
        let student =
            records::student(&txn, &server.state.sealer, school, village, student).await?;
        let case = records::case(
            &txn,
            &mut changes,
            &student,
            NewCase {
                id: uuid::Uuid::now_v7(),
                status: CaseStatus::SchoolPersuasion,
                found_by: FoundBy::DailyAttendance,
                reason: None,
                responsible_user_id: None,
                opened_on: NaiveDate::from_ymd_opt(2026, 9, 10).context("date")?,
                relapse_count: 0,
            },
        )
        .await?;
        ids.push(case.id.into());
    }
    let _opened = changes.append(&txn).await?;
    txn.commit().await?;
    // What is due on them, as the server keeps it for cases it opened itself.
    server::cases::due_store::backfill(&server.state).await?;
    Ok(ids)
}

/// A scratch table with the same columns, key and index as `attempts`, so raw inserts pay the
/// same index upkeep as the real ones.
async fn create_scratch_table(server: &TestServer) -> anyhow::Result<()> {
    let db = &server.state.db.write;
    db.execute_unprepared("CREATE TABLE bench_raw AS SELECT * FROM attempts WHERE 1 = 0")
        .await?;
    db.execute_unprepared("CREATE UNIQUE INDEX bench_raw_id ON bench_raw (id)")
        .await?;
    db.execute_unprepared("CREATE INDEX bench_raw_case ON bench_raw (case_id, occurred_at)")
        .await?;
    Ok(())
}

/// Rows per second of plain INSERTs of attempt rows into the scratch table, `BATCH` rows per
/// transaction and `per_statement` rows per statement.
async fn raw_insert_rate(
    server: &TestServer,
    rows: usize,
    cases: &[CaseId],
    per_statement: usize,
) -> anyhow::Result<f64> {
    let db = &server.state.db.write;
    let columns = [
        "id",
        "case_id",
        "kind",
        "occurred_at",
        "lat",
        "lon",
        "accuracy_m",
        "met_whom",
        "guardian_statement",
        "outcome",
        "next_step",
        "notes",
        "author_id",
        "created_at",
        "version",
        "field_stamps",
        "initial_participants",
    ];
    let author = server.home.users[0].1.id;
    let started = Instant::now();
    for batch in (0..rows).collect::<Vec<_>>().chunks(BATCH) {
        let txn = db.begin().await?;
        for chunk in batch.chunks(per_statement) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("bench_raw"))
                .columns(columns.iter().map(|c| Alias::new(*c)));
            for n in chunk {
                let a = tests::sample_attempt(cases[n % cases.len()], format!("visit {n}"));
                insert.values_panic([
                    a.id.0.into(),
                    a.case_id.0.into(),
                    a.kind.as_str().into(),
                    a.occurred_at.into(),
                    None::<f64>.into(),
                    None::<f64>.into(),
                    None::<f64>.into(),
                    a.met_whom.into(),
                    a.guardian_statement.into(),
                    a.outcome.as_str().into(),
                    a.next_step.into(),
                    a.notes.into(),
                    author.into(),
                    Utc::now().into(),
                    1i64.into(),
                    "{}".into(),
                    1i32.into(),
                ]);
            }
            txn.execute(&insert).await?;
        }
        txn.commit().await?;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// Mutations per second of writing, with plain multi-row statements (`BATCH` mutations per
/// transaction, one statement per table), the rows a push writes for each new attempt: the
/// attempt, its participant, the idempotency record, the change-log entry (its numbers taken
/// from their counter) and the ledger event, and the chain head of each case it touches (an
/// upsert). They go into the real tables, with all their indexes, built by the server's own
/// row builder where it has one; the new rows are deleted and the heads restored after.
async fn raw_push_rows_rate(
    server: &TestServer,
    mutations: usize,
    cases: &[CaseId],
) -> anyhow::Result<f64> {
    use sea_orm::ActiveValue::Set;
    use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::{
        applied_mutation, attempt, attempt_participant, case, change_log, ledger_event, ledger_head,
    };
    let db = &server.state.db.write;
    let scope = case::Entity::find_by_id(cases[0].0)
        .one(db)
        .await?
        .context("a seeded case")?;
    let author = server.home.users[0].1.id;
    // Far above the numbers the server takes, so that nothing collides.
    let base = 1_000_000_000_000i64;
    let hash = "0".repeat(64);
    let mut attempt_ids = Vec::with_capacity(mutations);
    let mut mutation_ids = Vec::with_capacity(mutations);
    let heads_before = ledger_head::Entity::find().all(db).await?;
    let started = Instant::now();
    for batch in (0..mutations).collect::<Vec<_>>().chunks(BATCH) {
        let (mut attempts, mut people, mut records, mut log, mut events) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut heads = std::collections::HashMap::new();
        for n in batch {
            let case_id = cases[n % cases.len()];
            let new = tests::sample_attempt(case_id, format!("visit {n}"));
            let (row, participants) = server::db::attempts::rows(
                &server.state.sealer,
                &new,
                author,
                &Default::default(),
                Utc::now(),
            );
            attempts.push(row);
            people.extend(participants);
            attempt_ids.push(new.id.0);
            let mutation = MutationId::new().0;
            mutation_ids.push(mutation);
            records.push(applied_mutation::ActiveModel {
                mutation_id: Set(mutation),
                body_hash: Set(hash.clone()),
                user_id: Set(author),
                device_id: Set(author),
                result: Set(
                    r#"{"status":"applied","version":1,"conflicts":[],"clock_clamped":false}"#
                        .into(),
                ),
                created_at: Set(Utc::now()),
            });
            let seq = base + i64::try_from(*n)?;
            log.push(change_log::ActiveModel {
                seq: Set(seq),
                entity_kind: Set("attempt".into()),
                entity_id: Set(new.id.0),
                op: Set("upsert".into()),
                school_id: Set(scope.school_id),
                village_id: Set(scope.village_id),
                township_id: Set(scope.township_id),
                district_id: Set(scope.district_id),
                case_id: Set(Some(case_id.0)),
            });
            events.push(ledger_event::ActiveModel {
                case_id: Set(case_id.0),
                seq: Set(seq),
                entity_kind: Set("attempt".into()),
                entity_id: Set(new.id.0),
                content_sha256: Set(hash.clone()),
                prev_hash: Set(hash.clone()),
                hash: Set(hash.clone()),
                recorded_at: Set(Utc::now()),
            });
            heads.insert(
                case_id.0,
                ledger_head::ActiveModel {
                    case_id: Set(case_id.0),
                    seq: Set(seq),
                    hash: Set(hash.clone()),
                },
            );
        }
        let txn = db.begin().await?;
        let numbers = Query::update()
            .table(Alias::new("sync_counter"))
            .value(
                Alias::new("value"),
                Expr::col(Alias::new("value")).add(i64::try_from(batch.len())?),
            )
            .and_where(Expr::col(Alias::new("id")).eq(1))
            .returning(Query::returning().column(Alias::new("value")))
            .to_owned();
        txn.query_one(&numbers)
            .await?
            .context("the change counter")?;
        server::db::attempts::insert_rows(&txn, attempts, people).await?;
        applied_mutation::Entity::insert_many(records)
            .exec(&txn)
            .await?;
        change_log::Entity::insert_many(log).exec(&txn).await?;
        ledger_event::Entity::insert_many(events).exec(&txn).await?;
        ledger_head::Entity::insert_many(heads.into_values())
            .on_conflict(
                OnConflict::column(ledger_head::Column::CaseId)
                    .update_columns([ledger_head::Column::Seq, ledger_head::Column::Hash])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    let rate = mutations as f64 / started.elapsed().as_secs_f64();
    for ids in attempt_ids.chunks(BATCH) {
        attempt_participant::Entity::delete_many()
            .filter(attempt_participant::Column::AttemptId.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
        attempt::Entity::delete_many()
            .filter(attempt::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
    }
    for ids in mutation_ids.chunks(BATCH) {
        applied_mutation::Entity::delete_many()
            .filter(applied_mutation::Column::MutationId.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
    }
    change_log::Entity::delete_many()
        .filter(change_log::Column::Seq.gte(base))
        .exec(db)
        .await?;
    ledger_event::Entity::delete_many()
        .filter(ledger_event::Column::Seq.gte(base))
        .exec(db)
        .await?;
    ledger_head::Entity::delete_many().exec(db).await?;
    for chunk in heads_before.chunks(BATCH) {
        let rows = chunk
            .iter()
            .cloned()
            .map(sea_orm::IntoActiveModel::into_active_model);
        ledger_head::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(rate)
}

/// Mutations per second pushed as `CreateAttempt`, `BATCH` per request: the first time, and
/// when the same requests are sent again (each mutation answered from its idempotency record,
/// nothing written: what the protocol costs without the writes).
async fn push_rate(
    server: &TestServer,
    mutations: usize,
    cases: &[CaseId],
) -> anyhow::Result<(f64, f64)> {
    let token = server.token("teacher").await?;
    let device = DeviceId::new();
    let http = reqwest::Client::new();
    let batches: Vec<PushRequest> = (0..mutations)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|chunk| PushRequest {
            protocol_version: PROTOCOL_VERSION,
            mutations: chunk
                .iter()
                .map(|n| {
                    let attempt =
                        tests::sample_attempt(cases[n % cases.len()], format!("visit {n}"));
                    tests::mutation(device, 0, Change::CreateAttempt { attempt })
                })
                .collect(),
        })
        .collect();
    let mut rates = [0.0; 2];
    for rate in &mut rates {
        let started = Instant::now();
        for batch in &batches {
            let response: PushResponse = http
                .post(format!("{}/api/v1/sync/push", server.url))
                .bearer_auth(&token)
                .json(batch)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::ensure!(
                response.results.len() == batch.mutations.len(),
                "a result per mutation"
            );
        }
        *rate = mutations as f64 / started.elapsed().as_secs_f64();
    }
    Ok((rates[0], rates[1]))
}

/// Pulls at `url` as `token` from `cursor` until nothing more, `limit` records a page:
/// (seconds, records, the last cursor).
pub(crate) async fn pull_all(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    mut cursor: Option<String>,
    limit: u32,
) -> anyhow::Result<(f64, usize, String)> {
    let started = Instant::now();
    let mut records = 0;
    loop {
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            cursor,
            limit: Some(limit),
        };
        let page: PullResponse = http
            .post(format!("{url}/api/v1/sync/pull"))
            .bearer_auth(token)
            .json(&request)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        records += page.records.len();
        if !page.more {
            return Ok((started.elapsed().as_secs_f64(), records, page.cursor));
        }
        cursor = Some(page.cursor);
    }
}

/// Seconds for the teacher's first sync, and how many records it carried.
async fn first_sync(server: &TestServer) -> anyhow::Result<(f64, usize)> {
    let token = server.token("teacher").await?;
    let (seconds, records, _) =
        pull_all(&reqwest::Client::new(), &server.url, &token, None, 2000).await?;
    Ok((seconds, records))
}

/// One round's rates, its phases measured back to back so that drift (the database growing,
/// the machine's other load) hits them alike.
struct Round {
    raw: f64,
    raw_per_row: f64,
    raw_push_rows: f64,
    push: f64,
    replay: f64,
}

/// A ratio of two of a round's rates.
type Ratio = fn(&Round) -> f64;

/// The median and the range of `ratio` over the rounds, as `0.55 (0.51–0.58)`.
fn spread(rounds: &[Round], ratio: Ratio) -> String {
    let values: Vec<f64> = rounds.iter().map(ratio).collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:>10.2}  ({low:.2}–{high:.2})", crate::median(&values))
}

/// Runs the sync benchmark, `rounds` rounds of `attempts` mutations, and prints its figures:
/// each ratio is the median over the rounds of the ratio within a round, with its range.
pub async fn run(attempts: usize, rounds: usize) -> anyhow::Result<()> {
    let rounds = rounds.max(1);
    let cases = 2_000;
    let server = TestServer::builder().with_students(30).start().await?;
    let engine = format!("{:?}", server.state.db.backend());
    eprintln!("engine: {engine}; seeding {cases} cases…");
    let case_ids = seed_cases(&server, cases).await?;
    create_scratch_table(&server).await?;

    let mut measured = Vec::with_capacity(rounds);
    let mut first = None;
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}: raw INSERTs of {attempts} rows, twice…");
        let raw = raw_insert_rate(&server, attempts, &case_ids, BATCH).await?;
        let raw_per_row = raw_insert_rate(&server, attempts, &case_ids, 1).await?;
        server
            .state
            .db
            .write
            .execute_unprepared("DELETE FROM bench_raw")
            .await?;
        eprintln!("round {round}/{rounds}: raw writes of the rows {attempts} pushes write…");
        let raw_push_rows = raw_push_rows_rate(&server, attempts, &case_ids).await?;
        eprintln!("round {round}/{rounds}: push of {attempts} mutations, twice…");
        let (push, replay) = push_rate(&server, attempts, &case_ids).await?;
        eprintln!(
            "round {round}/{rounds}: raw {raw:.0}, 1-row {raw_per_row:.0}, push's rows \
             {raw_push_rows:.0}, push {push:.0}, replay {replay:.0}; push ÷ its rows {:.2}",
            push / raw_push_rows
        );
        measured.push(Round {
            raw,
            raw_per_row,
            raw_push_rows,
            push,
            replay,
        });
        if round == 1 {
            eprintln!("first sync…");
            first = Some(first_sync(&server).await?);
        }
    }
    let (pull_secs, pulled) = first.context("the first round ran")?;

    let last = &measured[measured.len() - 1];
    println!("engine                         {engine}");
    println!("rounds                         {}", measured.len());
    println!("(last round's rates; ratios: median over the rounds, range in brackets)");
    let rates = [
        (
            format!("raw INSERT, {BATCH} rows/statement"),
            last.raw,
            "rows/s",
        ),
        (
            "raw INSERT, 1 row/statement".into(),
            last.raw_per_row,
            "rows/s",
        ),
        (
            "raw writes of a push's rows".into(),
            last.raw_push_rows,
            "mutations/s",
        ),
        (
            format!("push (CreateAttempt, {BATCH}/req)"),
            last.push,
            "mutations/s",
        ),
        (
            "same pushes again (no writes)".into(),
            last.replay,
            "mutations/s",
        ),
    ];
    for (label, rate, unit) in rates {
        println!("{label:<31}{rate:>10.0} {unit}");
    }
    let ratios: [(&str, Ratio); 4] = [
        ("push ÷ raw multi-row INSERT", |r| r.push / r.raw),
        ("push ÷ raw 1-row INSERT", |r| r.push / r.raw_per_row),
        ("push ÷ raw writes of its rows", |r| {
            r.push / r.raw_push_rows
        }),
        ("replay ÷ raw multi-row INSERT", |r| r.replay / r.raw),
    ];
    for (label, ratio) in ratios {
        println!("{label:<31}{}", spread(&measured, ratio));
    }
    println!(
        "first sync (teacher)           {pull_secs:>10.2} s for {pulled} records ({:.0} records/s)",
        pulled as f64 / pull_secs
    );
    Ok(())
}
