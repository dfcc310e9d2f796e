//! `server`: runs the service (the default), loads the demo district, and manages accounts.
//! This file parses the arguments and calls one function of `server::commands` per command.

use clap::{Parser, Subcommand};
use server::commands;
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
    /// for tampering, and every case's history against the case machine's rules; exits 1 if
    /// anything does not match.
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::memory::return_large_blocks();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let state = commands::start().await?;
    match cli.command.unwrap_or(Command::Serve { demo: cli.demo }) {
        Command::Serve { demo } => commands::serve(state, demo || cli.demo).await,
        Command::Demo => commands::load_demo(&state).await,
        Command::Org(OrgCommand::Add {
            kind,
            name,
            code,
            parent,
        }) => commands::add_org_unit(&state, kind, &name, &code, parent.as_deref()).await,
        Command::User(UserCommand::Add {
            username,
            display_name,
            role,
            org_unit,
        }) => commands::add_user(&state, &username, &display_name, role, &org_unit).await,
        Command::User(UserCommand::ResetPassword { username }) => {
            commands::reset_password(&state, &username).await
        }
        Command::User(UserCommand::Disable { username }) => {
            commands::disable_user(&state, &username).await
        }
        Command::User(UserCommand::Enable { username }) => {
            commands::enable_user(&state, &username).await
        }
        Command::Calendar(CalendarCommand::Load { file }) => {
            commands::load_calendar(&state, &file).await
        }
        Command::Calendar(CalendarCommand::List) => commands::list_calendars(&state).await,
        Command::Verify { case } => commands::verify(&state, case).await,
    }
}
