//! Media: tus uploads into the server against raw writes of the same bytes to the same storage,
//! and the server's peak memory while it takes a large file.
//!
//! The server runs as a child process (this binary with `serve-child`), so the memory measured
//! (`VmHWM` of `/proc/<pid>/status`) is the server's alone. Uploads go over loopback HTTP: the
//! 100 photos one creation-with-upload request each (one at a time, or `--at-once N` as from N
//! phones), the large file in 32 MiB PATCH requests, as a tus client would send them. The raw
//! writes go through `object_store` straight to the same place, as many at once: a folder on the
//! same file system with fsync (as the server's local store does), or the same S3 server,
//! multipart with the same part size as the server uses. Each round measures raw and tus back to
//! back (the machine's disk speed drifts), the photos in alternating batches of 20, with the page
//! cache written back before each timed phase and the server idle (its thumbnails made) before
//! each raw phase; the ratios' median over the rounds is the figure.

use std::io::{Read as _, Write as _};
use std::path::Path as FsPath;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer as _;
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart};
use sha2::{Digest as _, Sha256};
use tests::TestServer;
use tests::s3::{self, S3Server};

use crate::process::ServerProcess;

/// The argument that makes this binary the benchmark's server.
pub const SERVE_CHILD: &str = "serve-child";

const MIB: f64 = 1024.0 * 1024.0;
/// Photos uploaded in a round.
const PHOTOS: usize = 100;
/// Photos written raw, then uploaded, in turn.
const PHOTO_BATCH: usize = 20;
/// Bytes per PATCH of the large file (a tus client's chunk size).
const CHUNK: usize = 32 * 1024 * 1024;

/// What the media benchmark runs on.
#[derive(Debug, Clone)]
pub struct Options {
    /// A real S3 server on loopback instead of the local media folder.
    pub s3: bool,
    /// Size of the large file in MiB.
    pub big_mib: u64,
    /// How many times each measure is taken.
    pub rounds: usize,
    /// How many photos are on their way at once (as from that many phones), raw and tus alike.
    pub at_once: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            s3: false,
            big_mib: 1024,
            rounds: 3,
            at_once: 1,
        }
    }
}

/// The benchmark's server: the test fixtures on the store the environment names; prints
/// `ready <url> <attempt id> <token>` and serves until killed.
pub async fn serve_child() -> anyhow::Result<()> {
    // As the server binary does.
    server::memory::return_large_blocks();
    let mut builder = TestServer::builder().with_env("ACCESS_TOKEN_TTL_SECS", "86400");
    for (name, value) in std::env::vars() {
        if name == "MEDIA_STORE" || name.starts_with("S3_") {
            builder = builder.with_env(&name, &value);
        }
    }
    let server = builder.start().await?;
    let attempt = server.school_attempt().await?;
    let token = server.token("teacher").await?;
    println!("ready {} {attempt} {token}", server.url);
    std::future::pending::<()>().await;
    Ok(())
}

/// A tus client of the server process.
pub(crate) struct Uploader<'a> {
    /// The server the files go to.
    pub(crate) server: &'a ServerProcess,
    /// The client that sends them.
    pub(crate) http: reqwest::Client,
    /// The attempt the files go to.
    pub(crate) attempt: String,
    /// The teacher's access token.
    pub(crate) token: String,
}

impl Uploader<'_> {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server.url))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    /// Creates an upload of `len` bytes, with its first bytes `body` if any; returns where it
    /// is and its offset.
    pub(crate) async fn create(
        &self,
        kind: &str,
        sha256: &str,
        len: u64,
        body: Option<Bytes>,
    ) -> anyhow::Result<(String, u64)> {
        let metadata = format!(
            "kind {},sha256 {},filename {},attempt_id {}",
            B64.encode(kind),
            B64.encode(sha256),
            B64.encode(format!("bench.{kind}")),
            B64.encode(&self.attempt)
        );
        let mut request = self
            .request(reqwest::Method::POST, "/api/v1/uploads")
            .header("Upload-Length", len)
            .header("Upload-Metadata", metadata);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/offset+octet-stream")
                .body(body);
        }
        let response = request.send().await?;
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::CREATED,
            "creating an upload: {} {}",
            response.status(),
            response.text().await?
        );
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .with_context(|| format!("{name} in the creation's answer"))
        };
        Ok((header("location")?, header("upload-offset")?.parse()?))
    }

    /// Sends `chunk` at `offset`; returns the new offset.
    pub(crate) async fn patch(
        &self,
        location: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> anyhow::Result<u64> {
        let response = self
            .request(reqwest::Method::PATCH, location)
            .header("Upload-Offset", offset)
            .header("Content-Type", "application/offset+octet-stream")
            .body(chunk)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::NO_CONTENT,
            "PATCH at {offset}: {} {}",
            response.status(),
            response.text().await?
        );
        response
            .headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .context("Upload-Offset in the PATCH's answer")
    }
}

