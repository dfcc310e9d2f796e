//! Resumable uploads (tus 1.0.0) into the media store, linked to an attempt as evidence.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{media_object, upload};
use server::digest::sha256_hex;
use tests::TestServer;
use tests::files::{blob, jpeg};
use tests::tus_metadata as metadata;
use uuid::Uuid;

/// Runs `check` on a server with the local media folder, then on one with a real S3 server.
async fn on_both<F: std::future::Future<Output = anyhow::Result<()>>>(
    check: impl Fn(TestServer) -> F,
) -> anyhow::Result<()> {
    on_both_from(TestServer::builder, check).await
}

/// [`on_both`], each server made from `builder`.
async fn on_both_from<F: std::future::Future<Output = anyhow::Result<()>>>(
    builder: impl Fn() -> tests::TestServerBuilder,
    check: impl Fn(TestServer) -> F,
) -> anyhow::Result<()> {
    check(builder().start().await?).await?;
    let s3 = tests::s3::S3Server::start().await?;
    check(builder().with_s3(&s3).start().await?).await
}

/// A server that counts a body silent for a second as cut.
fn quickly_idle() -> tests::TestServerBuilder {
    TestServer::builder().with_env("UPLOAD_IDLE_SECS", "1")
}

/// A file of `len` bytes that is a `kind` file (a real header), padded with noise.
fn typed(kind: &str, len: usize, seed: u64) -> Vec<u8> {
    let mut out = match kind {
        "jpeg" => jpeg(64, 48),
        "m4a" => b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00".to_vec(),
        "pdf" => b"%PDF-1.7\n".to_vec(),
        _ => Vec::new(),
    };
    let header = out.len();
    out.extend(blob(len - header, seed));
    out
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny valid PNG whose header claims `width`×`height` pixels: a decompression bomb's calling card.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(1, 1, image::Rgb([0, 0, 0]));
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode a PNG");
    let mut png = out.into_inner();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

struct Tus {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Tus {
    /// The same client, talking to the server at `base` (another instance).
    fn at(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: self.token.clone(),
            http: self.http.clone(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    async fn create(&self, length: usize, metadata: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .request(Method::POST, "/api/v1/uploads")
            .header("Upload-Length", length)
            .header("Upload-Metadata", metadata)
            .send()
            .await?)
    }

    /// A creation that carries `body`, the file's first bytes (creation-with-upload).
    async fn create_with_body(
        &self,
        length: usize,
        metadata: &str,
        body: &[u8],
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .request(Method::POST, "/api/v1/uploads")
            .header("Upload-Length", length)
            .header("Upload-Metadata", metadata)
            .header("Content-Type", "application/offset+octet-stream")
            .body(body.to_vec())
            .send()
            .await?)
    }

    /// The offset once the server has settled what a cut connection sent (two equal answers).
    async fn settled_offset(&self, location: &str) -> anyhow::Result<u64> {
        let mut last = self.offset(location).await?;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let now = self.offset(location).await?;
            if now == last {
                return now.ok_or_else(|| anyhow::anyhow!("the upload is gone"));
            }
            last = now;
        }
    }

    async fn offset(&self, location: &str) -> anyhow::Result<Option<u64>> {
        let r = self.request(Method::HEAD, location).send().await?;
        if r.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(r.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()))
    }

    async fn patch(
        &self,
        location: &str,
        offset: u64,
        body: reqwest::Body,
        checksum: Option<String>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = self
            .request(Method::PATCH, location)
            .header("Upload-Offset", offset)
            .header("Content-Type", "application/offset+octet-stream");
        if let Some(checksum) = checksum {
            request = request.header("Upload-Checksum", checksum);
        }
        request.body(body).send().await
    }

    /// Sends `data` from `from` to its end in one PATCH, which must be taken.
    async fn send_rest(&self, location: &str, data: &[u8], from: usize) -> anyhow::Result<()> {
        let rest = Bytes::copy_from_slice(&data[from..]);
        let r = self.patch(location, from as u64, rest.into(), None).await?;
        anyhow::ensure!(
            r.status() == StatusCode::NO_CONTENT,
            "the PATCH at {from}: {} {}",
            r.status(),
            r.text().await?
        );
        Ok(())
    }
}

