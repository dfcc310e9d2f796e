//! Console: how long each page of the web console takes to answer on the demo district's scale,
//! against the 100 ms goal of issue 19 and against the console's cheapest page (the sign-in form:
//! the HTTP round trip, the router and the page frame, no query) measured in the same run.
//!
//! The server runs in-process on a loopback port over a fresh database holding the fixtures'
//! districts at the demo's size (`--students N` each, default 300: about 120 cases, their
//! attempts, documents, reviews, recordings and photos). The supervisor (the largest scope) signs
//! in through the form and asks each page `--requests N` times, one after another; the figure
//! is the median and the 95th percentile of the time to the last byte.

use std::time::Instant;

use anyhow::Context as _;
use reqwest::header::{COOKIE, SET_COOKIE};
use tests::TestServer;

/// The goal of issue 19: every page answers in under 100 ms.
const GOAL_MS: f64 = 100.0;

/// A signed-in browser without JavaScript: the console's cookie.
struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// The value of cookie `name` among `answer`'s `Set-Cookie` lines.
fn cookie(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .map(str::to_owned)
}

impl Session {
    /// Signs in as `username` through the sign-in form.
    async fn start(server: &TestServer, username: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = server.url.clone();
        let form = http.get(format!("{base}/console/login")).send().await?;
        let login = cookie(&form, "kbx_login").context("the sign-in form's cookie")?;
        let html = form.text().await?;
        let token = html
            .split_once("name=\"csrf\" value=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(token, _)| token.to_owned())
            .context("the sign-in form's token")?;
        let body = format!(
            "username={username}&password={}&csrf={token}",
            tests::PASSWORD
        );
        let signed_in = http
            .post(format!("{base}/console/login"))
            .header(COOKIE, format!("kbx_login={login}"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await?;
        let session = cookie(&signed_in, "kbx_console").context("signed in")?;
        Ok(Self {
            http,
            base,
            cookie: format!("kbx_console={session}"),
        })
    }

    /// The milliseconds `path` takes to answer in full, checked to be a 200.
    async fn time(&self, path: &str) -> anyhow::Result<f64> {
        let started = Instant::now();
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await?;
        let status = answer.status();
        let body = answer.bytes().await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status.is_success(),
            "{path} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(elapsed)
    }
}

/// The `q`-quantile of `values` (nearest rank).
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// Measures every page `requests` times over districts of `students` students each.
pub async fn run(students: usize, requests: usize) -> anyhow::Result<()> {
    println!(
        "== console: pages of the demo district ({students} students), {requests} requests each"
    );
    let server = TestServer::builder()
        .with_students(students)
        .start()
        .await?;
    let case = server
        .home
        .cases
        .iter()
        .max_by_key(|c| c.updated_at)
        .context("a case")?
        .id;
    let month = chrono::Utc::now().format("%Y-%m");
    let pages = [
        ("sign-in form (floor)", "/console/login".to_owned()),
        ("Today", "/console".to_owned()),
        ("cases", "/console/cases".to_owned()),
        ("cases, overdue only", "/console/cases?overdue=1".to_owned()),
        ("a case", format!("/console/cases/{case}")),
        ("review queue", "/console/reviews".to_owned()),
        ("reports", "/console/reports".to_owned()),
        (
            "ledger workbook",
            format!("/console/reports/ledger.xlsx?month={month}"),
        ),
    ];
    let session = Session::start(&server, "supervisor").await?;
    let mut floor = f64::NAN;
    println!(
        "{:<24} {:>9} {:>9} {:>12} {:>12}",
        "page", "median ms", "p95 ms", "p95 ÷ 100 ms", "median ÷ floor"
    );
    for (name, path) in &pages {
        session.time(path).await?;
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            times.push(session.time(path).await?);
        }
        let (median, p95) = (crate::median(&times), quantile(&times, 0.95));
        if floor.is_nan() {
            floor = median;
        }
        println!(
            "{name:<24} {median:>9.1} {p95:>9.1} {:>12.2} {:>12.1}",
            p95 / GOAL_MS,
            median / floor
        );
    }
    Ok(())
}
