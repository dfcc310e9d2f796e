//! The benchmark's server as a child process (this binary with a serve argument), so that the
//! memory measured (`VmHWM` of `/proc/<pid>/status`) is the server's alone.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// The server process; killed when dropped, and then its files removed.
pub struct ServerProcess {
    child: Child,
    /// The child's temporary folder (`TMPDIR`): a killed process never removes its own.
    _files: tempfile::TempDir,
    /// Where it serves.
    pub url: String,
    /// The rest of its `ready <url> …` line.
    pub words: Vec<String>,
}

impl ServerProcess {
    /// Starts this binary with `mode` and `env`, and waits for its `ready <url> …` line.
    pub fn start(mode: &str, env: &[(&str, String)]) -> anyhow::Result<Self> {
        let files = tempfile::tempdir().context("a folder for the server's files")?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg(mode)
            .env("TMPDIR", files.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().context("starting the server process")?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut words = line.split_whitespace().map(str::to_owned);
        let (Some(ready), Some(url)) = (words.next(), words.next()) else {
            anyhow::bail!("the server process did not start: {line:?}");
        };
        anyhow::ensure!(
            ready == "ready",
            "the server process did not start: {line:?}"
        );
        Ok(Self {
            child,
            _files: files,
            url,
            words: words.collect(),
        })
    }

    /// Waits until the server stops using the processor (background work is done).
    pub async fn wait_idle(&self) -> anyhow::Result<()> {
        let busy_ticks = || -> anyhow::Result<u64> {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
            // Fields after the command name: state is the 3rd, utime and stime the 14th, 15th.
            let after_name = stat.rsplit_once(')').context("a /proc stat line")?.1;
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            let [utime, stime] = fields.get(11..13).context("utime and stime")? else {
                anyhow::bail!("utime and stime in {stat:?}");
            };
            Ok(utime.parse::<u64>()? + stime.parse::<u64>()?)
        };
        let mut before = busy_ticks()?;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let now = busy_ticks()?;
            // Under a tenth of a core over half a second (ticks are 10 ms).
            if now - before < 5 {
                return Ok(());
            }
            before = now;
        }
    }

    /// Starts the server's peak resident set (`VmHWM`) again from what it holds now.
    pub fn reset_peak_memory(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .context("resetting the server's peak RSS")
    }

    /// `VmHWM` (peak resident set) and `VmRSS` of the server, in MiB.
    pub fn memory_mib(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> anyhow::Result<f64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("{name} in /proc/<pid>/status"))?;
            let kib: f64 = line
                .split_whitespace()
                .nth(1)
                .context("a number")?
                .parse()?;
            Ok(kib / 1024.0)
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