/// `bytes` as a phone's link delivers them, 16 KiB at a time.
fn pieces(bytes: &[u8]) -> Vec<Result<Bytes, std::io::Error>> {
    bytes
        .chunks(16 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

/// A body that sends `bytes` as [`pieces`], then nothing more, its connection left open.
fn silent_after(bytes: &[u8]) -> reqwest::Body {
    reqwest::Body::wrap_stream(futures::StreamExt::chain(
        futures::stream::iter(pieces(bytes)),
        futures::stream::pending(),
    ))
}

async fn client_for(server: &TestServer, user: &str) -> anyhow::Result<Tus> {
    Ok(Tus {
        base: server.url.clone(),
        token: server.token(user).await?,
        http: reqwest::Client::new(),
    })
}

/// [`metadata`] with the phone's own key for the file, `client_key`.
fn keyed(kind: &str, sha: &str, attempt: Uuid, key: &str) -> String {
    format!(
        "{},{} {}",
        metadata(kind, sha, attempt),
        sync_protocol::media::CLIENT_KEY_METADATA,
        B64.encode(key)
    )
}

/// The `Upload-Offset` of an answer.
fn offset_of(r: &reqwest::Response) -> Option<u64> {
    r.headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The upload rows of the file `sha`.
async fn uploads_of(server: &TestServer, sha: &str) -> anyhow::Result<Vec<upload::Model>> {
    Ok(upload::Entity::find()
        .filter(upload::Column::Sha256.eq(sha))
        .all(&server.state.db.read)
        .await?)
}

/// The media objects of the file `sha`.
async fn media_of(server: &TestServer, sha: &str) -> anyhow::Result<Vec<media_object::Model>> {
    Ok(media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(sha))
        .all(&server.state.db.read)
        .await?)
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_upload_in_chunks_with_checksums_is_stored_verified_and_linked() -> anyhow::Result<()> {
    on_both(an_upload_in_chunks_with_checksums_is_stored_verified_and_linked_on).await
}

async fn an_upload_in_chunks_with_checksums_is_stored_verified_and_linked_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let options = tus
        .request(Method::OPTIONS, "/api/v1/uploads")
        .send()
        .await?;
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert!(
        options.headers()["tus-extension"]
            .to_str()?
            .contains("checksum")
    );

    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 9 * 1024 * 1024 + 3, 1);
    let sha = sha256_hex(&data);
    let created = tus
        .create(data.len(), &metadata("photo", &sha, attempt))
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let at = location(&created);
    let mut offset = 0usize;
    for chunk in data.chunks(4 * 1024 * 1024) {
        let checksum = format!(
            "sha256 {}",
            B64.encode(<sha2::Sha256 as sha2::Digest>::digest(chunk))
        );
        let r = tus
            .patch(
                &at,
                offset as u64,
                Bytes::copy_from_slice(chunk).into(),
                Some(checksum),
            )
            .await?;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().await?);
        offset += chunk.len();
    }
    assert_eq!(tus.offset(&at).await?, Some(data.len() as u64));
    let media = media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(&sha))
        .all(&server.state.db.read)
        .await?;
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].target_id, attempt);
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha.clone(), data.len() as u64),
        "read back, same SHA-256"
    );

    // The original comes back whole, with its sniffed type, or a range of it; never to another
    // school. A thumbnail was derived, scoped the same way.
    let path = format!("/api/v1/media/{}", media[0].id);
    let whole = tus.request(Method::GET, &path).send().await?;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        whole.headers()["content-type"],
        "image/jpeg",
        "the sniffed type, not the name's"
    );
    assert!(
        whole.headers()["content-disposition"]
            .to_str()?
            .contains("visit.jpg")
    );
    assert_eq!(sha256_hex(&whole.bytes().await?), sha);
    let part = tus
        .request(Method::GET, &path)
        .header("Range", "bytes=1000-1999")
        .send()
        .await?;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"].to_str()?,
        format!("bytes 1000-1999/{}", data.len())
    );
    assert_eq!(&part.bytes().await?[..], &data[1000..2000]);
    let outsider = server.token("b-teacher").await?;
    assert_eq!(
        server.get(&path, &outsider).await?.status,
        StatusCode::NOT_FOUND
    );
    let thumb = server.get(&format!("{path}/thumbnail"), &tus.token).await?;
    assert_eq!(thumb.status, StatusCode::OK);
    assert_eq!(thumb.content_type.as_deref(), Some("image/jpeg"));
    let (w, h) = image::ImageReader::with_format(
        std::io::Cursor::new(&thumb.body.0),
        image::ImageFormat::Jpeg,
    )
    .into_dimensions()?;
    assert!(w <= 320 && h <= 320 && w > 0, "{w}×{h}");
    assert_eq!(
        server
            .get(&format!("{path}/thumbnail"), &outsider)
            .await?
            .status,
        StatusCode::NOT_FOUND
    );

    // The reference travels by sync: the school's phones hold it after their next pull.
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut mobile_shared::NoProgress).await?;
    let held = phone.media(media[0].case_id.into())?;
    assert!(
        held.iter().any(|m| m.id.0 == media[0].id
            && m.sha256 == sha
            && m.content_type == "image/jpeg"
            && m.target_id == attempt),
        "{held:?}"
    );

    // The same file again finishes at once: the server already has it.
    let again = tus
        .create(data.len(), &metadata("photo", &sha, attempt))
        .await?;
    assert_eq!(
        again.headers()["upload-offset"].to_str()?,
        data.len().to_string()
    );
    // A standard client that does not read the creation's offset sends the file from 0: it is
    // told the upload is complete, not refused.
    let r = tus
        .patch(&location(&again), 0, data.clone().into(), None)
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&r), Some(data.len() as u64));
    // Sent again for the same attempt (a phone that missed the answer), it is linked once.
    let linked = media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(&sha))
        .all(&server.state.db.read)
        .await?;
    assert_eq!(linked.len(), 1);
    Ok(())
}

/// A phone that gave up waiting for an answer and sent the photo again while the first request
/// was still finishing: the same file for the same attempt, in several uploads finishing
/// together, is evidence once.
#[tokio::test]
async fn the_same_file_finishing_in_several_uploads_at_once_is_linked_once() -> anyhow::Result<()> {
    let server = TestServer::builder().start().await?;
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 300_000, 12);
    let sha = sha256_hex(&data);
    let meta = metadata("photo", &sha, attempt);
    let answers = futures::future::join_all((0..8).map(|_| upload_whole(&tus, &data, &meta))).await;
    for answer in answers {
        assert_eq!(answer?.status(), StatusCode::CREATED);
    }
    let linked = media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(&sha))
        .all(&server.state.db.read)
        .await?;
    assert_eq!(linked.len(), 1, "{linked:?}");
    Ok(())
}

/// A phone that loses its signal mid-body leaves a connection that never closes: after
/// `UPLOAD_IDLE_SECS` of silence the server keeps what arrived and lets the upload go, so the
/// phone's next request resumes it at once (before, it waited out the hold, and locally the
/// silent request kept the upload's file).
#[tokio::test]
async fn a_silent_body_counts_as_cut_and_the_upload_resumes() -> anyhow::Result<()> {
    on_both_from(
        quickly_idle,
        a_silent_body_counts_as_cut_and_the_upload_resumes_on,
    )
    .await
}

async fn a_silent_body_counts_as_cut_and_the_upload_resumes_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("m4a", 600 * 1024, 5);
    let sha = sha256_hex(&data);
    let at = location(
        &tus.create(data.len(), &metadata("audio", &sha, attempt))
            .await?,
    );
    let sent = 200 * 1024;
    let silent = silent_after(&data[..sent]);
    let stalled = tokio::spawn({
        let (tus, at) = (tus.at(&server.url), at.clone());
        async move { tus.patch(&at, 0, silent, None).await.map(|r| r.status()) }
    });
    // The server ends the silent request (its idle time is a second): that is the signal that
    // it counted the body as cut. Broken, the request would hang until this gives up.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), stalled)
        .await
        .map_err(|_| anyhow::anyhow!("the silent body was never counted as cut"))???;
    assert_eq!(answer, StatusCode::NO_CONTENT, "taken as far as it came");
    assert_eq!(
        tus.settled_offset(&at).await?,
        sent as u64,
        "what arrived before the silence is kept"
    );
    // The phone's next request resumes at once.
    tus.send_rest(&at, &data, sent).await?;
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha, data.len() as u64),
        "stored whole, byte for byte"
    );
    Ok(())
}

#[tokio::test]
async fn an_upload_cut_twenty_times_resumes_and_sends_little_twice() -> anyhow::Result<()> {
    on_both(an_upload_cut_twenty_times_resumes_and_sends_little_twice_on).await
}

async fn an_upload_cut_twenty_times_resumes_and_sends_little_twice_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("m4a", 3 * 1024 * 1024, 2);
    let sha = sha256_hex(&data);
    let at = location(
        &tus.create(data.len(), &metadata("audio", &sha, attempt))
            .await?,
    );
    let mut sent = 0usize;
    let step = data.len() / 21;
    for cut in 1..=20 {
        let from = usize::try_from(tus.settled_offset(&at).await?)?;
        // Send up to the next cut point, then break the connection.
        let until = (cut * step + (cut * 7919) % 1000)
            .min(data.len() - 1)
            .max(from + 1);
        // The link drops a moment after the last bytes went out.
        let lost = futures::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            Err(std::io::Error::other("signal lost"))
        });
        let body = reqwest::Body::wrap_stream(futures::StreamExt::chain(
            futures::stream::iter(pieces(&data[from..until])),
            lost,
        ));
        sent += until - from;
        let _ = tus.patch(&at, from as u64, body, None).await;
    }
    let from = usize::try_from(tus.settled_offset(&at).await?)?;
    assert!(from > 0, "what arrived before the cuts was kept");
    sent += data.len() - from;
    tus.send_rest(&at, &data, from).await?;
    assert!(
        sent as f64 <= 1.05 * data.len() as f64,
        "sent {sent} bytes for {}",
        data.len()
    );
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha, data.len() as u64)
    );
    Ok(())
}

