//! Peers: our push and our photo uploads against two well-known open servers that do the same
//! job, each started by the benchmark on loopback, measured in the same run with the same client.
//!
//! 1. Push against pouchdb-server: the same `CreateAttempt` records the sync benchmark pushes
//!    (`tests::sample_attempt` on 2,000 seeded cases), 500 per request, to our
//!    `POST /api/v1/sync/push` (the in-process test server, SQLite) and, as JSON documents (`_id`
//!    the mutation's id, the attempt's fields beside it), to pouchdb-server's
//!    `POST /{db}/_bulk_docs` (LevelDB, `new_edits` left at its default). The bodies are
//!    serialized before the clock starts; each answer is read and checked (every mutation
//!    applied, every document `ok`) inside it.
//! 2. Photos against @tus/server with its FileStore: the same 2000×1500 JPEGs as the media
//!    benchmark, each sent whole with one creation-with-upload request, to our
//!    `POST /api/v1/uploads` (this binary as a child server process on its local media folder,
//!    as in the media benchmark) and to @tus/server's `POST /files` (just a `filename` in the
//!    metadata). Before each timed batch the page cache is written back (`sync`) and our server
//!    is idle (its thumbnails, made after it answers, are not in anyone's time).
//!
//! Requests go one at a time, alternating between the two servers within a round (500 records,
//! or 20 photos, to each in turn, the first of each pair taking turns). Each figure is ours ÷
//! peer within a round, its median over the rounds printed with the range, and beside it the
//! durability each side gives an answered write, as read from the installed code and settings.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use bytes::Bytes;
use sea_orm::ConnectionTrait as _;
use sync_protocol::sync::{Change, MutationOutcome, PROTOCOL_VERSION, PushRequest, PushResponse};
use sync_protocol::{CaseId, DeviceId};
use tests::TestServer;

use crate::{media, media::Uploader, process::ServerProcess};

/// Photos uploaded to each side in a round unless told otherwise.
pub const PHOTOS: usize = 100;
/// Records per push request, and documents per `_bulk_docs` request.
const BATCH: usize = 500;
/// Photos sent to one side before the other's turn.
const PHOTO_BATCH: usize = 20;
/// Cases the records are spread over (as in the sync benchmark).
const CASES: usize = 2_000;
const MIB: f64 = 1024.0 * 1024.0;
/// The script that installs the peers.
const INSTALL_SCRIPT: &str = "scripts/install-bench-peers.sh";
/// How long a peer may take to answer after it is started.
const STARTUP: Duration = Duration::from_secs(60);

