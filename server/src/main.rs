//! `server`: runs the service (the default), loads the demo district, and manages accounts.

use std::io::BufRead as _;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use server::config::Config;
use server::{AppState, demo, records};
use sync_protocol::org::{OrgUnitKind, Role};
use tracing_subscriber::EnvFilter;

/// The sync and case-ledger service for dropout field work. Configuration comes from the
/// environment (see README); with none, it runs on SQLite and a media folder under `./data`.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Load the demo district (if not loaded yet) before serving.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (what runs with no command).
    Serve {
        /// Load the demo district (if not loaded yet) before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Load the demo district and exit.
    Demo,
    /// Manage org units.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the holiday schedules working days are counted with.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Check the cases' ledgers (hash chains, records, stored files) and the audit log's chain
    /// for tampering; exits 1 if anything does not match.
    Verify {
        /// Only this case.
        #[arg(long)]
        case: Option<uuid::Uuid>,
    },
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// Load (or replace) a year's schedule from a JSON file shaped like
    /// `server/calendars/cn-2026.json`.
    Load {
        /// The file.
        file: std::path::PathBuf,
    },
    /// List the years loaded and the years missing.
    List,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Add an org unit.
    Add {
        /// district, township, village or school.
        #[arg(long)]
        kind: OrgUnitKind,
        /// The name shown to users.
        #[arg(long)]
        name: String,
        /// A unique code.
        #[arg(long)]
        code: String,
        /// The parent's code (none for a district).
        #[arg(long)]
        parent: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from standard input (one line).
    Add {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Name shown to colleagues.
        #[arg(long)]
        display_name: String,
        /// teacher, school_lead, village_member, township_officer, supervisor or admin.
        #[arg(long)]
        role: Role,
        /// The code of the user's org unit.
        #[arg(long)]
        org_unit: String,
    },
    /// Set a new password, read from standard input (one line); ends every session.
    ResetPassword {
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// Stop an account from signing in; its sessions end at once.
    Disable {
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// Let a disabled account sign in again.
    Enable {
        /// Login name.
        #[arg(long)]
        username: String,
    },
}

/// Disables or enables the account called `username`.
async fn set_disabled(state: &AppState, username: &str, disabled: bool) -> anyhow::Result<()> {
    let txn = sea_orm::TransactionTrait::begin(&state.db.write).await?;
    let account = server::auth::accounts::by_username(&txn, username).await?;
    server::auth::accounts::set_disabled(&txn, account.id, disabled).await?;
    txn.commit().await?;
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn load_demo(state: &AppState) -> anyhow::Result<()> {
    let spec = demo::DemoSpec::standard();
    if demo::is_loaded(state, &spec.code).await? {
        println!("demo district already loaded");
    } else {
        println!("loading the demo district ({} students)…", spec.students);
        let loaded = demo::load(state, &spec).await?;
        println!(
            "loaded {} townships and {} cases",
            loaded.townships.len(),
            loaded.cases.len()
        );
    }
    println!("demo accounts (password `{}`):", spec.password);
    for role in Role::ALL {
        println!("  {:<18} {}", role.as_str(), role.as_str());
    }
    Ok(())
}

async fn serve(state: AppState) -> anyhow::Result<()> {
    let bind = state.config.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("serving on {url} (OpenAPI document at {url}/api/v1/openapi.json)");
    server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .context("serving")
}

/// Verifies one case or every case, printing what does not match and progress on stderr.
async fn verify(state: &AppState, only: Option<uuid::Uuid>) -> anyhow::Result<()> {
    use server::db::cases;
    let db = &state.db.read;
    let total = match only {
        Some(_) => 1,
        None => cases::count_all(db).await?,
    };
    let (mut checked, mut broken, mut after) = (0u64, 0u64, None);
    loop {
        let ids: Vec<uuid::Uuid> = match only {
            Some(id) if after.is_none() => vec![id],
            Some(_) => Vec::new(),
            None => cases::id_page(db, after, 500).await?,
        };
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = Some(last);
        for id in ids {
            let report = server::chain::verify::verify_case(db, &state.storage, id).await?;
            checked += 1;
            if !report.intact {
                broken += 1;
                println!("case {id}: {} problem(s)", report.findings.len());
                for f in &report.findings {
                    let link = f.seq.map_or("-".to_owned(), |s| s.to_string());
                    println!(
                        "  link {link}: {} {}: {}",
                        f.entity_kind, f.entity_id, f.problem
                    );
                }
            }
            if checked % 1000 == 0 {
                eprintln!("verified {checked}/{total} cases");
            }
        }
    }
    println!("{checked} case(s) verified, {broken} with problems");
    let audit = server::audit::verify(db).await?;
    println!(
        "audit log: {} entries ({} from before the chain began), {}",
        audit.entries,
        audit.unchained,
        if audit.problems.is_empty() {
            "intact"
        } else {
            "broken"
        }
    );
    for problem in &audit.problems {
        println!("  {problem}");
    }
    if broken > 0 {
        anyhow::bail!("{broken} case ledger(s) do not match");
    }
    anyhow::ensure!(
        audit.problems.is_empty(),
        "the audit log does not hold together"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::memory::return_large_blocks();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let config = Config::from_env()?;
    tracing::info!(?config, "configuration");
    server::data_dir::keep_private(&config.data_dir).with_context(|| {
        format!(
            "closing the data folder {} to others",
            config.data_dir.display()
        )
    })?;
    let state = AppState::build(config).await?;
    match cli.command.unwrap_or(Command::Serve { demo: cli.demo }) {
        Command::Serve { demo } => {
            if demo || cli.demo {
                load_demo(&state).await?;
            }
            serve(state).await
        }
        Command::Demo => load_demo(&state).await,
        Command::Org(OrgCommand::Add {
            kind,
            name,
            code,
            parent,
        }) => {
            let parent = match parent {
                Some(code) => Some(records::org_unit_by_code(&state.db.write, &code).await?),
                None => None,
            };
            let unit =
                records::org_unit(&state.db.write, kind, &name, &code, parent.as_ref()).await?;
            println!("added {} `{}` ({})", unit.kind, unit.code, unit.id);
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            display_name,
            role,
            org_unit,
        }) => {
            let unit = records::org_unit_by_code(&state.db.write, &org_unit).await?;
            let password = read_password()?;
            let user = records::user(
                &state.db.write,
                &username,
                &display_name,
                role,
                &unit,
                &password,
            )
            .await?;
            println!("added {} `{}` ({})", user.role, user.username, user.id);
            Ok(())
        }
        Command::Calendar(CalendarCommand::Load { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let schedule: sync_protocol::calendar::YearSchedule = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a holiday schedule", file.display()))?;
            server::calendar::store::save(&state.db.write, &schedule, None).await?;
            println!(
                "loaded the {} schedule ({})",
                schedule.year, schedule.source
            );
            Ok(())
        }
        Command::Calendar(CalendarCommand::List) => {
            let calendar = state.calendar().await?;
            for (year, source) in calendar.years() {
                println!("{year}  {source}");
            }
            for year in calendar.missing(chrono::Utc::now().date_naive()) {
                println!("{year}  missing: load its schedule");
            }
            Ok(())
        }
        Command::Verify { case } => verify(&state, case).await,
        Command::User(UserCommand::ResetPassword { username }) => {
            let password = read_password()?;
            server::auth::accounts::reset_password(&state.db.write, &username, &password).await?;
            println!("password of `{username}` reset; every session of the account ended");
            Ok(())
        }
        Command::User(UserCommand::Disable { username }) => {
            set_disabled(&state, &username, true).await?;
            println!("`{username}` disabled; every session of the account ended");
            Ok(())
        }
        Command::User(UserCommand::Enable { username }) => {
            set_disabled(&state, &username, false).await?;
            println!("`{username}` may sign in again");
            Ok(())
        }
    }
}