#[tokio::test]
async fn bad_chunks_bad_files_and_foreign_records_are_refused() -> anyhow::Result<()> {
    on_both(bad_chunks_bad_files_and_foreign_records_are_refused_on).await
}

async fn bad_chunks_bad_files_and_foreign_records_are_refused_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 100_000, 3);
    let sha = sha256_hex(&data);

    // No Tus-Resumable header: 412.
    let r = server
        .request(Method::POST, "/api/v1/uploads", Some(&tus.token), None)
        .await?;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert!(r.is_client_problem());

    // A wrong per-chunk checksum: 460, the offset does not move.
    let at = location(
        &tus.create(data.len(), &metadata("photo", &sha, attempt))
            .await?,
    );
    let wrong = format!("sha1 {}", B64.encode([0u8; 20]));
    let r = tus
        .patch(
            &at,
            0,
            Bytes::copy_from_slice(&data[..50_000]).into(),
            Some(wrong),
        )
        .await?;
    assert_eq!(r.status().as_u16(), 460);
    assert_eq!(tus.offset(&at).await?, Some(0));
    // A wrong offset: 409.
    let r = tus
        .patch(&at, 10, Bytes::copy_from_slice(&data[10..]).into(), None)
        .await?;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // A file whose bytes do not match the declared SHA-256: refused and removed.
    let lie = sha256_hex(b"another file");
    let at = location(
        &tus.create(data.len(), &metadata("photo", &lie, attempt))
            .await?,
    );
    let r = tus.patch(&at, 0, data.clone().into(), None).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["code"], "hash_mismatch");
    assert_eq!(tus.offset(&at).await?, None);
    // The same, sent in two requests (the bytes are kept between them, then removed).
    let at = location(
        &tus.create(data.len(), &metadata("photo", &lie, attempt))
            .await?,
    );
    let half = data.len() / 2;
    let r = tus
        .patch(&at, 0, Bytes::copy_from_slice(&data[..half]).into(), None)
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = tus
        .patch(
            &at,
            half as u64,
            Bytes::copy_from_slice(&data[half..]).into(),
            None,
        )
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<serde_json::Value>().await?["code"],
        "hash_mismatch"
    );
    assert_eq!(tus.offset(&at).await?, None);
    assert!(!server.state.storage.contains(&lie).await?);
    assert!(server.state.storage.uploads_kept().await?.is_empty());

    // A JPEG declared as an audio recording: its bytes say what it is.
    let photo = typed("jpeg", 50_000, 9);
    let photo_sha = sha256_hex(&photo);
    let at = location(
        &tus.create(photo.len(), &metadata("audio", &photo_sha, attempt))
            .await?,
    );
    let r = tus.patch(&at, 0, photo.clone().into(), None).await?;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = r.json().await?;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("image/jpeg"),
        "{body}"
    );
    assert!(!server.state.storage.contains(&photo_sha).await?);
    assert_eq!(tus.offset(&at).await?, None);

    // A PNG whose header claims 60000×60000 pixels is refused without being decoded.
    let bomb = png_claiming(60_000, 60_000);
    let bomb_sha = sha256_hex(&bomb);
    let at = location(
        &tus.create(bomb.len(), &metadata("photo", &bomb_sha, attempt))
            .await?,
    );
    let r = tus.patch(&at, 0, bomb.clone().into(), None).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["code"], "image_too_large", "{body}");
    assert!(!server.state.storage.contains(&bomb_sha).await?);

    // Too large for its kind.
    let r = tus
        .create(40 * 1024 * 1024, &metadata("photo", &sha, attempt))
        .await?;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // An attempt of another school: 404, like a missing one.
    let other = client_for(&server, "b-teacher").await?;
    let r = other
        .create(data.len(), &metadata("photo", &sha, attempt))
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

/// Uploads `data` whole with its creation (creation-with-upload), with `metadata`.
async fn upload_whole(tus: &Tus, data: &[u8], metadata: &str) -> anyhow::Result<reqwest::Response> {
    Ok(tus
        .request(Method::POST, "/api/v1/uploads")
        .header("Upload-Length", data.len())
        .header("Upload-Metadata", metadata)
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.to_vec())
        .send()
        .await?)
}

/// The media object stored with `sha`.
async fn stored(server: &TestServer, sha: &str) -> anyhow::Result<media_object::Model> {
    media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(sha))
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no media object {sha}"))
}

#[tokio::test]
async fn capture_time_place_and_duration_are_read_from_the_bytes() -> anyhow::Result<()> {
    on_both(capture_time_place_and_duration_are_read_from_the_bytes_on).await
}

