//! `fieldctl`: acts as a phone against a server, through the same [`Phone`] core an app embeds.
//! Its data (store, device id, session) lives in the directory given by `--dir`, so one machine
//! can play several phones.

use std::io::BufRead as _;

use anyhow::Context as _;
use clap::Parser as _;
use mobile_shared::{AttemptDraft, DocumentDraft, MediaState, Phone, SyncReport};
use sync_protocol::CaseId;
use sync_protocol::cases::{GeoPoint, Participant, ReasonCategory};
use sync_protocol::media::MediaKind;
use sync_protocol::sync::{CaseField, Change};

use progress::{Bar, describe_left};

mod cli;
mod progress;

use cli::{AttemptCommand, CaseCommand, Cli, Command, DocumentCommand, KeyCommand, RecordArgs};

/// Prints a line to standard output; a closed pipe (`fieldctl cases | head`) ends the program
/// quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod participants;
mod signing;

/// How `fieldctl` syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pull,
    Sync,
    UntilDone,
}

async fn run_sync(phone: &mut Phone, mode: Mode) -> anyhow::Result<()> {
    let mut bar = Bar::new()?;
    bar.bar
        .enable_steady_tick(std::time::Duration::from_millis(500));
    let result = match mode {
        Mode::Pull => phone.pull(&mut bar).await,
        Mode::Sync => phone.sync(&mut bar).await,
        Mode::UntilDone => phone.sync_until_done(&mut bar).await,
    };
    bar.bar.finish_and_clear();
    let push = mode != Mode::Pull;
    let result = match result {
        Err(e) => {
            // Say what stays, and that it stays; the error follows with its stable code.
            if let Ok(left) = phone.left().map(|l| describe_left(&l)) {
                say!("同步未完成：{left}。有网络时再次同步即可继续。");
            }
            return Err(e.into());
        }
        Ok(report) => report,
    };
    let SyncReport {
        pushed,
        applied,
        rejected,
        clock_clamped,
        pulled,
        conflicts,
        uploaded,
        upload_failed,
    } = result;
    if push {
        say!(
            "pushed {pushed} (applied {applied}, rejected {rejected}, clock clamped {clock_clamped})"
        );
    }
    say!("pulled {pulled} records ({conflicts} conflicts)");
    if push {
        say!("sent {uploaded} files ({upload_failed} refused)");
    }
    if rejected > 0 {
        say!("see `fieldctl rejections`");
    }
    if upload_failed > 0 {
        say!("see `fieldctl media`");
    }
    Ok(())
}

