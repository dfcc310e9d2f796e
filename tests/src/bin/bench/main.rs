//! `bench`: the server's throughput against the limits of the same machine, measured in the same
//! run, printed as ratios.
//!
//! ```sh
//! cargo run --release -p tests --bin bench                      # every part
//! cargo run --release -p tests --bin bench -- sync [--attempts N] [--rounds N]
//! cargo run --release -p tests --bin bench -- media [--s3] [--big-mib N] [--rounds N] [--at-once N]
//! cargo run --release -p tests --bin bench -- export [--cases N]
//! cargo run --release -p tests --bin bench -- console [--students N] [--requests N]
//! cargo run --release -p tests --bin bench -- field [--visits N] [--photos N] [--recordings N] [--long-side PX] [--kill-every S]
//! cargo run --release -p tests --bin bench -- peers [--attempts N] [--photos N] [--rounds N]   # after scripts/install-bench-peers.sh
//! cargo run --release -p tests --bin bench -- scale [--district] [--rounds N]
//! ```
//! `scale` runs only when named: two districts of 22,000 and 220,000 records (a few minutes), and
//! with `--district` one of 100,000 cases and 1,000,000 attempts (best on PostgreSQL).
//! `field` runs only when named: it plays a day over a 64 kbit/s link and takes about an hour.
//! `peers` runs only when named: push and photo uploads against pouchdb-server and @tus/server
//! (Node, installed by `scripts/install-bench-peers.sh`), started on loopback by the benchmark.
//! `sync` runs on SQLite, or on PostgreSQL when `TEST_DATABASE_URL` is set; `media` on the local
//! media folder, or with `--s3` on a real S3-compatible server on loopback.

use anyhow::Context as _;

mod console;
mod export;
mod field;
mod media;
mod peers;
mod process;
mod scale;
mod sync;

const USAGE: &str = "usage: bench [sync|media|export|console|field|peers|scale] [--attempts N] [--s3] [--big-mib N] [--rounds N] [--at-once N] [--cases N] [--students N] [--requests N] [--visits N] [--photos N] [--recordings N] [--long-side PX] [--kill-every S] [--district]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut parts = Vec::new();
    let mut attempts = 20_000usize;
    let mut media = media::Options::default();
    let mut cases = 100_000usize;
    let mut rounds = media.rounds;
    let mut field = field::Options::default();
    let mut photos = None;
    let mut district = false;
    let (mut students, mut requests) = (300usize, 50usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "sync" | "media" | "export" | "console" | "field" | "peers" | "scale" => {
                parts.push(arg)
            }
            media::SERVE_CHILD => return media::serve_child().await,
            export::SERVE_CHILD => return export::serve_child().await,
            scale::SERVE_CHILD => return scale::serve_child().await,
            "--district" => district = true,
            "--cases" => cases = args.next().context(USAGE)?.parse()?,
            "--attempts" => attempts = args.next().context(USAGE)?.parse()?,
            "--students" => students = args.next().context(USAGE)?.parse()?,
            "--requests" => requests = args.next().context(USAGE)?.parse()?,
            "--s3" => media.s3 = true,
            "--big-mib" => media.big_mib = args.next().context(USAGE)?.parse()?,
            "--rounds" => rounds = args.next().context(USAGE)?.parse()?,
            "--at-once" => media.at_once = args.next().context(USAGE)?.parse()?,
            "--visits" => field.visits = args.next().context(USAGE)?.parse()?,
            "--photos" => {
                field.photos = args.next().context(USAGE)?.parse()?;
                photos = Some(field.photos);
            }
            "--recordings" => field.recordings = args.next().context(USAGE)?.parse()?,
            "--long-side" => field.long_side = args.next().context(USAGE)?.parse()?,
            "--kill-every" => field.kill_every = args.next().context(USAGE)?.parse()?,
            other => anyhow::bail!("unknown argument `{other}`; {USAGE}"),
        }
    }
    media.rounds = rounds;
    if parts.is_empty() {
        parts = vec![
            "sync".into(),
            "media".into(),
            "export".into(),
            "console".into(),
        ];
    }
    for part in parts {
        match part.as_str() {
            "sync" => sync::run(attempts, rounds).await?,
            "export" => export::run(cases).await?,
            "console" => console::run(students, requests).await?,
            "field" => field::run(&field).await?,
            "scale" => scale::run(district, rounds).await?,
            "peers" => peers::run(rounds, attempts, photos.unwrap_or(peers::PHOTOS)).await?,
            _ => media::run(&media).await?,
        }
    }
    Ok(())
}

/// The median of `values` (the mean of the middle two when their number is even).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 0 => (sorted[middle - 1] + sorted[middle]) / 2.0,
        _ => sorted[middle],
    }
}