async fn capture_time_place_and_duration_are_read_from_the_bytes_on(
    server: TestServer,
) -> anyhow::Result<()> {
    use chrono::{NaiveDate, TimeZone as _, Utc};
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let declared = |kind: &str, sha: &str, extra: &[(&str, &str)]| {
        let mut out = metadata(kind, sha, attempt);
        for (key, value) in extra {
            out.push_str(&format!(",{key} {}", B64.encode(value)));
        }
        out
    };
    let phone_says = [
        ("captured_at", "2026-03-05T10:00:00+08:00"),
        ("lat", "26.1"),
        ("lon", "108.2"),
    ];

    // A camera's EXIF (local time, no zone: China time) wins over what the phone declares.
    let taken = NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(9, 30, 0))
        .ok_or_else(|| anyhow::anyhow!("date"))?;
    let photo = tests::files::with_exif(
        &jpeg(80, 60),
        tests::files::CameraTags {
            taken,
            offset: None,
            position: (27.5, 109.95),
        },
    );
    let sha = sha256_hex(&photo);
    let r = upload_whole(&tus, &photo, &declared("photo", &sha, &phone_says)).await?;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await?);
    let row = stored(&server, &sha).await?;
    assert_eq!(
        row.captured_at,
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 30, 0).single()
    );
    let (lat, lon) = row
        .lat
        .zip(row.lon)
        .ok_or_else(|| anyhow::anyhow!("no GPS kept"))?;
    assert!(
        (lat - 27.5).abs() < 1e-4 && (lon - 109.95).abs() < 1e-4,
        "{lat},{lon}"
    );

    // A re-encoded photo carries no EXIF: the phone's word is kept.
    let plain = jpeg(81, 61);
    let plain_sha = sha256_hex(&plain);
    let r = upload_whole(&tus, &plain, &declared("photo", &plain_sha, &phone_says)).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let row = stored(&server, &plain_sha).await?;
    assert_eq!(
        row.captured_at,
        Utc.with_ymd_and_hms(2026, 3, 5, 2, 0, 0).single()
    );
    assert_eq!((row.lat, row.lon), (Some(26.1), Some(108.2)));

    // A recording's duration is probed from its bytes.
    let recording = tests::files::wav(3_200);
    let recording_sha = sha256_hex(&recording);
    let r = upload_whole(&tus, &recording, &declared("audio", &recording_sha, &[])).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        stored(&server, &recording_sha).await?.duration_ms,
        Some(3_200)
    );

    // What the phone declares must make sense.
    for bad in [
        [("captured_at", "yesterday")].as_slice(),
        &[("lat", "95"), ("lon", "100")],
        &[("lat", "30")],
    ] {
        let other = jpeg(82, 62);
        let r = tus
            .create(other.len(), &declared("photo", &sha256_hex(&other), bad))
            .await?;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        let body: serde_json::Value = r.json().await?;
        assert_eq!(body["code"], "invalid_parameter", "{body}");
    }

    // Pull carries it all to the school's phones.
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut mobile_shared::NoProgress).await?;
    let case_id = stored(&server, &recording_sha).await?.case_id;
    let held = phone.media(case_id.into())?;
    assert!(
        held.iter()
            .any(|m| m.sha256 == recording_sha && m.duration_ms == Some(3_200))
    );
    assert!(held.iter().any(|m| m.sha256 == sha
        && m.captured_at == Utc.with_ymd_and_hms(2026, 3, 2, 1, 30, 0).single()
        && m.location.is_some()));
    Ok(())
}

#[tokio::test]
async fn size_limits_per_kind_are_configuration() -> anyhow::Result<()> {
    let server = TestServer::builder()
        .with_env("MAX_PHOTO_BYTES", "100000")
        .start()
        .await?;
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let r = tus
        .create(100_001, &metadata("photo", &sha256_hex(b"x"), attempt))
        .await?;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = r.json().await?;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("100000"),
        "{body}"
    );
    // Other kinds keep their defaults.
    let r = tus
        .create(100_001, &metadata("document", &sha256_hex(b"x"), attempt))
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    Ok(())
}

#[tokio::test]
async fn terminated_and_expired_uploads_leave_nothing() -> anyhow::Result<()> {
    on_both(terminated_and_expired_uploads_leave_nothing_on).await
}

async fn terminated_and_expired_uploads_leave_nothing_on(server: TestServer) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    // Larger than one segment, so that on S3 the first PATCH makes a part of a multipart upload,
    // which ending the upload must abort.
    let data = typed("pdf", server::storage::SEGMENT + 200_000, 4);
    let sha = sha256_hex(&data);
    for expire in [false, true] {
        let at = location(
            &tus.create(data.len(), &metadata("document", &sha, attempt))
                .await?,
        );
        let r = tus
            .patch(
                &at,
                0,
                Bytes::copy_from_slice(&data[..server::storage::SEGMENT]).into(),
                None,
            )
            .await?;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let id: Uuid = at.rsplit('/').next().unwrap_or_default().parse()?;
        if expire {
            upload::Entity::update_many()
                .col_expr(
                    upload::Column::ExpiresAt,
                    sea_orm::sea_query::Expr::value(
                        chrono::Utc::now() - chrono::Duration::hours(1),
                    ),
                )
                .filter(upload::Column::Id.eq(id))
                .exec(&server.state.db.write)
                .await?;
            assert_eq!(
                tus.offset(&at).await?,
                None,
                "an expired upload is gone for the client"
            );
            assert_eq!(
                server::media::uploads::expire(&server.state.media()).await?,
                1
            );
        } else {
            let r = tus.request(Method::DELETE, &at).send().await?;
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
        assert!(
            upload::Entity::find_by_id(id)
                .one(&server.state.db.read)
                .await?
                .is_none()
        );
        assert!(!server.state.storage.contains(&sha).await?);
        assert!(server.state.storage.uploads_kept().await?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn a_creation_keeps_its_body_only_where_a_client_can_resume_it() -> anyhow::Result<()> {
    on_both_from(
        quickly_idle,
        a_creation_keeps_its_body_only_where_a_client_can_resume_it_on,
    )
    .await
}

async fn a_creation_keeps_its_body_only_where_a_client_can_resume_it_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("m4a", 600 * 1024, 6);
    let sha = sha256_hex(&data);
    let creation = |body: reqwest::Body| {
        tus.request(Method::POST, "/api/v1/uploads")
            .header("Upload-Length", data.len())
            .header("Upload-Metadata", metadata("audio", &sha, attempt))
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
    };
    let uploads_of = |sha: &str| {
        upload::Entity::find()
            .filter(upload::Column::Sha256.eq(sha))
            .all(&server.state.db.read)
    };

    // A creation whose body fails its checksum is refused, and nothing of it stays.
    let wrong = format!("sha1 {}", B64.encode([0u8; 20]));
    let r = creation(data.clone().into())
        .header("Upload-Checksum", wrong)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 460);
    assert!(uploads_of(&sha).await?.is_empty(), "no upload row");
    assert!(
        server.state.storage.uploads_kept().await?.is_empty(),
        "no bytes kept"
    );

    // A creation whose body goes silent midway keeps what arrived, under an upload that takes
    // the rest.
    let sent = 200 * 1024;
    let silent = silent_after(&data[..sent]);
    let stalled = tokio::spawn(creation(silent).send());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let row = loop {
        if let Some(row) = uploads_of(&sha).await?.pop() {
            break row;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the cut creation was not kept"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(row.offset, sent as i64, "what arrived before the silence");
    tus.send_rest(&format!("/api/v1/uploads/{}", row.id), &data, sent)
        .await?;
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha.clone(), data.len() as u64),
        "stored whole, byte for byte"
    );
    stalled.abort();

    // The body of a file stored already is not kept: the upload is linked to the stored file.
    let again = creation(data.clone().into()).send().await?;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(
        again.headers()["upload-offset"].to_str()?,
        data.len().to_string()
    );
    assert!(server.state.storage.uploads_kept().await?.is_empty());

    // A creation for another school's attempt is refused with its body, whole or gone silent,
    // and nothing of it stays.
    let other = client_for(&server, "b-teacher").await?;
    let foreign = typed("m4a", 300 * 1024, 7);
    let foreign_sha = sha256_hex(&foreign);
    for body in [
        reqwest::Body::from(foreign.clone()),
        silent_after(&foreign[..100 * 1024]),
    ] {
        let r = other
            .request(Method::POST, "/api/v1/uploads")
            .header("Upload-Length", foreign.len())
            .header("Upload-Metadata", metadata("audio", &foreign_sha, attempt))
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.json::<serde_json::Value>().await?["code"], "not_found");
    }
    assert!(!server.state.storage.contains(&foreign_sha).await?);
    assert!(server.state.storage.uploads_kept().await?.is_empty());
    let rows = uploads_of(&foreign_sha).await?;
    assert!(rows.is_empty(), "no upload row: {rows:?}");
    Ok(())
}

