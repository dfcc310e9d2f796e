//! What `fieldctl` is given: its commands and their arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, ClosureReason, FoundBy, ReasonCategory,
};
use sync_protocol::evidence::DocumentType;
use sync_protocol::{AttemptId, CaseId, StudentId};

/// Acts as a phone of the dropout field app.
#[derive(Debug, Parser)]
#[command(version)]
pub(crate) struct Cli {
    /// The phone's data directory.
    #[arg(long, global = true, default_value = "./phone")]
    pub(crate) dir: PathBuf,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sign in; the password is read from standard input (one line).
    Login {
        /// The server, for example http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// End the session (local data stays).
    Logout,
    /// Pull every change from the server without pushing.
    Pull,
    /// Push pending changes, pull every change, then send the media queue.
    Sync {
        /// Keep going (waiting between tries while the server cannot be reached) until
        /// everything is sent, or until stopped with Ctrl-C.
        #[arg(long)]
        until_done: bool,
    },
    /// List the roll of this account's school held on this phone.
    Roll {
        /// Fetch it from the server first (class teachers and school leads).
        #[arg(long)]
        fetch: bool,
    },
    /// List the cases held on this phone.
    Cases,
    /// What the rules ask of this account's role next, earliest first.
    Next,
    /// Work on one case.
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Work on persuasion attempts.
    Attempt {
        #[command(subcommand)]
        command: AttemptCommand,
    },
    /// Work on documents (notices served, certificates, approvals…).
    Document {
        #[command(subcommand)]
        command: DocumentCommand,
    },
    /// List the changes waiting to be pushed.
    Pending,
    /// List values that lost a concurrent edit.
    Conflicts,
    /// List changes the server refused.
    Rejections,
    /// This account's signing key on this phone (R21).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Confirm an attempt's record with this account's signing key, offline if need be (R21):
    /// applied here at once, pushed on the next sync. Only its participants sign it.
    Sign {
        /// The attempt id.
        #[arg(long)]
        attempt: AttemptId,
        /// A participant without an account whose drawn signature this signature vouches for,
        /// as `NAME=SHA256` (the drawing's SHA-256, one of the attempt's files); repeatable.
        #[arg(long)]
        vouch: Vec<String>,
    },
    /// List the media queue: files waiting, sent, or refused and why.
    Media,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Make this phone's signing key for the signed-in account, if it has none, and register
    /// it with the server (online); a registered key the server still holds is kept.
    Register,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaseCommand {
    /// Report an unexcused absence of a pupil on the roll held here: opens their case (applied
    /// here at once, pushed on the next sync).
    Open {
        /// The pupil's student id (see `fieldctl roll`).
        #[arg(long)]
        student: StudentId,
        /// How it was found (daily_attendance, roll_comparison, report).
        #[arg(long, default_value = "daily_attendance")]
        found_by: FoundBy,
        /// The first day of the absence (YYYY-MM-DD; default today).
        #[arg(long)]
        first_absent_on: Option<chrono::NaiveDate>,
    },
    /// Show a case and its attempts, with who of each attempt's participants has confirmed it.
    Show {
        /// The case id.
        #[arg(long = "case")]
        case_id: CaseId,
    },
    /// Change a case's reason or status (applied here at once, pushed on the next sync).
    Edit {
        /// The case id.
        #[arg(long = "case")]
        case_id: CaseId,
        /// New reason category (poverty, illness, aversion_to_school, working_away, …).
        #[arg(long)]
        reason: Option<ReasonCategory>,
        /// New status (suspected, school_persuasion, reported, joint_persuasion, returned, …).
        #[arg(long)]
        status: Option<CaseStatus>,
        /// The responsible person (专人): an account id of the case's school, village, township
        /// or district.
        #[arg(long)]
        responsible: Option<uuid::Uuid>,
        /// Ask for the row to be written off (or deferred) for this reason (age_mismatch, death,
        /// deferred_for_illness, …).
        #[arg(long)]
        closure_reason: Option<ClosureReason>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocumentCommand {
    /// Record a document of a case, with a photo of the paper (applied here at once, pushed on
    /// the next sync).
    Record {
        /// The case id.
        #[arg(long = "case")]
        case_id: CaseId,
        /// The type (township_notice, dropout_notice, return_notice, death_certificate, …).
        #[arg(long = "type")]
        doc_type: DocumentType,
        /// The title as written on the paper.
        #[arg(long)]
        title: String,
        /// Who issued it.
        #[arg(long, default_value = "")]
        issued_by: String,
        /// When it was issued (YYYY-MM-DD).
        #[arg(long)]
        issued_on: Option<chrono::NaiveDate>,
        /// A photo or scan of the paper (repeatable); sent on the next sync.
        #[arg(long)]
        photo: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttemptCommand {
    /// Record a persuasion attempt (applied here at once, pushed on the next sync).
    Record(RecordArgs),
    /// Add participants to an attempt (applied here at once, pushed on the next sync): its
    /// author or a staff member listed on it may.
    Add {
        /// The attempt id.
        #[arg(long)]
        attempt: AttemptId,
        /// A staff member with an account who took part, as `ACCOUNT_ID=NAME`; repeatable.
        #[arg(long)]
        staff: Vec<String>,
        /// Someone without an account who took part, as `name/unit` or
        /// `name/unit/department`; repeatable.
        #[arg(long)]
        participant: Vec<String>,
    },
}

/// What `fieldctl attempt record` is given.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    /// The case id.
    #[arg(long = "case")]
    pub(crate) case_id: CaseId,
    /// home_visit, phone_call, collective_visit or joint_persuasion.
    #[arg(long)]
    pub(crate) kind: AttemptKind,
    /// refused, agreed_to_return, undecided or not_reached.
    #[arg(long)]
    pub(crate) outcome: AttemptOutcome,
    /// Whom they met.
    #[arg(long, default_value = "")]
    pub(crate) met_whom: String,
    /// What the guardian said.
    #[arg(long, default_value = "")]
    pub(crate) guardian_said: String,
    /// Someone else who took part, as `name/unit` or `name/unit/department` (justice, police,
    /// civil_affairs, …); repeatable. The signed-in account is listed first by itself.
    #[arg(long)]
    pub(crate) participant: Vec<String>,
    /// A staff member with an account who took part, as `ACCOUNT_ID=NAME` (they confirm the
    /// record by signing it on their own phone); repeatable.
    #[arg(long)]
    pub(crate) staff: Vec<String>,
    /// Notes.
    #[arg(long, default_value = "")]
    pub(crate) notes: String,
    /// The next step agreed.
    #[arg(long, default_value = "")]
    pub(crate) next_step: String,
    /// Latitude (with --lon).
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    pub(crate) lat: Option<f64>,
    /// Longitude (with --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    pub(crate) lon: Option<f64>,
    /// A photo of the visit (repeatable); scaled down and sent on the next sync.
    #[arg(long)]
    pub(crate) photo: Vec<PathBuf>,
    /// A recording of the talk (repeatable); sent on the next sync.
    #[arg(long)]
    pub(crate) audio: Vec<PathBuf>,
}