/// One real 2000×1500 photo of noise (it decodes, so the server makes a thumbnail of each).
pub(crate) fn photo() -> anyhow::Result<Vec<u8>> {
    let noise = tests::files::blob(2000 * 1500 * 3, 11);
    let picture =
        image::RgbImage::from_raw(2000, 1500, noise).context("a 2000×1500 picture of noise")?;
    let mut jpeg = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut jpeg, image::ImageFormat::Jpeg)?;
    Ok(jpeg.into_inner())
}

/// `PHOTOS` distinct photos for `round`: `base` with a different trailer after its end marker
/// (the server stores a file sent twice only once).
pub(crate) fn photos(base: &[u8], round: usize) -> Vec<Bytes> {
    (0..PHOTOS)
        .map(|n| {
            let mut photo = base.to_vec();
            photo.extend(format!("round {round} photo {n:08}").as_bytes());
            Bytes::from(photo)
        })
        .collect()
}

/// Makes the file at `path` distinct for `round` (its last bytes); returns its SHA-256.
fn mark_round(path: &FsPath, round: usize) -> anyhow::Result<String> {
    use std::io::Seek as _;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let marker = format!("round {round:08}");
    file.seek(std::io::SeekFrom::End(-(marker.len() as i64)))?;
    file.write_all(marker.as_bytes())?;
    file.sync_all()?;
    file.rewind()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(server::digest::hex(&hasher.finalize())),
            n => hasher.update(&buffer[..n]),
        }
    }
}

/// Writes a `mib` MiB MP4-typed file of noise at `path`.
fn big_file(path: &FsPath, mib: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41";
    for n in 0..mib {
        let mut piece = tests::files::blob(1024 * 1024, n + 1);
        if n == 0 {
            piece[..header.len()].copy_from_slice(header);
        }
        out.write_all(&piece)?;
    }
    out.into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?
        .sync_all()?;
    Ok(())
}

/// Reads `path` in `CHUNK`s, handing each to `sink`.
async fn for_each_chunk<F, Fut>(path: &FsPath, mut sink: F) -> anyhow::Result<()>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut file = std::fs::File::open(path)?;
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            let n = file.read(&mut chunk[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(());
        }
        chunk.truncate(filled);
        sink(chunk).await?;
    }
}

/// Writes back what earlier phases left in the page cache, so each timed phase starts alike.
fn settle() -> anyhow::Result<()> {
    let status = Command::new("sync").status().context("running sync")?;
    anyhow::ensure!(status.success(), "sync failed: {status}");
    Ok(())
}

/// The same storage the server uses, written directly.
struct Raw {
    store: Arc<dyn ObjectStore>,
    /// On S3, what signs a photo's PUT, and what sends it.
    presigned: Option<(Arc<AmazonS3>, reqwest::Client)>,
}

impl Raw {
    fn open(s3: Option<&S3Server>, dir: &FsPath) -> anyhow::Result<Self> {
        Ok(match s3 {
            None => Self {
                store: Arc::new(LocalFileSystem::new_with_prefix(dir)?.with_fsync(true)),
                presigned: None,
            },
            Some(s3) => {
                let store = Arc::new(
                    AmazonS3Builder::new()
                        .with_endpoint(&s3.endpoint)
                        .with_bucket_name(s3::BUCKET)
                        .with_region("us-east-1")
                        .with_access_key_id(s3::ACCESS_KEY)
                        .with_secret_access_key(s3::SECRET_KEY)
                        .with_allow_http(true)
                        .build()?,
                );
                Self {
                    store: store.clone(),
                    presigned: Some((store, reqwest::Client::new())),
                }
            }
        })
    }