#[tokio::test]
async fn bytes_no_upload_names_are_removed_once_the_expiry_has_passed() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let server::storage::StorageConfig::Local { root } = &server.state.config.storage else {
        anyhow::bail!("the default store is local");
    };
    // What a server stopped while receiving a creation's body leaves: a file no row names.
    let orphan = |id: Uuid, age: chrono::Duration| -> anyhow::Result<()> {
        let dir = root.join("uploads").join(id.to_string());
        std::fs::create_dir_all(&dir)?;
        let file = std::fs::File::create(dir.join("data"))?;
        let when = std::time::SystemTime::now() - age.to_std()?;
        file.set_times(std::fs::FileTimes::new().set_modified(when))?;
        Ok(())
    };
    let (old, recent) = (Uuid::now_v7(), Uuid::now_v7());
    orphan(
        old,
        server::media::uploads::EXPIRY + chrono::Duration::hours(1),
    )?;
    orphan(recent, chrono::Duration::hours(1))?;
    // An upload in progress, untouched as long, is not the sweep's to remove.
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("m4a", 300 * 1024, 7);
    let at = location(
        &tus.create(data.len(), &metadata("audio", &sha256_hex(&data), attempt))
            .await?,
    );
    let r = tus
        .patch(&at, 0, Bytes::copy_from_slice(&data[..1000]).into(), None)
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let kept: Uuid = at.rsplit('/').next().unwrap_or_default().parse()?;
    let file = root.join("uploads").join(kept.to_string()).join("data");
    let when = std::time::SystemTime::now() - (server::media::uploads::EXPIRY * 2).to_std()?;
    std::fs::File::options()
        .write(true)
        .open(&file)?
        .set_times(std::fs::FileTimes::new().set_modified(when))?;

    // The server's own sweep may run first; either way, after it only the old orphan is gone.
    server::media::uploads::expire(&server.state.media()).await?;
    let mut left: Vec<String> = server.state.storage.uploads_kept().await?;
    left.sort();
    let mut expected = vec![
        format!("uploads/{kept}/data"),
        format!("uploads/{recent}/data"),
    ];
    expected.sort();
    assert_eq!(left, expected, "only the old file no upload names went");
    assert_eq!(tus.offset(&at).await?, Some(1000), "the upload goes on");
    Ok(())
}

#[tokio::test]
async fn an_upload_of_several_segments_is_stored_whole_from_parts_and_pieces() -> anyhow::Result<()>
{
    on_both(an_upload_of_several_segments_is_stored_whole_from_parts_and_pieces_on).await
}

/// Two whole segments in one PATCH (on S3, two parts sent at once), then the rest in two smaller
/// PATCHes (pieces made into the last part at completion), each to another server instance over
/// the same database and store (which carries the hash on from the offset's saved state): the
/// stored file is the file.
async fn an_upload_of_several_segments_is_stored_whole_from_parts_and_pieces_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let first = client_for(&server, "teacher").await?;
    let instances = [
        server.another_instance().await?,
        server.another_instance().await?,
    ];
    let attempt = server.school_attempt().await?;
    let segment = server::storage::SEGMENT;
    let data = typed("pdf", 2 * segment + 300_005, 7);
    let sha = sha256_hex(&data);
    let at = location(
        &first
            .create(data.len(), &metadata("document", &sha, attempt))
            .await?,
    );
    let id: Uuid = at.rsplit('/').next().unwrap_or_default().parse()?;
    let mut offset = 0;
    let clients = [
        first.at(&instances[0].url),
        first.at(&instances[1].url),
        first,
    ];
    for (end, tus) in [2 * segment, 2 * segment + 100_000, data.len()]
        .into_iter()
        .zip(&clients)
    {
        let body = Bytes::copy_from_slice(&data[offset..end]);
        let r = tus.patch(&at, offset as u64, body.into(), None).await?;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().await?);
        offset = end;
    }
    assert!(server.state.storage.contains(&sha).await?);
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha.clone(), data.len() as u64)
    );
    assert!(
        upload::Entity::find_by_id(id)
            .one(&server.state.db.read)
            .await?
            .is_none_or(|u| u.offset == data.len() as i64),
        "finished"
    );
    assert!(
        server.state.storage.uploads_kept().await?.is_empty(),
        "nothing of the upload is left behind"
    );
    Ok(())
}

