//! Sync at district scale (issue 21): what a pull costs against the raw read of the same rows,
//! and how that changes with the district around the caller's scope and with a case's history.
//!
//! Each district is served by a child process over its own fresh database (`build.rs`): a
//! *district* of one school (the fixture teacher's: 2,000 cases of 10 attempts), the same
//! district *10× larger* through nine more schools of the same size (the teacher's scope
//! unchanged), and with `--district` one of 100,000 cases and 1,000,000 attempts in 100 schools,
//! pulled by the teacher, a township officer and the bureau's supervisor. Measured over HTTP,
//! pages of 2,000 for a first pull and 500 (the default) after:
//! - **first pull**: everything from an empty cursor, against the raw read of the same scope;
//! - **incremental pull of one change**: the teacher pushes one attempt, then the caller pulls
//!   from where they stood;
//! - **3-page catch-up**: the teacher pushes 1,500 attempts, then pulls them, 500 a page;
//! - **a change to a long history**: one attempt pushed to the case of 100 attempts and to the
//!   case of 5,000, in turn, each followed by the teacher's pull.
//!
//! After each push the server is left to finish its background work (the keeper recomputing
//! what is due on the cases the push touched) before the pull is timed: a phone pulls others'
//! changes seconds or hours after they were made.

mod build;

use sync_protocol::sync::{Change, PROTOCOL_VERSION, PushRequest, PushResponse};
use sync_protocol::{CaseId, DeviceId};
use uuid::Uuid;

use build::{LONG_CASES, Shape};
pub use build::{SERVE_CHILD, serve_child};

use crate::process::ServerProcess;

/// Repetitions of each incremental measure (the median is the figure).
const REPEATS: usize = 5;

/// A caller of a district's server: their token, the rows of their scope and the raw read's
/// seconds.
struct Caller {
    role: &'static str,
    token: String,
    rows: usize,
    raw_secs: f64,
}

/// A district's server, started as a child process.
struct District {
    server: ServerProcess,
    callers: Vec<Caller>,
    /// The teacher's cases of 100 and 5,000 attempts.
    long: [CaseId; 2],
    http: reqwest::Client,
}