    /// Writes `photo` at `key`: on S3 with the request the server makes for a photo (a PUT to a
    /// presigned URL, its payload not signed), so both sides do the same work on the wire.
    async fn put_photo(&self, key: &Path, photo: Bytes) -> anyhow::Result<()> {
        let Some((signer, http)) = &self.presigned else {
            self.store.put(key, photo.into()).await?;
            return Ok(());
        };
        let url = signer
            .signed_url(
                reqwest::Method::PUT,
                key,
                std::time::Duration::from_secs(600),
            )
            .await?;
        http.put(url).body(photo).send().await?.error_for_status()?;
        Ok(())
    }
}

/// Runs `sends`, `at_once` at a time.
async fn each_at_once<Fut>(sends: impl Iterator<Item = Fut>, at_once: usize) -> anyhow::Result<()>
where
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    futures::stream::iter(sends)
        .buffer_unordered(at_once.max(1))
        .try_collect()
        .await
}

/// Seconds of writing `photos` raw into `store`, one object each, `at_once` at a time.
async fn raw_photos(raw: &Raw, photos: &[Bytes], at_once: usize) -> anyhow::Result<f64> {
    let keys: Vec<Path> = (0..photos.len())
        .map(|n| Path::from(format!("bench-raw/photo-{n}.jpg")))
        .collect();
    settle()?;
    let started = Instant::now();
    let puts = keys
        .iter()
        .zip(photos)
        .map(|(key, photo)| async move { raw.put_photo(key, photo.clone()).await });
    each_at_once(puts, at_once).await?;
    let seconds = started.elapsed().as_secs_f64();
    for key in &keys {
        raw.store.delete(key).await?;
    }
    Ok(seconds)
}

/// MiB/s of writing the file at `big` raw into `store`, multipart with the server's part size.
async fn raw_big(store: &Arc<dyn ObjectStore>, big: &FsPath) -> anyhow::Result<f64> {
    let len = std::fs::metadata(big)?.len();
    let key = Path::from("bench-raw/big.mp4");
    settle()?;
    let started = Instant::now();
    let upload = store.put_multipart(&key).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, server::storage::SEGMENT);
    for_each_chunk(big, |chunk| {
        writer.write(&chunk);
        async { Ok(()) }
    })
    .await?;
    writer.finish().await?;
    let rate = len as f64 / MIB / started.elapsed().as_secs_f64();
    store.delete(&key).await?;
    Ok(rate)
}

fn total_mib(files: &[Bytes]) -> f64 {
    files.iter().map(Bytes::len).sum::<usize>() as f64 / MIB
}

/// Seconds of uploading `photos` to the server, each whole with its creation, as a phone sends
/// them (hashed when queued, before sending), `at_once` at a time.
async fn tus_photos(
    uploader: &Uploader<'_>,
    photos: &[Bytes],
    at_once: usize,
) -> anyhow::Result<f64> {
    let hashes: Vec<String> = photos
        .iter()
        .map(|p| server::digest::sha256_hex(p))
        .collect();
    settle()?;
    let started = Instant::now();
    let uploads = photos.iter().zip(&hashes).map(|(photo, sha)| async move {
        let len = photo.len() as u64;
        let (_, offset) = uploader
            .create("photo", sha, len, Some(photo.clone()))
            .await?;
        anyhow::ensure!(offset == len, "a photo sent whole is finished");
        Ok(())
    });
    each_at_once(uploads, at_once).await?;
    Ok(started.elapsed().as_secs_f64())
}

/// MiB/s of writing `photos` raw and of uploading them, in alternating batches (the disk's speed
/// drifts within a round), raw first in one batch and tus first in the next (neither side
/// always follows the other's writes), each phase starting with the server idle (the
/// thumbnails of the uploads before made).
async fn photo_rates(
    raw: &Raw,
    uploader: &Uploader<'_>,
    photos: &[Bytes],
    at_once: usize,
) -> anyhow::Result<(f64, f64)> {
    let (mut raw_seconds, mut tus_seconds) = (0.0, 0.0);
    for (n, batch) in photos.chunks(PHOTO_BATCH).enumerate() {
        for raw_now in [n % 2 == 0, n % 2 == 1] {
            uploader.server.wait_idle().await?;
            if raw_now {
                raw_seconds += raw_photos(raw, batch, at_once).await?;
            } else {
                tus_seconds += tus_photos(uploader, batch, at_once).await?;
            }
        }
    }
    uploader.server.wait_idle().await?;
    let mib = total_mib(photos);
    Ok((mib / raw_seconds, mib / tus_seconds))
}