/// A PATCH of a segment and a half that then goes silent, its connection open: while it still
/// holds the upload, the offset has moved past the whole segment (written and synced) and no
/// further, so a power cut now would lose nothing of it. Local folder only: on S3 the offset
/// moves past parts when those on their way are settled, at the latest when the body ends.
#[tokio::test]
async fn a_long_body_is_kept_segment_by_segment_while_it_arrives() -> anyhow::Result<()> {
    let server = TestServer::builder().start().await?;
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let segment = server::storage::SEGMENT;
    let data = typed("pdf", 2 * segment, 8);
    let sha = sha256_hex(&data);
    let at = location(
        &tus.create(data.len(), &metadata("document", &sha, attempt))
            .await?,
    );
    let id: Uuid = at.rsplit('/').next().unwrap_or_default().parse()?;
    let stalled = tokio::spawn({
        let (tus, at, silent) = (
            tus.at(&server.url),
            at.clone(),
            silent_after(&data[..segment + segment / 2]),
        );
        async move { tus.patch(&at, 0, silent, None).await.map(|r| r.status()) }
    });
    let offset = async {
        loop {
            let row = upload::Entity::find_by_id(id)
                .one(&server.state.db.read)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the upload's row is gone"))?;
            if row.offset > 0 {
                return anyhow::Ok(row.offset);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let offset = tokio::time::timeout(std::time::Duration::from_secs(20), offset)
        .await
        .map_err(|_| anyhow::anyhow!("the offset never moved while the body arrived"))??;
    assert_eq!(
        offset, segment as i64,
        "the whole segment, and only it, is kept"
    );
    assert!(!stalled.is_finished(), "the PATCH still holds the upload");
    stalled.abort();
    Ok(())
}

/// Whether tuspy (the third-party tus client) is installed; `.ci/run` installs it.
fn tuspy_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import tusclient"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
#[ignore = "needs the third-party tus client tuspy (pip install tuspy); .ci/run installs it and runs ignored tests"]
async fn a_third_party_tus_client_uploads_a_photo_and_a_recording() -> anyhow::Result<()> {
    anyhow::ensure!(
        tuspy_available(),
        "tuspy is not installed: pip install tuspy"
    );
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let attempt = server.school_attempt().await?;
    let dir = tempfile::tempdir()?;
    for (kind, magic, name, len) in [
        ("photo", "jpeg", "visit.jpg", 700_000),
        ("audio", "m4a", "talk.m4a", 1_300_000),
    ] {
        let data = typed(magic, len, len as u64);
        let sha = sha256_hex(&data);
        let path = dir.path().join(name);
        std::fs::write(&path, &data)?;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tus_client/upload.py");
        let out = tokio::process::Command::new("python3")
            .args([
                script,
                &server.url,
                &token,
                &path.display().to_string(),
                kind,
                &sha,
                name,
                &attempt.to_string(),
            ])
            .output()
            .await?;
        anyhow::ensure!(
            out.status.success(),
            "tuspy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let media = media_object::Entity::find()
            .filter(media_object::Column::Sha256.eq(&sha))
            .one(&server.state.db.read)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no media row for {name}"))?;
        let back = server
            .get(&format!("/api/v1/media/{}", media.id), &token)
            .await?;
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(back.body.0, data, "{name} comes back byte-equal");
    }
    Ok(())
}

#[tokio::test]
async fn on_s3_only_a_body_with_the_whole_file_goes_to_its_key_as_it_arrives() -> anyhow::Result<()>
{
    let s3 = tests::s3::S3Server::start().await?;
    let server = TestServer::builder().with_s3(&s3).start().await?;
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let puts_to = |sha: &str| {
        let key = format!(
            "PutObject /{}/originals/sha256/{}/{sha}",
            tests::s3::BUCKET,
            &sha[..2]
        );
        s3.requests().iter().filter(|r| **r == key).count()
    };

    // Sent whole with its creation: one PUT to its key, made while it arrived.
    let whole = typed("jpeg", 600 * 1024, 7);
    let sha = sha256_hex(&whole);
    let r = upload_whole(&tus, &whole, &metadata("photo", &sha, attempt)).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(puts_to(&sha), 1, "{:?}", s3.requests());

    // Sent in chunks, as a phone on a slow link sends it: the creation's chunk starts no PUT
    // that would be abandoned at its end.
    let chunked = typed("jpeg", 600 * 1024, 8);
    let sha = sha256_hex(&chunked);
    let first = 256 * 1024;
    let r = tus
        .request(Method::POST, "/api/v1/uploads")
        .header("Upload-Length", chunked.len())
        .header("Upload-Metadata", metadata("photo", &sha, attempt))
        .header("Content-Type", "application/offset+octet-stream")
        .body(chunked[..first].to_vec())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    tus.send_rest(&location(&r), &chunked, first).await?;
    assert_eq!(puts_to(&sha), 0, "{:?}", s3.requests());
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha, chunked.len() as u64),
        "stored whole all the same"
    );
    Ok(())
}

/// A phone on a slow link whose creation's answer was lost never learned the upload's
/// `Location`: creating it again with the same `client_key` answers the upload already made and
/// where it stands, so the file goes on from there instead of starting again beside an orphan.
#[tokio::test]
async fn a_repeated_creation_with_the_same_client_key_answers_the_same_upload_and_its_offset()
-> anyhow::Result<()> {
    on_both(a_repeated_creation_with_the_same_client_key_answers_the_same_upload_and_its_offset_on)
        .await
}

async fn a_repeated_creation_with_the_same_client_key_answers_the_same_upload_and_its_offset_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 300_000, 21);
    let sha = sha256_hex(&data);
    let meta = keyed("photo", &sha, attempt, "queue-entry-1");
    let created = tus.create(data.len(), &meta).await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let at = location(&created);
    let sent = 100_000;
    let r = tus
        .patch(&at, 0, Bytes::copy_from_slice(&data[..sent]).into(), None)
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().await?);

    // The answer was lost: the phone creates the upload again, with the same key.
    let again = tus.create(data.len(), &meta).await?;
    assert_eq!(
        again.status(),
        StatusCode::CREATED,
        "{}",
        again.text().await?
    );
    assert_eq!(location(&again), at, "the upload already made");
    assert_eq!(offset_of(&again), Some(sent as u64), "where it stands");
    // Again with its first chunk (creation-with-upload): an upload standing further on does not
    // take the chunk; the phone reads the offset and goes on from there.
    let with_chunk = tus
        .create_with_body(data.len(), &meta, &data[..50_000])
        .await?;
    assert_eq!(with_chunk.status(), StatusCode::CREATED);
    assert_eq!(location(&with_chunk), at);
    assert_eq!(offset_of(&with_chunk), Some(sent as u64));
    assert_eq!(uploads_of(&server, &sha).await?.len(), 1, "one upload");

    // Finished from that offset, the file is linked once.
    tus.send_rest(&at, &data, sent).await?;
    assert_eq!(
        server.state.storage.rehash(&sha).await?,
        (sha.clone(), data.len() as u64),
        "stored whole, byte for byte"
    );
    let linked = media_of(&server, &sha).await?;
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0].target_id, attempt);
    // Asked once more, the same upload answers complete.
    let done = tus.create(data.len(), &meta).await?;
    assert_eq!(done.status(), StatusCode::CREATED);
    assert_eq!(location(&done), at);
    assert_eq!(offset_of(&done), Some(data.len() as u64));
    assert_eq!(
        uploads_of(&server, &sha).await?.len(),
        1,
        "still one upload"
    );
    assert_eq!(media_of(&server, &sha).await?.len(), 1, "still linked once");

    // An upload that has nothing yet takes a repeated creation's body, as a PATCH at 0 would.
    let other = typed("jpeg", 300_000, 22);
    let other_sha = sha256_hex(&other);
    let meta = keyed("photo", &other_sha, attempt, "queue-entry-2");
    let at = location(&tus.create(other.len(), &meta).await?);
    let r = tus
        .create_with_body(other.len(), &meta, &other[..sent])
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await?);
    assert_eq!(location(&r), at);
    assert_eq!(offset_of(&r), Some(sent as u64), "the body was kept");
    tus.send_rest(&at, &other, sent).await?;
    assert_eq!(
        server.state.storage.rehash(&other_sha).await?,
        (other_sha.clone(), other.len() as u64)
    );
    assert_eq!(uploads_of(&server, &other_sha).await?.len(), 1);
    assert_eq!(media_of(&server, &other_sha).await?.len(), 1);
    Ok(())
}

/// The key is the phone's name for its queue entry, kept per account: another account using the
/// same key for the same file, or the same key declared for another file, makes an upload of
/// its own.
#[tokio::test]
async fn a_client_key_answers_only_its_own_account_and_the_same_file() -> anyhow::Result<()> {
    on_both(a_client_key_answers_only_its_own_account_and_the_same_file_on).await
}

