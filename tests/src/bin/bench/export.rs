//! Export: the ledger of a district of many cases as .xlsx and CSV through the server, against
//! reading the same rows straight from the database in the same run, and the server's peak
//! memory while it streams them.
//!
//! The server runs as a child process (this binary with `serve-export-child`) over the test
//! fixtures plus `--cases` more cases, each with its own student and two attempts, written
//! straight to its database before it serves. The raw read (the limit) is what every ledger row
//! needs from the database, read page by page with plain queries: cases, their students, their
//! attempts. The export adds what makes it a ledger: each case's history and due items, the
//! names, the sheet, the compression, and the HTTP transfer.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, IntoActiveModel as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Set, TransactionTrait as _,
};
use server::db::entity::{attempt, attempt_participant, case, student};
use sync_protocol::cases::CaseStatus;
use tests::TestServer;
use uuid::Uuid;

use crate::process::ServerProcess;

/// The argument that makes this binary the export benchmark's server.
pub const SERVE_CHILD: &str = "serve-export-child";

/// The period exported: every case of the fixtures and the bench.
const PERIOD: &str = "from=2025-01-01&to=2027-12-31";
const MIB: f64 = 1024.0 * 1024.0;

/// Rows per multi-row insert.
const CHUNK: usize = 500;

/// Adds `n` cases to the home district, each with its own student and two attempts, copying the
/// fixtures' rows.
async fn add_cases(server: &TestServer, n: usize) -> anyhow::Result<()> {
    let db = &server.state.db.write;
    let template = server.home.cases.first().context("a fixture case")?.clone();
    let pupil = student::Entity::find_by_id(template.student_id)
        .one(db)
        .await?
        .context("the fixture case's student")?;
    let visit = attempt::Entity::find()
        .filter(attempt::Column::CaseId.is_in(server.home.cases.iter().map(|c| c.id)))
        .one(db)
        .await?
        .context("a fixture attempt")?;
    let signer = attempt_participant::Entity::find()
        .filter(attempt_participant::Column::AttemptId.eq(visit.id))
        .one(db)
        .await?
        .context("a fixture participant")?;
    let opened = NaiveDate::from_ymd_opt(2026, 9, 1).context("a date")?;
    let now = Utc::now();
    for (chunk, start) in (0..n).step_by(CHUNK).enumerate() {
        let txn = db.begin().await?;
        let (mut students, mut cases, mut attempts, mut signers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in start..(start + CHUNK).min(n) {
            let student_id = Uuid::now_v7();
            let mut s = pupil.clone().into_active_model().reset_all();
            s.id = Set(student_id);
            s.name = Set(format!("学生{i}"));
            s.id_number_lookup = Set(format!("bench-{i}"));
            s.registration_no = Set(format!("G{i:09}"));
            s.grade = Set(1 + (i % 9) as i32);
            s.class_name = Set(format!("{}班", 1 + i % 4));
            students.push(s);
            let case_id = Uuid::now_v7();
            let mut c = template.clone().into_active_model().reset_all();
            c.id = Set(case_id);
            c.student_id = Set(student_id);
            c.status = Set(CaseStatus::ALL[i % CaseStatus::ALL.len()]
                .as_str()
                .to_owned());
            c.opened_on = Set(opened + Duration::days((i % 60) as i64));
            c.closure_reason = Set(None);
            c.created_at = Set(now);
            c.updated_at = Set(now);
            cases.push(c);
            for k in 0..2 {
                let attempt_id = Uuid::now_v7();
                let mut a = visit.clone().into_active_model().reset_all();
                a.id = Set(attempt_id);
                a.case_id = Set(case_id);
                a.occurred_at = Set(now - Duration::days(k));
                attempts.push(a);
                let mut p = signer.clone().into_active_model().reset_all();
                p.id = Set(Uuid::now_v7());
                p.attempt_id = Set(attempt_id);
                signers.push(p);
            }
        }
        student::Entity::insert_many(students).exec(&txn).await?;
        case::Entity::insert_many(cases).exec(&txn).await?;
        for rows in attempts.chunks(CHUNK) {
            attempt::Entity::insert_many(rows.to_vec())
                .exec(&txn)
                .await?;
        }
        for rows in signers.chunks(CHUNK) {
            attempt_participant::Entity::insert_many(rows.to_vec())
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        if (chunk + 1) % 40 == 0 {
            eprintln!("export: {} of {n} cases written", start + CHUNK);
        }
    }
    Ok(())
}

/// Reads every case of the home district (what its supervisor exports) with its student and
/// attempts, page by page, as the export needs them: rows per second.
async fn raw_read(server: &TestServer) -> anyhow::Result<(usize, f64)> {
    let db = &server.state.db.read;
    let started = Instant::now();
    let (mut rows, mut after) = (0usize, None::<Uuid>);
    loop {
        let mut query = case::Entity::find()
            .filter(case::Column::DistrictId.eq(server.home.district.id))
            .order_by_asc(case::Column::Id)
            .limit(500);
        if let Some(after) = after {
            query = query.filter(case::Column::Id.gt(after));
        }
        let cases = query.all(db).await?;
        let Some(last) = cases.last() else {
            break;
        };
        after = Some(last.id);
        let students = student::Entity::find()
            .filter(student::Column::Id.is_in(cases.iter().map(|c| c.student_id)))
            .all(db)
            .await?;
        let attempts = attempt::Entity::find()
            .filter(attempt::Column::CaseId.is_in(cases.iter().map(|c| c.id)))
            .all(db)
            .await?;
        anyhow::ensure!(students.len() <= cases.len() && !attempts.is_empty());
        rows += cases.len();
    }
    Ok((rows, rows as f64 / started.elapsed().as_secs_f64()))
}

/// The export benchmark's server: the fixtures plus `BENCH_CASES` cases; prints
/// `ready <url> <supervisor token> <cases> <raw rows/s>` and serves until killed.
pub async fn serve_child() -> anyhow::Result<()> {
    server::memory::return_large_blocks();
    let n: usize = std::env::var("BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let server = TestServer::builder()
        .with_env("ACCESS_TOKEN_TTL_SECS", "86400")
        .start()
        .await?;
    add_cases(&server, n).await?;
    let (rows, raw) = raw_read(&server).await?;
    let token = server.token("supervisor").await?;
    println!("ready {} {token} {rows} {raw:.0}", server.url);
    std::future::pending::<()>().await;
    Ok(())
}

/// Downloads `path` into `file`: (bytes, seconds).
async fn download(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    file: &std::path::Path,
) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut response = http.get(url).bearer_auth(token).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok((bytes, started.elapsed().as_secs_f64()))
}

/// Runs the export benchmark and prints its figures.
pub async fn run(cases: usize) -> anyhow::Result<()> {
    eprintln!("export: starting a server with {cases} more cases…");
    let server = ServerProcess::start(SERVE_CHILD, &[("BENCH_CASES", cases.to_string())])?;
    let [token, rows, raw] = server.words.as_slice() else {
        anyhow::bail!("the export server said {:?}", server.words);
    };
    let rows: usize = rows.parse()?;
    let raw: f64 = raw.parse()?;
    server.wait_idle().await?;
    let work = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    println!(
        "export of {rows} cases: raw read {raw:.0} rows/s (cases, students, attempts; the limit)"
    );
    println!("format  MiB     seconds  rows/s   ÷ raw read  server RSS: before  peak");
    for format in ["xlsx", "csv"] {
        server.reset_peak_memory()?;
        let (_, before) = server.memory_mib()?;
        let file = work.path().join(format!("ledger.{format}"));
        let url = format!("{}/api/v1/reports/ledger.{format}?{PERIOD}", server.url);
        let (bytes, seconds) = download(&http, &url, token, &file).await?;
        let (peak, _) = server.memory_mib()?;
        if format == "csv" {
            let lines = std::fs::read_to_string(&file)?.lines().count();
            anyhow::ensure!(
                lines == rows + 1,
                "the CSV has {lines} lines for {rows} cases"
            );
        }
        let per_s = rows as f64 / seconds;
        println!(
            "{format:<6} {:>6.1} {seconds:>9.1} {per_s:>8.0} {:>11.2} {before:>18.0} {peak:>5.0}",
            bytes as f64 / MIB,
            per_s / raw
        );
    }
    Ok(())
}
