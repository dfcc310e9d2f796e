//! `fieldctl`: acts as a phone against a server. Its data (device id, session) lives in the
//! directory given by `--dir`, so one machine can play several phones.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mobile_shared::Client;
use serde::{Deserialize, Serialize};
use sync_protocol::DeviceId;
use sync_protocol::auth::TokenPair;

/// Acts as a phone of the dropout field app.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The phone's data directory.
    #[arg(long, default_value = "./phone")]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in; the password is read from standard input (one line).
    Login {
        /// The server, for example http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// List the cases this phone's user may see.
    Cases,
    /// End the session.
    Logout,
}

/// What the phone keeps between runs.
#[derive(Debug, Serialize, Deserialize)]
struct Phone {
    server: String,
    device_id: DeviceId,
    session: Option<TokenPair>,
}

fn load(dir: &Path) -> anyhow::Result<Phone> {
    let path = dir.join("phone.json");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {}; run `fieldctl login` first", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

fn save(dir: &Path, phone: &Phone) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("phone.json");
    let tmp = dir.join("phone.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(phone)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))
}

fn client(phone: &Phone) -> anyhow::Result<Client> {
    let session = phone
        .session
        .clone()
        .context("not signed in; run `fieldctl login`")?;
    Ok(Client::with_session(
        &phone.server,
        phone.device_id,
        session,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Login { server, username } => {
            let device_id = load(&cli.dir).map(|p| p.device_id).unwrap_or_default();
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password")?;
            let mut client = Client::new(&server, device_id);
            let pair = client
                .login(&username, password.trim_end_matches(['\r', '\n']))
                .await?
                .clone();
            println!(
                "signed in as {} ({})",
                pair.user.display_name,
                pair.user.role.as_str()
            );
            save(
                &cli.dir,
                &Phone {
                    server,
                    device_id,
                    session: Some(pair),
                },
            )
        }
        Command::Cases => {
            let mut phone = load(&cli.dir)?;
            let mut client = client(&phone)?;
            let cases = client.all_cases().await?;
            for case in &cases {
                println!(
                    "{}  {:<18} {}  {}",
                    case.id,
                    case.status.as_str(),
                    case.opened_on,
                    case.student_name
                );
            }
            println!("{} cases", cases.len());
            phone.session = client.session().cloned();
            save(&cli.dir, &phone)
        }
        Command::Logout => {
            let mut phone = load(&cli.dir)?;
            let mut client = client(&phone)?;
            client.logout().await?;
            phone.session = None;
            println!("signed out");
            save(&cli.dir, &phone)
        }
    }
}
