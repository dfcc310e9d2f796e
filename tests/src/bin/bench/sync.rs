//! Sync throughput against the limits of the same database engine, measured in the same run.
//!
//! 1. Raw batched INSERT: attempt rows into a scratch table with the same columns, key and index
//!    as `attempts`, 500 rows per transaction: once with 500 rows per statement (the engine's
//!    limit for this write), once with one row per statement (the usual batched insert).
//! 2. Push: the same number of `CreateAttempt` mutations through `POST /api/v1/sync/push`, 500
//!    per request, each applied exactly once (idempotency record, change log, participants,
//!    ledger event); then the same requests again, answered from the idempotency records
//!    without a write (the protocol's own cost).
//! 3. First sync: a teacher pulls 2,000 cases and 20,000 attempts from an empty cursor.
//!
//! Runs on the embedded default (SQLite); with `TEST_DATABASE_URL` set, on PostgreSQL.

use std::time::Instant;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
use server::db::changes::ChangeSet;
use server::seed::{self, NewCase, NewStudent};
use sync_protocol::cases::{CaseStatus, FoundBy};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::students::{Gender, SpecialGroups};
use sync_protocol::sync::{
    Change, Mutation, PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse,
};
use sync_protocol::{CaseId, DeviceId, MutationId};
use tests::TestServer;

const BATCH: usize = 500;

/// Opens `cases` cases in the teacher's school, in one transaction.
async fn seed_cases(server: &TestServer, cases: usize) -> anyhow::Result<Vec<CaseId>> {
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
        let student = seed::student(&txn, &server.state.sealer, school, village, student).await?;
        let case = seed::case(
            &txn,
            &mut changes,
            &student,
            NewCase {
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
    changes.append(&txn).await?;
    txn.commit().await?;
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
                .map(|n| Mutation {
                    id: MutationId::new(),
                    base_version: 0,
                    hlc: HlcStamp {
                        millis: Utc::now().timestamp_millis(),
                        counter: u32::try_from(*n).unwrap_or(0),
                        device,
                    },
                    change: Change::CreateAttempt {
                        attempt: tests::sample_attempt(
                            cases[n % cases.len()],
                            format!("visit {n}"),
                        ),
                    },
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

/// Seconds for the teacher's first sync, and how many records it carried.
async fn first_sync(server: &TestServer) -> anyhow::Result<(f64, usize)> {
    let token = server.token("teacher").await?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut cursor = None;
    let mut records = 0;
    loop {
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            cursor,
            limit: Some(2000),
        };
        let page: PullResponse = http
            .post(format!("{}/api/v1/sync/pull", server.url))
            .bearer_auth(&token)
            .json(&request)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        records += page.records.len();
        cursor = Some(page.cursor);
        if !page.more {
            return Ok((started.elapsed().as_secs_f64(), records));
        }
    }
}

/// Runs the sync benchmark with `attempts` mutations and prints its figures.
pub async fn run(attempts: usize) -> anyhow::Result<()> {
    let cases = 2_000;
    let server = TestServer::builder().with_students(30).start().await?;
    let engine = format!("{:?}", server.state.db.backend());
    eprintln!("engine: {engine}; seeding {cases} cases…");
    let case_ids = seed_cases(&server, cases).await?;

    eprintln!("raw INSERTs of {attempts} rows, twice…");
    create_scratch_table(&server).await?;
    let raw = raw_insert_rate(&server, attempts, &case_ids, BATCH).await?;
    let raw_per_row = raw_insert_rate(&server, attempts, &case_ids, 1).await?;
    eprintln!("push of {attempts} mutations…");
    let (push, replay) = push_rate(&server, attempts, &case_ids).await?;
    eprintln!("first sync…");
    let (pull_secs, pulled) = first_sync(&server).await?;

    println!("engine                         {engine}");
    println!("raw INSERT, {BATCH} rows/statement  {raw:>10.0} rows/s");
    println!("raw INSERT, 1 row/statement    {raw_per_row:>10.0} rows/s");
    println!("push (CreateAttempt, {BATCH}/req)  {push:>10.0} mutations/s");
    println!("push ÷ raw multi-row INSERT    {:>10.2}", push / raw);
    println!(
        "push ÷ raw 1-row INSERT        {:>10.2}",
        push / raw_per_row
    );
    println!("same pushes again (no writes)  {replay:>10.0} mutations/s");
    println!("  ÷ raw multi-row INSERT       {:>10.2}", replay / raw);
    println!(
        "first sync (teacher)           {pull_secs:>10.2} s for {pulled} records ({:.0} records/s)",
        pulled as f64 / pull_secs
    );
    Ok(())
}
