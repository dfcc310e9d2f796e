//! A real S3-compatible server on loopback for the tests: `s3s-fs` behind `s3s`, which checks
//! request signatures (a wrong key is refused), serving a directory in a temporary folder.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use server::config::Secret;
use server::storage::StorageConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// The access key the test server accepts.
pub const ACCESS_KEY: &str = "test-access-key";
/// The secret key the test server accepts.
pub const SECRET_KEY: &str = "test-secret-key-1234567890";
/// The bucket the test server holds.
pub const BUCKET: &str = "media";

/// A running S3 server; it stops when the test's runtime ends.
pub struct S3Server {
    /// The endpoint, like `http://127.0.0.1:41234`.
    pub endpoint: String,
    /// The directory behind it.
    pub root: PathBuf,
    /// The connections it serves.
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    /// Every request it was asked, as `<operation> <path>`.
    requests: Arc<Mutex<Vec<String>>>,
    /// What came in over the wire, for tests to wait on.
    traffic: Arc<Traffic>,
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts a server with one empty bucket.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join(BUCKET))?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| anyhow::anyhow!("s3s-fs: {e:?}"))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let requests = Arc::new(Mutex::new(Vec::new()));
        builder.set_access(Recorder(requests.clone()));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let connections = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let served = connections.clone();
        let traffic = Arc::new(Traffic::default());
        let counted = traffic.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = service.clone();
                let traffic = counted.clone();
                let connection = tokio::spawn(async move {
                    let stream = Counted {
                        inner: stream,
                        traffic: traffic.clone(),
                    };
                    let _ = Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    traffic.ended.fetch_add(1, Ordering::SeqCst);
                    traffic.changed.notify_waiters();
                });
                if let Ok(mut served) = served.lock() {
                    served.retain(|c| !c.is_finished());
                    served.push(connection.abort_handle());
                }
            }
        });
        Ok(Self {
            endpoint,
            root,
            connections,
            requests,
            traffic,
            _dir: dir,
        })
    }

    /// Bytes received so far over every connection (requests with their bodies).
    pub fn received(&self) -> u64 {
        self.traffic.received.load(Ordering::SeqCst)
    }

    /// Connections that have ended so far (closed by the client, cut, or dropped mid-request).
    pub fn connections_ended(&self) -> u64 {
        self.traffic.ended.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds of this server (checked each time bytes arrive or a connection
    /// ends), failing after 20 s with `what`.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&Self) -> bool) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let changed = self.traffic.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(self) {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                anyhow::bail!("the S3 server never saw {what}");
            }
        }
    }

    /// The storage configuration for this server, with `secret` as the secret key.
    pub fn config_with_secret(&self, secret: &str) -> StorageConfig {
        StorageConfig::S3 {
            endpoint: self.endpoint.clone(),
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: Secret(secret.into()),
            allow_http: true,
            virtual_hosted: false,
        }
    }

    /// The storage configuration for this server.
    pub fn config(&self) -> StorageConfig {
        self.config_with_secret(SECRET_KEY)
    }

    /// Every request that reached its access check so far, as `<operation> <path>`, like
    /// `PutObject /media/originals/sha256/ab/abcd…`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Drops every connection open now, as a store restarting or a network cut would; requests
    /// on them fail, and later ones are served.
    pub fn cut_connections(&self) {
        if let Ok(mut served) = self.connections.lock() {
            for connection in served.drain(..) {
                connection.abort();
            }
        }
    }
}

/// Writes down each request, then lets it through if it is signed (as s3s does by default).
struct Recorder(Arc<Mutex<Vec<String>>>);

#[async_trait::async_trait]
impl S3Access for Recorder {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if let Ok(mut requests) = self.0.lock() {
            requests.push(format!("{} {}", cx.s3_op().name(), cx.uri().path()));
        }
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(s3_error!(AccessDenied, "Signature is required")),
        }
    }
}

/// Counters of what the server received, and a signal each time one moves.
#[derive(Default)]
struct Traffic {
    received: AtomicU64,
    ended: AtomicU64,
    changed: Notify,
}

/// A connection whose incoming bytes are counted.
struct Counted {
    inner: tokio::net::TcpStream,
    traffic: Arc<Traffic>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        if read > 0 {
            self.traffic.received.fetch_add(read, Ordering::SeqCst);
            self.traffic.changed.notify_waiters();
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
