//! Headless Chromium driven through chromedriver (WebDriver), for the console's tests: Debian's
//! `chromium` and `chromium-driver`, started with a fresh profile on a free port and stopped when
//! dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The arguments DEPENDENCIES.md gives for a headless Chromium on this machine.
const ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",
];

/// A running chromedriver and a browser session on it.
pub struct Chromium {
    /// The WebDriver session.
    pub client: fantoccini::Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

/// The chromedriver process, stopped when dropped (even when a session never started).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _stopped = self.0.kill();
        let _reaped = self.0.wait();
    }
}

impl Chromium {
    /// Starts chromedriver and a headless Chromium with a `width`×`height` window.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Driver(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    anyhow::anyhow!("starting chromedriver (apt-get install chromium-driver): {e}")
                })?,
        );
        let profile = tempfile::tempdir()?;
        let downloads = tempfile::tempdir()?;
        let mut args: Vec<String> = ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={width},{height}"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            // chromedriver listens on loopback in plain HTTP: no TLS in between.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let mut builder = fantoccini::ClientBuilder::new(connector);
            match builder
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() > Duration::from_secs(20) => {
                    anyhow::bail!("chromedriver on {url} did not start a session: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Self {
            client,
            _driver: driver,
            _profile: profile,
            downloads,
        })
    }

    /// The file named `name` once the browser has finished saving it in its downloads folder
    /// (waiting up to 20 seconds), as bytes.
    pub async fn downloaded(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.downloads.path().join(name);
        let started = Instant::now();
        loop {
            // Chromium writes to a `.crdownload` file and renames it when done.
            if path.exists() {
                return Ok(std::fs::read(&path)?);
            }
            if started.elapsed() > Duration::from_secs(20) {
                let saved: Vec<_> = std::fs::read_dir(self.downloads.path())?
                    .filter_map(|e| e.ok().map(|e| e.file_name()))
                    .collect();
                anyhow::bail!("{name} was not downloaded; the folder holds {saved:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot of the page as `docs/console/<name>.png` when `UPDATE_SCREENSHOTS` is
    /// set (the docs show what the tests saw); answers the PNG either way.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let png = self.client.screenshot().await?;
        anyhow::ensure!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/console");
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join(format!("{name}.png")), &png)?;
        }
        Ok(png)
    }
}