impl District {
    async fn start(name: &str, shape: Shape) -> anyhow::Result<Self> {
        eprintln!(
            "scale: {name}: {} cases of {} attempts in {} schools…",
            shape.cases(),
            shape.attempts_per_case,
            shape.schools
        );
        let server = ServerProcess::start(SERVE_CHILD, &[("BENCH_SHAPE", shape.to_env())])?;
        let words = server.words.clone();
        anyhow::ensure!(words.len() == 11, "the scale server said {words:?}");
        let roles = ["teacher", "township officer", "supervisor"];
        let callers = roles
            .iter()
            .zip(words.chunks(3))
            .map(|(role, w)| -> anyhow::Result<Caller> {
                Ok(Caller {
                    role,
                    token: w[0].clone(),
                    rows: w[1].parse()?,
                    raw_secs: w[2].parse()?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let long = [
            words[9].parse::<Uuid>()?.into(),
            words[10].parse::<Uuid>()?.into(),
        ];
        Ok(Self {
            server,
            callers,
            long,
            http: reqwest::Client::new(),
        })
    }

    /// Pulls from `cursor` until nothing more, `limit` a page: (seconds, records, cursor).
    async fn pull(
        &self,
        token: &str,
        cursor: Option<String>,
        limit: u32,
    ) -> anyhow::Result<(f64, usize, String)> {
        crate::sync::pull_all(&self.http, &self.server.url, token, cursor, limit).await
    }

    /// Waits until the server has kept what is due on the cases just changed: past the keeper's
    /// wait for writes to pause, then until the server is idle.
    async fn settle(&self) -> anyhow::Result<()> {
        tokio::time::sleep(server::cases::due_store::KEEPER_PERIOD * 3).await;
        self.server.wait_idle().await
    }

    /// The teacher pushes a new attempt on each of `cases`, 500 a request.
    async fn push(&self, cases: &[CaseId]) -> anyhow::Result<()> {
        let device = DeviceId::new();
        for chunk in cases.chunks(500) {
            let request = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                mutations: chunk
                    .iter()
                    .map(|case| {
                        let attempt = tests::sample_attempt(*case, "scale");
                        tests::mutation(device, 0, Change::CreateAttempt { attempt })
                    })
                    .collect(),
            };
            let answer: PushResponse = self
                .http
                .post(format!("{}/api/v1/sync/push", self.server.url))
                .bearer_auth(&self.callers[0].token)
                .json(&request)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::ensure!(answer.results.len() == chunk.len(), "a result per mutation");
        }
        Ok(())
    }
}

/// What was measured of one caller.
struct Pulls {
    role: &'static str,
    rows: usize,
    raw_secs: f64,
    first_secs: f64,
    records: usize,
    one_change_secs: f64,
    peak_mib: f64,
}

/// The first pulls (`first_repeats` of them, the median) and incremental pulls of one change
/// of each caller of `district`, with where each caller's pulls ended.
async fn measure_callers(
    district: &District,
    first_repeats: usize,
) -> anyhow::Result<(Vec<Pulls>, Vec<String>)> {
    let mut out = Vec::new();
    let mut cursors = Vec::new();
    for caller in &district.callers {
        district.server.reset_peak_memory()?;
        let mut seconds = Vec::new();
        let (mut records, mut cursor) = (0, String::new());
        for _ in 0..first_repeats.max(1) {
            let (secs, pulled, end) = district.pull(&caller.token, None, 2000).await?;
            anyhow::ensure!(
                pulled >= caller.rows,
                "{} pulled {pulled} records of {} rows",
                caller.role,
                caller.rows
            );
            (records, cursor) = (pulled, end);
            seconds.push(secs);
        }
        let (peak_mib, _) = district.server.memory_mib()?;
        eprintln!(
            "scale: {}: first pull {:.2} s for {records} records",
            caller.role,
            crate::median(&seconds)
        );
        cursors.push(cursor);
        out.push(Pulls {
            role: caller.role,
            rows: caller.rows,
            raw_secs: caller.raw_secs,
            first_secs: crate::median(&seconds),
            records,
            one_change_secs: 0.0,
            peak_mib,
        });
    }
    let mut one_change: Vec<Vec<f64>> = vec![Vec::new(); out.len()];
    for _ in 0..REPEATS {
        district.push(&district.long[..1]).await?;
        district.settle().await?;
        for (k, caller) in district.callers.iter().enumerate() {
            let (secs, _, end) = district
                .pull(&caller.token, Some(cursors[k].clone()), 500)
                .await?;
            cursors[k] = end;
            one_change[k].push(secs);
        }
    }
    for (pulls, seconds) in out.iter_mut().zip(one_change) {
        pulls.one_change_secs = crate::median(&seconds);
    }
    Ok((out, cursors))
}

/// The teacher's median seconds, pulling on from `cursor`, for a pull after one change to the
/// case of 100 attempts and to the case of 5,000, then for a 3-page catch-up (1,500 new
/// attempts, pages of 500; pushed to the case of 100 once that is measured).
async fn measure_teacher(
    district: &District,
    mut cursor: String,
) -> anyhow::Result<([f64; 2], f64)> {
    let token = &district.callers[0].token;
    let mut long: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..REPEATS {
        for (k, case) in district.long.iter().enumerate() {
            district.push(&[*case]).await?;
            district.settle().await?;
            let (secs, _, end) = district.pull(token, Some(cursor), 500).await?;
            cursor = end;
            long[k].push(secs);
        }
    }
    let mut catch_up = Vec::new();
    let cases: Vec<CaseId> = std::iter::repeat_n(district.long[0], 1_500).collect();
    for _ in 0..3 {
        district.push(&cases).await?;
        district.settle().await?;
        let (secs, records, end) = district.pull(token, Some(cursor), 500).await?;
        anyhow::ensure!(records >= 1_500, "the catch-up carried {records} records");
        cursor = end;
        catch_up.push(secs);
    }
    Ok((
        long.map(|seconds| crate::median(&seconds)),
        crate::median(&catch_up),
    ))
}

/// One district's figures for the teacher.
struct Teacher {
    pulls: Pulls,
    catch_up_secs: f64,
    long_secs: [f64; 2],
}

async fn measure_district(name: &str, shape: Shape, repeats: usize) -> anyhow::Result<Teacher> {
    let district = District::start(name, shape).await?;
    let (mut callers, cursors) = measure_callers(&district, repeats).await?;
    let (long_secs, catch_up_secs) = measure_teacher(&district, cursors[0].clone()).await?;
    Ok(Teacher {
        pulls: callers.remove(0),
        catch_up_secs,
        long_secs,
    })
}

/// Runs the scale benchmark (`district`: also the district of 100,000 cases) and prints its
/// figures.
pub async fn run(district: bool, repeats: usize) -> anyhow::Result<()> {
    let base = Shape {
        schools: 1,
        cases_per_school: 2_000,
        attempts_per_case: 10,
    };
    let small = measure_district("district", base, repeats).await?;
    let large = measure_district(
        "district ×10",
        Shape {
            schools: 10,
            ..base
        },
        repeats,
    )
    .await?;
    println!(
        "teacher's scope: {} rows (cases + attempts)",
        small.pulls.rows
    );
    println!(
        "{:<44}{:>10}{:>14}{:>10}",
        "", "district", "district ×10", "÷"
    );
    let line = |label: &str, a: f64, b: f64| {
        println!("{label:<44}{a:>10.3}{b:>14.3}{:>10.2}", b / a);
    };
    line(
        "raw read + JSON (s)",
        small.pulls.raw_secs,
        large.pulls.raw_secs,
    );
    line(
        "first pull (s)",
        small.pulls.first_secs,
        large.pulls.first_secs,
    );
    line(
        "first pull ÷ raw read",
        small.pulls.first_secs / small.pulls.raw_secs,
        large.pulls.first_secs / large.pulls.raw_secs,
    );
    line(
        "pull of 1 change (ms)",
        small.pulls.one_change_secs * 1e3,
        large.pulls.one_change_secs * 1e3,
    );
    line(
        "3-page catch-up (ms)",
        small.catch_up_secs * 1e3,
        large.catch_up_secs * 1e3,
    );
    for (k, attempts) in LONG_CASES.iter().enumerate() {
        let label = format!("pull of 1 change to a case of {attempts} (ms)");
        line(&label, small.long_secs[k] * 1e3, large.long_secs[k] * 1e3);
    }
    line(
        "case of 5,000 ÷ case of 100",
        small.long_secs[1] / small.long_secs[0],
        large.long_secs[1] / large.long_secs[0],
    );
    if district {
        let shape = Shape {
            schools: 100,
            cases_per_school: 1_000,
            attempts_per_case: 10,
        };
        let big = District::start("district of 100,000 cases", shape).await?;
        let (callers, _) = measure_callers(&big, 1).await?;
        println!(
            "{:<18}{:>10}{:>10}{:>12}{:>10}{:>14}{:>12}",
            "100,000 cases", "rows", "raw (s)", "first (s)", "÷ raw", "1 change (ms)", "peak MiB"
        );
        for p in callers {
            println!(
                "{:<18}{:>10}{:>10.2}{:>12.2}{:>10.2}{:>14.1}{:>12.0}",
                p.role,
                p.rows,
                p.raw_secs,
                p.first_secs,
                p.first_secs / p.raw_secs,
                p.one_change_secs * 1e3,
                p.peak_mib
            );
            anyhow::ensure!(p.records >= p.rows, "a pull carried less than its scope");
        }
    }
    Ok(())
}
