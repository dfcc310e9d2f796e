//! Health, readiness, metrics and the OpenAPI document.

use reqwest::{Method, StatusCode};
use server::storage::StorageConfig;
use tests::TestServer;

#[tokio::test]
async fn health_readiness_and_metrics_answer() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let health = server.request(Method::GET, "/healthz", None, None).await?;
    assert_eq!(health.status, StatusCode::OK);
    let ready = server.request(Method::GET, "/readyz", None, None).await?;
    assert_eq!(ready.status, StatusCode::OK);
    server.token("teacher").await?;
    let metrics = server.request(Method::GET, "/metrics", None, None).await?;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .body
            .text()
            .contains(r#"route="/api/v1/auth/login",status="200""#),
        "{}",
        metrics.body.text()
    );
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let doc = server
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await?;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.body.json();
    let paths = doc["paths"].as_object().expect("paths");
    for expected in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/students/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(expected), "{expected} documented");
    }
    // Every documented operation is routed: no documented path answers "no such route".
    let id = uuid::Uuid::now_v7().to_string();
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
            let r = server
                .request(method.clone(), &path.replace("{id}", &id), None, None)
                .await?;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                r.body.json()["detail"] != "no such route",
                "{method} {path} is routed"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn readiness_checks_the_media_store_too() -> anyhow::Result<()> {
    let s3 = tests::s3::S3Server::start().await?;
    // The fixtures keep their recordings in the store: they load over the reachable one.
    let server = TestServer::builder().with_s3(&s3).start().await?;
    let token = server.token("teacher").await?;
    let attempt = server.school_attempt().await?;
    let with_bucket = |bucket: &str, config| match config {
        StorageConfig::S3 {
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            allow_http,
            virtual_hosted,
            ..
        } => StorageConfig::S3 {
            endpoint,
            bucket: bucket.into(),
            region,
            access_key_id,
            secret_access_key,
            allow_http,
            virtual_hosted,
        },
        local => local,
    };
    for (storage, expected) in [
        (s3.config(), StatusCode::OK),
        (
            s3.config_with_secret("a-wrong-secret"),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        // A bucket that does not exist answers a lookup of a missing object with 404 too.
        (
            with_bucket("no-such-bucket", s3.config()),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ] {
        let wrong_secret = matches!(&storage, StorageConfig::S3 { secret_access_key, .. }
            if secret_access_key.0 != tests::s3::SECRET_KEY);
        let instance = server.instance_on(storage).await?;
        let ready = reqwest::get(format!("{}/readyz", instance.url)).await?;
        let status = ready.status();
        let text = ready.text().await?;
        assert_eq!(status, expected, "{text}");
        if expected != StatusCode::OK {
            assert!(text.contains("media store unreachable"), "{text}");
        }
        if wrong_secret {
            // An upload the store refuses is told to come back (503), not a bare 500.
            let photo = tests::files::jpeg(64, 48);
            let b64 = |v: &str| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(v)
            };
            let metadata = format!(
                "kind {},sha256 {},filename {},attempt_id {}",
                b64("photo"),
                b64(&server::digest::sha256_hex(&photo)),
                b64("visit.jpg"),
                b64(&attempt.to_string())
            );
            let r = reqwest::Client::new()
                .post(format!("{}/api/v1/uploads", instance.url))
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", photo.len())
                .header("Upload-Metadata", metadata)
                .header("Content-Type", "application/offset+octet-stream")
                .body(photo)
                .send()
                .await?;
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            let body: serde_json::Value = r.json().await?;
            assert_eq!(body["code"], "unavailable", "{body}");
        }
    }
    Ok(())
}

/// Counts the events logged at `level` whose target starts with `target`.
struct CountEvents {
    level: tracing::Level,
    target: &'static str,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountEvents {
    /// Counts into the returned counter while the guard lives (on this thread, which in a
    /// `#[tokio::test]` runs the server's tasks too).
    fn start(
        level: tracing::Level,
        target: &'static str,
    ) -> (
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
        tracing::subscriber::DefaultGuard,
    ) {
        use tracing_subscriber::layer::SubscriberExt as _;
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let layer = Self {
            level,
            target,
            count: count.clone(),
        };
        let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        (count, guard)
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountEvents {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        if *meta.level() == self.level && meta.target().starts_with(self.target) {
            self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[tokio::test]
async fn a_client_error_is_not_logged_as_an_error() -> anyhow::Result<()> {
    let (errors, _logging) = CountEvents::start(tracing::Level::ERROR, "");
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let refused = [
        (
            Method::GET,
            format!("/api/v1/cases/{}", uuid::Uuid::now_v7()),
            Some(token.as_str()),
        ),
        (Method::GET, "/api/v1/cases".to_owned(), None),
        (
            Method::GET,
            "/api/v1/cases?limit=nope".to_owned(),
            Some(token.as_str()),
        ),
    ];
    for (method, path, bearer) in refused {
        let r = server.request(method, &path, bearer, None).await?;
        assert!(r.status.is_client_error(), "{path}: {}", r.status);
    }
    let bad_login = server
        .post_json("/api/v1/auth/login", r#"{"username":"teacher","password":"wrong","device_id":"0192b0b0-0000-7000-8000-000000000009"}"#)
        .await?;
    assert_eq!(bad_login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        errors.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "4xx answers logged at ERROR"
    );
    Ok(())
}

#[tokio::test]
async fn a_photo_that_does_not_decode_is_decoded_once_not_on_every_thumbnail_request()
-> anyhow::Result<()> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::media_object;

    let (decodes, _logging) = CountEvents::start(tracing::Level::WARN, "server::media::derive");
    let server = TestServer::start().await?;
    let attempt = server.school_attempt().await?;
    // A photo cut short: its header is a PNG's, its picture is not all there.
    let noise = tests::files::blob(64 * 64 * 3, 7);
    let picture = image::RgbImage::from_raw(64, 64, noise).expect("64×64 pixels");
    let mut whole = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut whole, image::ImageFormat::Png)?;
    let whole = whole.into_inner();
    let photo = whole[..whole.len() / 2].to_vec();
    let token = server.token("teacher").await?;
    let (r, sha) = server.upload_whole(&token, "photo", photo, attempt).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let media = media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(&sha))
        .one(&server.state.db.read)
        .await?
        .expect("the photo is evidence all the same");
    // The background turn comes once uploads pause: it stores what it found (an empty
    // thumbnail, for a photo that does not decode), which nothing else has asked for yet.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while server.state.storage.thumbnail(&sha).await?.is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        anyhow::Ok(())
    })
    .await
    .map_err(|_| anyhow::anyhow!("the photo was never decoded in the background"))??;
    assert_eq!(
        decodes.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "decoded in the background"
    );
    for _ in 0..3 {
        let r = server
            .get(&format!("/api/v1/media/{}/thumbnail", media.id), &token)
            .await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        decodes.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "decoded once, remembered after"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs openapi-spec-validator (pip install openapi-spec-validator); .ci/run installs it and runs ignored tests"]
async fn the_openapi_document_is_valid_openapi_3_1() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let doc = server
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await?;
    assert_eq!(doc.status, StatusCode::OK);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &doc.body.0)?;
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