/// A peer server (a Node process on loopback); killed when dropped, then its files removed.
struct Peer {
    child: Child,
    /// Where it serves.
    url: String,
    /// Its data and its output (declared after `child`: removed once the process is gone).
    files: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// Starts `command` (its output into a log in `files`), which serves on `port`, and waits
    /// until `probe` there answers with a success.
    async fn start(
        name: &str,
        (mut command, files, port): (Command, tempfile::TempDir, u16),
        probe: (reqwest::Method, &str),
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let url = format!("http://127.0.0.1:{port}");
        let out = std::fs::File::create(files.path().join("output.log")).context("a log")?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} (is Node installed?)"))?;
        let mut peer = Self { child, url, files };
        let started = Instant::now();
        loop {
            if let Some(status) = peer.child.try_wait()? {
                anyhow::bail!("{name} exited ({status}): {}", peer.output());
            }
            let probed = http
                .request(probe.0.clone(), format!("{}{}", peer.url, probe.1))
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await;
            if probed.is_ok_and(|r| r.status().is_success()) {
                return Ok(peer);
            }
            if started.elapsed() > STARTUP {
                anyhow::bail!(
                    "{name} did not answer within {STARTUP:?}: {}",
                    peer.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the peer printed.
    fn output(&self) -> String {
        std::fs::read_to_string(self.files.path().join("output.log")).unwrap_or_default()
    }
}

/// The checkout (the workspace's root).
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The version of the package `name` installed in `dir`.
fn installed_version(dir: &Path, name: &str) -> Option<String> {
    let manifest = dir.join("node_modules").join(name).join("package.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest).ok()?).ok()?;
    json["version"].as_str().map(str::to_owned)
}

/// Installs the peers with `INSTALL_SCRIPT` when one is missing; returns where they are:
/// `BENCH_PEERS_DIR`, or `~/.cache/kbx-bench-peers`.
fn install() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("BENCH_PEERS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(&std::env::var_os("HOME").context("HOME is not set")?)
            .join(".cache/kbx-bench-peers"),
    };
    let wanted = ["pouchdb-server", "@tus/server", "@tus/file-store"];
    if wanted
        .iter()
        .all(|name| installed_version(&dir, name).is_some())
    {
        return Ok(dir);
    }
    eprintln!(
        "peers: not installed in {}; running {INSTALL_SCRIPT}…",
        dir.display()
    );
    let status = Command::new(checkout().join(INSTALL_SCRIPT))
        .env("BENCH_PEERS_DIR", &dir)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running {INSTALL_SCRIPT}"))?;
    anyhow::ensure!(
        status.success(),
        "{INSTALL_SCRIPT} failed ({status}): run it to see why"
    );
    Ok(dir)
}

/// A port on 127.0.0.1 that nothing listens on now.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Starts pouchdb-server (LevelDB in a fresh folder) and creates the database `bench`.
async fn start_pouchdb(dir: &Path, http: &reqwest::Client) -> anyhow::Result<Peer> {
    let files = tempfile::tempdir().context("a folder for pouchdb-server")?;
    let port = free_port()?;
    let mut command = Command::new("node");
    command
        .arg(dir.join("node_modules/pouchdb-server/bin/pouchdb-server"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--dir",
            ".",
        ])
        .args(["--config", "config.json", "--no-stdout-logs", "--no-color"])
        .current_dir(files.path());
    let probe = (reqwest::Method::GET, "/");
    let peer = Peer::start("pouchdb-server", (command, files, port), probe, http).await?;
    http.put(format!("{}/bench", peer.url))
        .send()
        .await?
        .error_for_status()
        .context("creating pouchdb-server's database")?;
    Ok(peer)
}

/// Starts `scripts/bench-peers/tus-server.mjs` (@tus/server, FileStore in a fresh folder).
async fn start_tus(dir: &Path, http: &reqwest::Client) -> anyhow::Result<Peer> {
    let files = tempfile::tempdir().context("a folder for @tus/server")?;
    let store = files.path().join("files");
    std::fs::create_dir(&store)?;
    let port = free_port()?;
    let mut command = Command::new("node");
    command
        .arg(checkout().join("scripts/bench-peers/tus-server.mjs"))
        .arg(&store)
        .arg(port.to_string())
        .env("BENCH_PEERS_DIR", dir)
        .current_dir(files.path());
    let probe = (reqwest::Method::OPTIONS, "/files");
    Peer::start("@tus/server", (command, files, port), probe, http).await
}

/// One round's requests, serialized: our push bodies and pouchdb's `_bulk_docs` bodies, the
/// same records in the same order, with how many each carries.
fn push_bodies(
    cases: &[CaseId],
    records: usize,
    round: usize,
) -> anyhow::Result<Vec<(Bytes, Bytes, usize)>> {
    let device = DeviceId::new();
    let mut bodies = Vec::with_capacity(records.div_ceil(BATCH));
    for chunk in (0..records).collect::<Vec<_>>().chunks(BATCH) {
        let (mut mutations, mut docs) = (Vec::new(), Vec::new());
        for n in chunk {
            let attempt =
                tests::sample_attempt(cases[n % cases.len()], format!("round {round} visit {n}"));
            let mut doc = serde_json::to_value(&attempt)?;
            let mutation = tests::mutation(device, 0, Change::CreateAttempt { attempt });
            let fields = doc.as_object_mut().context("an attempt is a JSON object")?;
            fields.insert("_id".into(), mutation.id.to_string().into());
            docs.push(doc);
            mutations.push(mutation);
        }
        let ours = serde_json::to_vec(&PushRequest {
            protocol_version: PROTOCOL_VERSION,
            mutations,
        })?;
        let theirs = serde_json::to_vec(&serde_json::json!({ "docs": docs }))?;
        bodies.push((ours.into(), theirs.into(), chunk.len()));
    }
    Ok(bodies)
}

/// Seconds until the answer to `request` is read whole, and the answer.
async fn timed<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> anyhow::Result<(f64, T)> {
    let started = Instant::now();
    let answer = request.send().await?.error_for_status()?.json().await?;
    Ok((started.elapsed().as_secs_f64(), answer))
}

/// Checks that both sides took all `count` records: every mutation applied, every document `ok`.
fn check_push(
    ours: &PushResponse,
    theirs: &[serde_json::Value],
    count: usize,
) -> anyhow::Result<()> {
    let applied = ours
        .results
        .iter()
        .filter(|r| matches!(r.outcome, MutationOutcome::Applied { .. }))
        .count();
    anyhow::ensure!(
        applied == count,
        "{applied} of {count} pushed mutations applied"
    );
    let stored = theirs
        .iter()
        .filter(|r| r["ok"] == serde_json::json!(true))
        .count();
    anyhow::ensure!(
        stored == count,
        "{stored} of {count} documents stored by pouchdb-server: {:?}",
        theirs.iter().find(|r| r["ok"] != serde_json::json!(true))
    );
    Ok(())
}

/// Records per second pushed to our server and to pouchdb-server, in alternating requests
/// (the bodies ready beforehand, each answer read whole within the time).
async fn push_round(
    http: &reqwest::Client,
    server: &TestServer,
    token: &str,
    pouchdb: &Peer,
    bodies: Vec<(Bytes, Bytes, usize)>,
) -> anyhow::Result<(f64, f64)> {
    let json = "application/json";
    let (mut ours, mut theirs, mut records) = (0.0, 0.0, 0);
    for (n, (our_body, their_body, count)) in bodies.into_iter().enumerate() {
        records += count;
        let to_us = http
            .post(format!("{}/api/v1/sync/push", server.url))
            .bearer_auth(token)
            .header("Content-Type", json)
            .body(our_body);
        let to_them = http
            .post(format!("{}/bench/_bulk_docs", pouchdb.url))
            .header("Content-Type", json)
            .body(their_body);
        let ((our_seconds, our_answer), (their_seconds, their_answer)) = if n % 2 == 0 {
            let us = timed::<PushResponse>(to_us).await?;
            (us, timed::<Vec<serde_json::Value>>(to_them).await?)
        } else {
            let them = timed::<Vec<serde_json::Value>>(to_them).await?;
            (timed::<PushResponse>(to_us).await?, them)
        };
        check_push(&our_answer, &their_answer, count)?;
        (ours, theirs) = (ours + our_seconds, theirs + their_seconds);
    }
    Ok((records as f64 / ours, records as f64 / theirs))
}

/// `count` distinct photos for `round` (the media benchmark's, as many sets as needed).
fn round_photos(base: &[u8], round: usize, count: usize) -> Vec<Bytes> {
    (0..)
        .flat_map(|set| media::photos(base, round * 1_000 + set))
        .take(count)
        .collect()
}

/// Writes back what earlier phases left in the page cache, so each timed batch starts alike.
fn settle() -> anyhow::Result<()> {
    let status = Command::new("sync").status().context("running sync")?;
    anyhow::ensure!(status.success(), "sync failed: {status}");
    Ok(())
}

/// Seconds of uploading `photos` to our server, one at a time, each whole with its creation.
async fn photos_ours(
    uploader: &Uploader<'_>,
    photos: &[Bytes],
    hashes: &[String],
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for (photo, sha) in photos.iter().zip(hashes) {
        let len = photo.len() as u64;
        let (_, offset) = uploader
            .create("photo", sha, len, Some(photo.clone()))
            .await?;
        anyhow::ensure!(offset == len, "a photo sent whole is finished");
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Seconds of uploading `photos` to @tus/server, one at a time, each whole with its creation.
async fn photos_tus(http: &reqwest::Client, tus: &Peer, photos: &[Bytes]) -> anyhow::Result<f64> {
    let metadata = format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode("bench.jpg")
    );
    let started = Instant::now();
    for photo in photos {
        let response = http
            .post(format!("{}/files", tus.url))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", photo.len())
            .header("Upload-Metadata", &metadata)
            .header("Content-Type", "application/offset+octet-stream")
            .body(photo.clone())
            .send()
            .await?;
        let offset = response
            .headers()
            .get("upload-offset")
            .map(|v| v.as_bytes());
        let whole = offset == Some(photo.len().to_string().as_bytes());
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::CREATED && whole,
            "@tus/server did not take a photo whole: {}",
            response.status()
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

/// MiB per second of uploading `photos` to our server and to @tus/server, in alternating
/// batches, each batch starting with the page cache written back and our server idle.
async fn photo_round(
    uploader: &Uploader<'_>,
    tus: &Peer,
    photos: &[Bytes],
) -> anyhow::Result<(f64, f64)> {
    // Hashed before sending, as a phone does when it queues a photo.
    let hashes: Vec<String> = photos
        .iter()
        .map(|p| server::digest::sha256_hex(p))
        .collect();
    let (mut ours, mut theirs) = (0.0, 0.0);
    for (n, (batch, sums)) in photos
        .chunks(PHOTO_BATCH)
        .zip(hashes.chunks(PHOTO_BATCH))
        .enumerate()
    {
        for ours_now in [n % 2 == 0, n % 2 == 1] {
            uploader.server.wait_idle().await?;
            settle()?;
            if ours_now {
                ours += photos_ours(uploader, batch, sums).await?;
            } else {
                theirs += photos_tus(&uploader.http, tus, batch).await?;
            }
        }
    }
    uploader.server.wait_idle().await?;
    let mib = photos.iter().map(Bytes::len).sum::<usize>() as f64 / MIB;
    Ok((mib / ours, mib / theirs))
}

/// A setting of the database (the answer to `PRAGMA …` or `SHOW …`), as text.
async fn setting(db: &sea_orm::DatabaseConnection, sql: &str) -> anyhow::Result<String> {
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one_raw(statement).await?;
    let row = row.with_context(|| format!("an answer to {sql}"))?;
    Ok(match row.try_get_by_index::<i64>(0) {
        Ok(number) => number.to_string(),
        Err(_) => row.try_get_by_index::<String>(0)?,
    })
}

/// What an answered push is worth after a power cut on our side, from the database's settings.
async fn our_durability(server: &TestServer) -> anyhow::Result<String> {
    let db = &server.state.db.write;
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        let commit = setting(db, "SHOW synchronous_commit").await?;
        let fsync = setting(db, "SHOW fsync").await?;
        return Ok(format!(
            "each push one PostgreSQL transaction (synchronous_commit={commit}, fsync={fsync})"
        ));
    }
    let journal = setting(db, "PRAGMA journal_mode").await?;
    let synchronous = match setting(db, "PRAGMA synchronous").await?.as_str() {
        "2" => "FULL, the log fsynced at each commit".to_owned(),
        other => format!("{other}, not FULL"),
    };
    Ok(format!(
        "each push one SQLite transaction (journal_mode={journal}, synchronous={synchronous}) \
         committed before the answer"
    ))
}

/// How many `.js`/`.cc` files under `root` contain `needle`.
fn files_containing(root: &Path, needle: &str) -> anyhow::Result<usize> {
    let mut found = 0;
    for entry in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            found += files_containing(&path, needle)?;
        } else if path.extension().is_some_and(|e| e == "js" || e == "cc") {
            found += usize::from(std::fs::read_to_string(&path)?.contains(needle));
        }
    }
    Ok(found)
}

/// What an answered write is worth after a power cut on the peers' side, as read from the
/// code installed in `dir`, with the peers' versions.
fn peer_durability(dir: &Path) -> anyhow::Result<[String; 2]> {
    let modules = dir.join("node_modules");
    let v = |name: &str| installed_version(dir, name).unwrap_or_else(|| "?".into());
    // leveldown takes `sync` from each write's options, false when absent.
    let sync_off = files_containing(&modules.join("leveldown"), r#""sync", false"#)?;
    let sync_asked = files_containing(&modules.join("pouchdb-adapter-leveldb-core"), "sync:")?
        + files_containing(&modules.join("sublevel-pouchdb"), "sync:")?;
    let fsyncs = files_containing(&modules.join("@tus"), "fsync")?;
    let page_cache = "answered writes are in the OS page cache, not yet on disk";
    Ok([
        match (sync_off, sync_asked) {
            (1.., 0) => format!(
                "pouchdb-server {} (leveldown {}): LevelDB batches written without `sync` \
                 (leveldown's default is false; PouchDB's LevelDB adapter passes none): {page_cache}",
                v("pouchdb-server"),
                v("leveldown")
            ),
            _ => format!(
                "pouchdb-server: {sync_asked} file(s) of its adapter ask for `sync`: read them"
            ),
        },
        match fsyncs {
            0 => format!(
                "@tus/server {} + @tus/file-store {}: FileStore writes with fs.createWriteStream, \
                 no fsync anywhere in @tus/*: {page_cache}",
                v("@tus/server"),
                v("@tus/file-store")
            ),
            n => format!("@tus/*: `fsync` appears in {n} file(s): read them"),
        },
    ])
}

/// One round's rates, ours and the peer's: records/s pushed, and MiB/s of photos.
struct Round {
    push: (f64, f64),
    photos: (f64, f64),
}

/// The median and the range of `values`, as `  2.10  (1.90–2.30)`.
fn spread(values: &[f64]) -> String {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:>10.2}  ({low:.2}–{high:.2})", crate::median(values))
}

/// Prints the figures: the last round's rates, the ratios over the rounds, and the durability
/// each side gives an answered write.
fn print_figures(measured: &[Round], what: &str, ours: &str, peers: &[String; 2]) {
    let Some(last) = measured.last() else { return };
    println!("peers                              ours ÷ peer, on loopback, same client");
    println!("rounds                             {}", measured.len());
    println!("what                               {what}");
    println!("(last round's rates; ratios: median over the rounds, range in brackets)");
    let rates = [
        ("push, ours (CreateAttempt)", last.push.0, 0, "records/s"),
        ("pouchdb-server _bulk_docs", last.push.1, 0, "records/s"),
        ("photos, ours (local folder)", last.photos.0, 1, "MiB/s"),
        ("@tus/server + FileStore", last.photos.1, 1, "MiB/s"),
    ];
    for (label, rate, digits, unit) in rates {
        println!("{label:<35}{rate:>10.digits$} {unit}");
    }
    let ratio = |pair: fn(&Round) -> (f64, f64)| -> Vec<f64> {
        measured.iter().map(pair).map(|(a, b)| a / b).collect()
    };
    let ratios = [
        ("push ÷ pouchdb-server _bulk_docs", ratio(|r| r.push), "3"),
        ("photos ÷ @tus/server", ratio(|r| r.photos), "1.5"),
    ];
    for (label, values, goal) in ratios {
        println!("{label:<35}{}   (issue's goal ≥ {goal})", spread(&values));
    }
    println!("durability of an answered write (what each side has done before it answers):");
    println!("  ours, push: {ours}");
    println!(
        "  ours, photos: each upload's bytes fdatasync'd, the whole file renamed into the media \
         folder and that folder fsynced, its record committed in SQLite, before the 201"
    );
    for peer in peers {
        println!("  {peer}");
    }
}

/// Runs the peers benchmark, `rounds` rounds of `records` records pushed and `photos` photos
/// uploaded to each side, and prints its figures: each ratio (ours ÷ peer) is the median over
/// the rounds of the ratio within a round, with its range.
pub async fn run(rounds: usize, records: usize, photos: usize) -> anyhow::Result<()> {
    let rounds = rounds.max(1);
    let dir = install()?;
    let http = reqwest::Client::new();
    eprintln!("peers: starting the peers installed in {}…", dir.display());
    let pouchdb = start_pouchdb(&dir, &http).await?;
    let tus = start_tus(&dir, &http).await?;
    let server = TestServer::builder().with_students(30).start().await?;
    eprintln!("peers: seeding {CASES} cases…");
    let cases = crate::sync::seed_cases(&server, CASES).await?;
    let token = server.token("teacher").await?;
    let media_server = ServerProcess::start(media::SERVE_CHILD, &[])?;
    let [attempt, media_token] = media_server.words.as_slice() else {
        anyhow::bail!("the media server said {:?}", media_server.words);
    };
    let uploader = Uploader {
        server: &media_server,
        http: http.clone(),
        attempt: attempt.clone(),
        token: media_token.clone(),
    };
    let base = media::photo()?;
    let mut measured = Vec::with_capacity(rounds);
    for n in 1..=rounds {
        eprintln!("peers: round {n}/{rounds}: {records} records, then {photos} photos, to each…");
        let bodies = push_bodies(&cases, records, n)?;
        let push = push_round(&http, &server, &token, &pouchdb, bodies).await?;
        let files = round_photos(&base, n, photos);
        let (ours, theirs) = photo_round(&uploader, &tus, &files).await?;
        eprintln!(
            "peers: round {n}: push {:.0} vs {:.0} records/s, photos {ours:.1} vs {theirs:.1} MiB/s",
            push.0, push.1
        );
        measured.push(Round {
            push,
            photos: (ours, theirs),
        });
    }
    let what = format!(
        "{records} records ({BATCH} per request) and {photos} photos of {:.1} MiB (one at a \
         time), per side and round",
        base.len() as f64 / MIB
    );
    let ours = our_durability(&server).await?;
    let peers = peer_durability(&dir)?;
    print_figures(&measured, &what, &ours, &peers);
    Ok(())
}