async fn a_client_key_answers_only_its_own_account_and_the_same_file_on(
    server: TestServer,
) -> anyhow::Result<()> {
    use sync_protocol::org::Role;
    let key = "queue-entry-7";
    let teacher = client_for(&server, "teacher").await?;
    // The school's lead sees the same school: the attempt is in scope for both.
    let lead = client_for(&server, "school_lead").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("m4a", 200_000, 23);
    let sha = sha256_hex(&data);
    let meta = keyed("audio", &sha, attempt, key);

    let mine = location(&teacher.create(data.len(), &meta).await?);
    let again = teacher.create(data.len(), &meta).await?;
    assert_eq!(
        location(&again),
        mine,
        "the same account is answered its upload"
    );
    let r = lead.create(data.len(), &meta).await?;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await?);
    let theirs = location(&r);
    assert_ne!(theirs, mine, "another account makes its own");
    assert_eq!(location(&lead.create(data.len(), &meta).await?), theirs);

    let other = typed("m4a", 200_000, 24);
    let other_sha = sha256_hex(&other);
    let r = teacher
        .create(other.len(), &keyed("audio", &other_sha, attempt, key))
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_ne!(location(&r), mine, "another file makes its own");

    let user_of = |role: Role| {
        server
            .home
            .users
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, u)| u.id)
    };
    let keyed_rows = upload::Entity::find()
        .filter(upload::Column::ClientKey.eq(key))
        .all(&server.state.db.read)
        .await?;
    let count = |role: Role| {
        keyed_rows
            .iter()
            .filter(|u| Some(u.user_id) == user_of(role))
            .count()
    };
    assert_eq!(count(Role::Teacher), 2, "{keyed_rows:?}");
    assert_eq!(count(Role::SchoolLead), 1, "{keyed_rows:?}");
    Ok(())
}

/// `client_key` is 1 to 100 characters of printable ASCII: anything else is refused with a
/// problem that names it, and no upload is made.
#[tokio::test]
async fn a_client_key_empty_too_long_or_not_printable_ascii_is_refused() -> anyhow::Result<()> {
    on_both(a_client_key_empty_too_long_or_not_printable_ascii_is_refused_on).await
}

async fn a_client_key_empty_too_long_or_not_printable_ascii_is_refused_on(
    server: TestServer,
) -> anyhow::Result<()> {
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 50_000, 25);
    let sha = sha256_hex(&data);
    let longest = "k".repeat(100);
    let too_long = "k".repeat(101);
    for bad in ["", too_long.as_str(), "entry\u{7}1", "entry\n1", "条目-1"] {
        let r = tus
            .create(data.len(), &keyed("photo", &sha, attempt, bad))
            .await?;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{bad:?}"
        );
        let body: serde_json::Value = r.json().await?;
        assert_eq!(body["code"], "invalid_parameter", "{bad:?}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("client_key"),
            "{bad:?}: {body}"
        );
    }
    assert!(
        uploads_of(&server, &sha).await?.is_empty(),
        "no upload made"
    );
    let r = tus
        .create(data.len(), &keyed("photo", &sha, attempt, &longest))
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED, "100 characters are enough");
    let r = tus
        .create(data.len(), &keyed("photo", &sha, attempt, "entry 1 ~!"))
        .await?;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "spaces and signs are printable"
    );
    Ok(())
}

/// Phones prepare photos as the server says (`PHOTO_LONG_SIDE`, `PHOTO_QUALITY`), any role may
/// ask, and only with a token.
#[tokio::test]
async fn the_media_profile_is_what_the_server_is_configured_with() -> anyhow::Result<()> {
    use sync_protocol::media::MediaProfile;
    let server = TestServer::start().await?;
    for user in ["teacher", "supervisor"] {
        let token = server.token(user).await?;
        let r = server.get("/api/v1/media/profile", &token).await?;
        assert_eq!(r.status, StatusCode::OK, "{user}: {}", r.body.text());
        let profile: MediaProfile = serde_json::from_slice(&r.body.0)?;
        assert_eq!(
            profile,
            MediaProfile {
                photo_long_side: 2048,
                photo_quality: 85,
                preview_long_side: 320,
            }
        );
    }
    let anonymous = server
        .request(Method::GET, "/api/v1/media/profile", None, None)
        .await?;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.is_client_problem(), "{}", anonymous.body.text());
    let doc = server
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await?
        .body
        .json();
    assert!(
        doc["paths"]["/api/v1/media/profile"]["get"].is_object(),
        "documented"
    );
    assert!(
        doc["components"]["schemas"]["MediaProfile"].is_object(),
        "its schema documented"
    );

    let smaller = TestServer::builder()
        .with_env("PHOTO_LONG_SIDE", "1600")
        .with_env("PHOTO_PREVIEW_SIDE", "0")
        .start()
        .await?;
    let token = smaller.token("teacher").await?;
    let r = smaller.get("/api/v1/media/profile", &token).await?;
    assert_eq!(r.status, StatusCode::OK);
    let profile: MediaProfile = serde_json::from_slice(&r.body.0)?;
    assert_eq!(
        profile,
        MediaProfile {
            photo_long_side: 1600,
            photo_quality: 85,
            preview_long_side: 0,
        }
    );
    Ok(())
}

#[tokio::test]
async fn a_preview_names_a_photo_by_its_hash_is_a_small_photo_and_is_linked_as_one()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let photo_sha = sha256_hex(b"the photo to come");
    let previewing = |kind: &str, sha: &str, of: &str| {
        format!(
            "{},{} {}",
            metadata(kind, sha, attempt),
            sync_protocol::media::PREVIEW_OF_METADATA,
            B64.encode(of)
        )
    };
    let small = typed("jpeg", 20_000, 31);
    let small_sha = sha256_hex(&small);
    let large = typed("jpeg", 300_000, 32);
    let refused = [
        (
            small.len(),
            previewing("photo", &small_sha, "not-a-hash"),
            StatusCode::BAD_REQUEST,
        ),
        (
            small.len(),
            previewing("audio", &small_sha, &photo_sha),
            StatusCode::BAD_REQUEST,
        ),
        (
            large.len(),
            previewing("photo", &sha256_hex(&large), &photo_sha),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (length, declared, status) in refused {
        let r = tus.create(length, &declared).await?;
        assert_eq!(r.status(), status, "{declared}");
        let body: serde_json::Value = r.json().await?;
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("preview")
                || body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("preview_of"),
            "{body}"
        );
    }
    let r = upload_whole(&tus, &small, &previewing("photo", &small_sha, &photo_sha)).await?;
    assert!(r.status().is_success(), "{}", r.status());
    let linked = stored(&server, &small_sha).await?;
    assert_eq!(linked.preview_of.as_deref(), Some(photo_sha.as_str()));
    Ok(())
}