fn describe(change: &Change) -> String {
    match change {
        Change::OpenCase { case } => {
            format!("absence of {} opens case {}", case.student_id, case.id)
        }
        Change::UpdateCase { case_id, fields } => {
            format!("edit case {case_id} ({} fields)", fields.len())
        }
        Change::CreateAttempt { attempt } => {
            format!("attempt {} on case {}", attempt.id, attempt.case_id)
        }
        Change::UpdateAttempt { attempt_id, .. } => format!("edit attempt {attempt_id}"),
        Change::CreateDocument { document } => {
            format!("document {} on case {}", document.id, document.case_id)
        }
        Change::UpdateDocument { document_id, .. } => format!("edit document {document_id}"),
        Change::CreateReview { review } => {
            format!("review {} on case {}", review.id, review.case_id)
        }
        Change::SignAttempt { signature } => {
            format!(
                "signature {} of attempt {}",
                signature.id, signature.attempt_id
            )
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line for a person at a terminal: what failed and why, no backtrace.
            eprintln!("fieldctl: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut phone = Phone::open(&cli.dir)
        .with_context(|| format!("opening the phone in {}", cli.dir.display()))?;
    match cli.command {
        Command::Login { server, username } => login(&mut phone, &server, &username).await,
        Command::Logout => {
            phone.logout().await?;
            say!("signed out");
            Ok(())
        }
        Command::Pull => run_sync(&mut phone, Mode::Pull).await,
        Command::Sync { until_done: false } => run_sync(&mut phone, Mode::Sync).await,
        Command::Sync { until_done: true } => run_sync(&mut phone, Mode::UntilDone).await,
        Command::Roll { fetch } => list_roll(&mut phone, fetch).await,
        Command::Cases => list_cases(&phone),
        Command::Next => list_next_steps(&phone),
        Command::Case { command } => case_command(&phone, command),
        Command::Attempt {
            command: AttemptCommand::Record(args),
        } => record_attempt(&phone, args),
        Command::Attempt {
            command:
                AttemptCommand::Add {
                    attempt,
                    staff,
                    participant,
                },
        } => participants::add(&phone, attempt, &staff, &participant),
        Command::Document {
            command:
                DocumentCommand::Record {
                    case_id,
                    doc_type,
                    title,
                    issued_by,
                    issued_on,
                    photo,
                },
        } => {
            let draft = DocumentDraft {
                issued_by,
                issued_on,
                ..DocumentDraft::new(case_id, doc_type, &title)
            };
            let id = phone.record_document(draft)?;
            say!("recorded {id}");
            for path in &photo {
                let queued = phone.attach_to_document(id, MediaKind::Photo, path)?;
                say!("queued photo {} ({} bytes)", queued.file_name, queued.size);
            }
            Ok(())
        }
        Command::Pending => list_pending(&phone),
        Command::Conflicts => list_conflicts(&phone),
        Command::Rejections => list_rejections(&phone),
        Command::Key {
            command: KeyCommand::Register,
        } => signing::register_key(&mut phone).await,
        Command::Sign { attempt, vouch } => signing::sign(&phone, attempt, &vouch),
        Command::Media => list_media(&phone),
    }
}

/// `fieldctl roll`: the roll held here, fetched first with `--fetch`.
async fn list_roll(phone: &mut Phone, fetch: bool) -> anyhow::Result<()> {
    if fetch {
        let n = phone.fetch_roll().await?;
        say!("fetched the roll: {n} pupils");
    }
    for pupil in phone.roll()? {
        say!(
            "{}  {}年级 {:<8} {}",
            pupil.id,
            pupil.grade,
            pupil.class_name,
            pupil.name
        );
    }
    Ok(())
}

/// `fieldctl case …`.
fn case_command(phone: &Phone, command: CaseCommand) -> anyhow::Result<()> {
    match command {
        CaseCommand::Open {
            student,
            found_by,
            first_absent_on,
        } => {
            let id = phone.report_absence(student, found_by, first_absent_on)?;
            say!("opened case {id}");
            Ok(())
        }
        CaseCommand::Show { case_id } => show_case(phone, case_id),
        CaseCommand::Edit {
            case_id,
            reason,
            status,
            responsible,
            closure_reason,
        } => {
            let fields: Vec<CaseField> = reason
                .map(CaseField::Reason)
                .into_iter()
                .chain(status.map(CaseField::Status))
                .chain(responsible.map(|u| CaseField::ResponsibleUserId(u.into())))
                .chain(closure_reason.map(CaseField::ClosureReason))
                .collect();
            edit_case(phone, case_id, fields)
        }
    }
}

/// `fieldctl login`: the password is read from standard input (one line).
async fn login(phone: &mut Phone, server: &str, username: &str) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password")?;
    let me = phone
        .login(server, username, password.trim_end_matches(['\r', '\n']))
        .await?;
    say!("signed in as {} ({})", me.display_name, me.role.as_str());
    Ok(())
}

/// `fieldctl cases`: each case with the next step the rules ask for, as the server computed it
/// at the last pull.
fn list_cases(phone: &Phone) -> anyhow::Result<()> {
    let cases = phone.cases()?;
    let today = chrono::Local::now().date_naive();
    for case in &cases {
        let next = case.due.first().map_or(String::new(), |d| {
            let late = if d.due_on.is_some_and(|day| day < today) {
                "overdue "
            } else {
                ""
            };
            let by = d.due_on.map_or(String::new(), |day| format!(" by {day}"));
            format!("  [{late}{}{by}: {}]", d.rule, d.hint)
        });
        say!(
            "{}  {:<18} {}  {}{next}",
            case.id,
            case.status.as_str(),
            case.opened_on,
            case.student_name
        );
    }
    say!(
        "{} cases, {} changes pending",
        cases.len(),
        phone.pending_count()?
    );
    Ok(())
}

/// `fieldctl next`.
fn list_next_steps(phone: &Phone) -> anyhow::Result<()> {
    let account = phone
        .account()?
        .context("nobody has signed in on this phone")?;
    let steps = phone.next_steps(account.role, chrono::Local::now().date_naive())?;
    for step in &steps {
        say!(
            "{}  {:<4} {:<10} {}{}  {}",
            step.case_id,
            step.item.rule,
            step.item
                .due_on
                .map_or("-".to_owned(), |day| day.to_string()),
            if step.overdue { "overdue " } else { "" },
            step.student_name,
            step.item.hint
        );
    }
    say!("{} steps for {}", steps.len(), account.role.as_str());
    Ok(())
}

/// `fieldctl case show`.
fn show_case(phone: &Phone, case_id: CaseId) -> anyhow::Result<()> {
    let detail = phone
        .case(case_id)?
        .with_context(|| format!("no case {case_id} on this phone"))?;
    let case = &detail.case;
    say!(
        "{}  {}  {}",
        case.id,
        case.student_name,
        case.status.as_str()
    );
    say!(
        "reason: {}  relapses: {}  opened: {}",
        case.reason.map_or("-", ReasonCategory::as_str),
        case.relapse_count,
        case.opened_on
    );
    for d in &case.due {
        say!(
            "  due {}  {}  {}  {}",
            d.rule,
            d.due_on.map_or("-".to_owned(), |day| day.to_string()),
            d.who.as_str(),
            d.hint
        );
    }
    for a in &detail.attempts {
        say!(
            "  {}  {}  {:<16} {:<16} {}",
            a.id,
            a.occurred_at.format("%Y-%m-%d %H:%M"),
            a.kind.as_str(),
            a.outcome.as_str(),
            a.notes
        );
        signing::print_confirmations(&detail, a.id);
    }
    Ok(())
}

/// `fieldctl case edit`.
fn edit_case(phone: &Phone, case_id: CaseId, fields: Vec<CaseField>) -> anyhow::Result<()> {
    anyhow::ensure!(
        !fields.is_empty(),
        "give --reason, --status, --responsible or --closure-reason"
    );
    let id = phone.edit_case(case_id, fields)?;
    say!("queued {id}");
    Ok(())
}

/// `fieldctl attempt record`: the attempt, then its files in the media queue.
fn record_attempt(phone: &Phone, args: RecordArgs) -> anyhow::Result<()> {
    let RecordArgs {
        case_id,
        kind,
        outcome,
        met_whom,
        guardian_said,
        participant,
        staff,
        notes,
        next_step,
        lat,
        lon,
        photo,
        audio,
    } = args;
    let me = phone
        .account()?
        .context("nobody has signed in on this phone")?;
    let mut people = vec![Participant {
        user_id: Some(me.id),
        name: me.display_name,
        unit: String::new(),
        department: None,
    }];
    people.extend(participants::parse_all(&staff, &participant)?);
    let draft = AttemptDraft {
        met_whom,
        guardian_statement: guardian_said,
        participants: people,
        notes,
        next_step,
        location: lat.zip(lon).map(|(lat, lon)| GeoPoint {
            lat,
            lon,
            accuracy_m: None,
        }),
        ..AttemptDraft::new(case_id, kind, outcome)
    };
    let id = phone.record_attempt(draft)?;
    say!("recorded {id}");
    let files = photo
        .iter()
        .map(|p| (MediaKind::Photo, p))
        .chain(audio.iter().map(|p| (MediaKind::Audio, p)));
    for (kind, path) in files {
        let queued = phone.attach(id, kind, path)?;
        say!(
            "queued {} {} ({} bytes)",
            kind.as_str(),
            queued.file_name,
            queued.size
        );
    }
    Ok(())
}

/// `fieldctl pending`.
fn list_pending(phone: &Phone) -> anyhow::Result<()> {
    let pending = phone.pending()?;
    for p in &pending {
        say!(
            "{:>4}  {}  {}  {}",
            p.seq,
            p.created_at.format("%Y-%m-%d %H:%M:%S"),
            p.mutation.id,
            describe(&p.mutation.change)
        );
    }
    say!("{} pending", pending.len());
    Ok(())
}

/// `fieldctl conflicts`.
fn list_conflicts(phone: &Phone) -> anyhow::Result<()> {
    let conflicts = phone.conflicts()?;
    for c in &conflicts {
        let by = c
            .losing_user_name
            .as_deref()
            .map_or_else(|| format!("device {}", c.losing_device_id), str::to_owned);
        let when = chrono::DateTime::from_timestamp_millis(c.losing_hlc.millis)
            .map_or_else(String::new, |t| t.format(" at %Y-%m-%d %H:%M").to_string());
        say!(
            "{}  case {}  {} {}: kept {}, lost {} (changed by {by}{when})",
            c.created_at.format("%Y-%m-%d %H:%M"),
            c.case_id,
            c.entity_kind.as_str(),
            c.field,
            serde_json::to_string(&c.winning_value)?,
            serde_json::to_string(&c.losing_value)?,
        );
    }
    say!("{} conflicts", conflicts.len());
    Ok(())
}

/// `fieldctl rejections`.
fn list_rejections(phone: &Phone) -> anyhow::Result<()> {
    let rejections = phone.rejections()?;
    for r in &rejections {
        say!(
            "{}  {}  {}: {}",
            r.at.format("%Y-%m-%d %H:%M"),
            describe(&r.mutation.change),
            serde_json::to_string(&r.code)?,
            r.reason
        );
    }
    say!("{} rejected", rejections.len());
    Ok(())
}

/// `fieldctl media`.
fn list_media(phone: &Phone) -> anyhow::Result<()> {
    let queue = phone.media_queue()?;
    for m in &queue {
        let state = match (&m.state, &m.failure) {
            (MediaState::Failed, Some(f)) => format!("refused: {} ({})", f.code, f.detail),
            (MediaState::Done, _) => "sent".to_owned(),
            _ => format!("waiting, {}/{} bytes sent", m.sent, m.size),
        };
        say!(
            "{}  {} {}  {:<5}  {}  {}",
            m.id,
            m.of.kind(),
            m.of.id(),
            m.kind.as_str(),
            m.file_name,
            state
        );
    }
    say!("{} files", queue.len());
    Ok(())
}