/// MiB/s of uploading the file at `big` (SHA-256 `sha`) in `CHUNK` PATCHes, and the server's
/// peak and starting RSS in MiB meanwhile.
async fn tus_big(
    uploader: &Uploader<'_>,
    big: &FsPath,
    sha: &str,
) -> anyhow::Result<(f64, f64, f64)> {
    let len = std::fs::metadata(big)?.len();
    settle()?;
    uploader.server.reset_peak_memory()?;
    let (_, before) = uploader.server.memory_mib()?;
    let started = Instant::now();
    let (location, mut offset) = uploader.create("video", sha, len, None).await?;
    for_each_chunk(big, |chunk| {
        let location = &location;
        let at = offset;
        offset += chunk.len() as u64;
        let expected = offset;
        async move {
            let now = uploader.patch(location, at, chunk).await?;
            anyhow::ensure!(
                now == expected,
                "the server stands at {now}, not {expected}"
            );
            Ok(())
        }
    })
    .await?;
    let rate = len as f64 / MIB / started.elapsed().as_secs_f64();
    let (peak, _) = uploader.server.memory_mib()?;
    Ok((rate, peak, before))
}

/// Runs the media benchmark and prints its figures: per round, and the median ratio.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let s3 = if options.s3 {
        Some(S3Server::start().await?)
    } else {
        None
    };
    eprintln!(
        "media: preparing {PHOTOS} photos and a {} MiB file…",
        options.big_mib
    );
    let base = photo()?;
    let big = work.path().join("big.mp4");
    big_file(&big, options.big_mib)?;
    let raw_dir = work.path().join("raw");
    std::fs::create_dir_all(&raw_dir)?;
    let raw = Raw::open(s3.as_ref(), &raw_dir)?;
    let mut env = Vec::new();
    if let Some(s3) = &s3 {
        env = vec![
            ("MEDIA_STORE", "s3".to_owned()),
            ("S3_ENDPOINT", s3.endpoint.clone()),
            ("S3_BUCKET", s3::BUCKET.to_owned()),
            ("S3_ACCESS_KEY_ID", s3::ACCESS_KEY.to_owned()),
            ("S3_SECRET_ACCESS_KEY", s3::SECRET_KEY.to_owned()),
            ("S3_ALLOW_HTTP", "true".to_owned()),
        ];
    }
    let server = ServerProcess::start(SERVE_CHILD, &env)?;
    let [attempt, token] = server.words.as_slice() else {
        anyhow::bail!("the media server said {:?}", server.words);
    };
    let (attempt, token) = (attempt.clone(), token.clone());
    let uploader = Uploader {
        server: &server,
        http: reqwest::Client::new(),
        attempt,
        token,
    };

    let store_name = if options.s3 {
        "S3 (s3s-fs on loopback)"
    } else {
        "local folder (fsync)"
    };
    println!(
        "media store: {store_name}; photos {} at once; MiB/s, raw write vs tus upload, in the same run",
        options.at_once
    );
    println!(
        "round   {PHOTOS} photos of {:.1} MiB: raw     tus  ratio   one {} MiB file: raw     tus  ratio   server RSS: before  peak",
        base.len() as f64 / MIB,
        options.big_mib
    );
    let (mut photo_ratios, mut big_ratios, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..options.rounds {
        eprintln!("media: round {}…", round + 1);
        let photos = photos(&base, round);
        let (raw_p, tus_p) = photo_rates(&raw, &uploader, &photos, options.at_once).await?;
        let sha = mark_round(&big, round)?;
        let raw_b = raw_big(&raw.store, &big).await?;
        let (tus_b, peak, before) = tus_big(&uploader, &big, &sha).await?;
        println!(
            "{:>5}                        {raw_p:>7.1} {tus_p:>7.1} {:>6.2}                 {raw_b:>7.1} {tus_b:>7.1} {:>6.2}             {before:>6.0} {peak:>5.0}",
            round + 1,
            tus_p / raw_p,
            tus_b / raw_b
        );
        photo_ratios.push(tus_p / raw_p);
        big_ratios.push(tus_b / raw_b);
        peaks.push(peak);
    }
    println!(
        "median ratio: photos {:.2}, large file {:.2}; highest server peak RSS during the large upload {:.0} MiB",
        crate::median(&photo_ratios),
        crate::median(&big_ratios),
        peaks.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}