/// An attempt in the school of the other district's teacher.
async fn other_school_attempt(server: &TestServer) -> anyhow::Result<Uuid> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    let school = server.other.users[0].1.org_unit_id;
    let cases: Vec<Uuid> = server
        .other
        .cases
        .iter()
        .filter(|c| c.school_id == school)
        .map(|c| c.id)
        .collect();
    let row = server::db::entity::attempt::Entity::find()
        .filter(server::db::entity::attempt::Column::CaseId.is_in(cases))
        .one(&server.state.db.read)
        .await?;
    Ok(anyhow::Context::context(row, "an attempt in the other teacher's school")?.id)
}

#[tokio::test]
async fn knowing_a_stored_file_s_hash_gives_neither_the_file_nor_its_existence()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let photo = typed("jpeg", 40_000, 41);
    let sha = sha256_hex(&photo);
    let teacher = client_for(&server, "teacher").await?;
    let r = upload_whole(
        &teacher,
        &photo,
        &metadata("photo", &sha, server.school_attempt().await?),
    )
    .await?;
    assert!(r.status().is_success(), "{}", r.status());

    // A teacher of another district declares the same hash and length for an attempt of theirs:
    // the upload does not finish at once (which would link the other district's photo and say
    // that it exists); the bytes are asked for.
    let stranger = client_for(&server, "b-teacher").await?;
    let theirs = other_school_attempt(&server).await?;
    let r = stranger
        .create(photo.len(), &metadata("photo", &sha, theirs))
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(offset_of(&r), Some(0), "finished at once without the bytes");
    assert!(
        media_of(&server, &sha)
            .await?
            .iter()
            .all(|m| m.target_id != theirs),
        "linked to the stranger's attempt"
    );

    // Whoever declares another length for a file they may read sends it too: the size stored
    // comes from the bytes, never from a declaration.
    let attempt = server.school_attempt().await?;
    let r = teacher.create(3, &metadata("photo", &sha, attempt)).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        offset_of(&r),
        Some(0),
        "a declared length of 3 finished at once"
    );
    let r = teacher.create(0, &metadata("photo", &sha, attempt)).await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an empty file");
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["code"], "invalid_parameter", "{body}");
    assert!(
        media_of(&server, &sha)
            .await?
            .iter()
            .all(|m| m.size == photo.len() as i64),
        "a media object with a declared size"
    );
    Ok(())
}

#[tokio::test]
async fn tus_answers_carry_its_headers_its_date_format_and_refuse_what_is_not_supported()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 30_000, 51);
    let sha = sha256_hex(&data);

    // `Upload-Expires` in IMF-fixdate: two-digit day, `GMT`.
    let r = tus
        .create(data.len(), &metadata("photo", &sha, attempt))
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let expires = r.headers()["upload-expires"].to_str()?.to_owned();
    let parsed = chrono::NaiveDateTime::parse_from_str(&expires, "%a, %d %b %Y %H:%M:%S GMT");
    assert!(
        parsed.is_ok() && expires.as_bytes().get(7) == Some(&b' '),
        "not IMF-fixdate: {expires}"
    );
    let at = location(&r);

    // A refusal carries `Tus-Resumable` like any tus answer; 412 says which version is spoken.
    let r = tus
        .request(Method::HEAD, &format!("/api/v1/uploads/{}", Uuid::now_v7()))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let r = server
        .request(Method::POST, "/api/v1/uploads", Some(&tus.token), None)
        .await?;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.headers["tus-version"], "1.0.0");

    // Concatenation is not spoken: refused at creation, before any byte is sent.
    let r = tus
        .request(Method::POST, "/api/v1/uploads")
        .header("Upload-Length", data.len())
        .header("Upload-Metadata", metadata("photo", &sha, attempt))
        .header("Upload-Concat", "partial")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await?;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Upload-Concat"),
        "{body}"
    );

    // A client that may only send POST overrides the method (tus MUST).
    let half = data.len() / 2;
    let r = tus
        .request(Method::POST, &at)
        .header("X-HTTP-Method-Override", "PATCH")
        .header("Upload-Offset", 0)
        .header("Content-Type", "application/offset+octet-stream")
        .body(data[..half].to_vec())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&r), Some(half as u64));

    // A PATCH on a finished upload is a client's mistake: 4xx, and nothing left behind.
    let r = tus
        .patch(&at, half as u64, data[half..].to_vec().into(), None)
        .await?;
    assert!(r.status().is_success(), "{}", r.status());
    let again = tus
        .patch(&at, data.len() as u64, vec![1, 2, 3].into(), None)
        .await?;
    assert!(again.status().is_client_error(), "{}", again.status());
    assert_eq!(media_of(&server, &sha).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_administrator_attaches_no_evidence_to_an_attempt_it_sees() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 30_000, 52);
    let sha = sha256_hex(&data);
    for (user, expected) in [
        ("admin", StatusCode::FORBIDDEN),
        ("supervisor", StatusCode::CREATED),
    ] {
        let tus = client_for(&server, user).await?;
        let r = tus
            .create(data.len(), &metadata("photo", &sha, attempt))
            .await?;
        assert_eq!(r.status(), expected, "{user}");
    }
    Ok(())
}

#[tokio::test]
async fn a_browser_on_a_configured_origin_may_upload_and_read_the_tus_headers() -> anyhow::Result<()>
{
    let origin = "https://console.example.cn";
    let server = TestServer::builder()
        .with_env(
            "CORS_ORIGINS",
            &format!("{origin}, https://other.example.cn"),
        )
        .start()
        .await?;
    let http = reqwest::Client::new();
    for path in [
        "/api/v1/uploads".to_owned(),
        format!("/api/v1/uploads/{}", Uuid::now_v7()),
    ] {
        let r = http
            .request(Method::OPTIONS, format!("{}{path}", server.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PATCH")
            .header(
                "Access-Control-Request-Headers",
                "authorization, tus-resumable, upload-offset, content-type",
            )
            .send()
            .await?;
        assert!(
            r.status().is_success(),
            "preflight of {path}: {}",
            r.status()
        );
        let allowed = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_lowercase()
        };
        assert_eq!(allowed("access-control-allow-origin"), origin);
        assert!(allowed("access-control-allow-methods").contains("patch"));
        assert!(allowed("access-control-allow-headers").contains("upload-offset"));
    }

    let tus = client_for(&server, "teacher").await?;
    let attempt = server.school_attempt().await?;
    let data = typed("jpeg", 30_000, 53);
    let r = tus
        .request(Method::POST, "/api/v1/uploads")
        .header("Origin", origin)
        .header("Upload-Length", data.len())
        .header(
            "Upload-Metadata",
            metadata("photo", &sha256_hex(&data), attempt),
        )
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()?
        .to_lowercase();
    for header in ["location", "upload-offset", "tus-resumable"] {
        assert!(exposed.contains(header), "{header} not exposed: {exposed}");
    }

    // Another origin gets no permission.
    let r = http
        .request(Method::OPTIONS, format!("{}/api/v1/uploads", server.url))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await?;
    assert!(r.headers().get("access-control-allow-origin").is_none());
    Ok(())
}
