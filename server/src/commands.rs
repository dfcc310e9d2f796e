//! The operator's commands of the `server` binary (serve, the demo district, org units,
//! accounts, holiday schedules, verify), one function each; `main.rs` parses the arguments and
//! calls one of them. They print what they did on standard output.

use std::io::BufRead as _;
use std::path::Path;

use anyhow::Context as _;
use sync_protocol::org::{OrgUnitKind, Role};

use crate::config::Config;
use crate::state::AppState;
use crate::{demo, records};

/// Reads the configuration from the environment, closes the data folder to others and builds
/// the state every command works on.
pub async fn start() -> anyhow::Result<AppState> {
    let config = Config::from_env()?;
    tracing::info!(?config, "configuration");
    crate::data_dir::keep_private(&config.data_dir).with_context(|| {
        format!(
            "closing the data folder {} to others",
            config.data_dir.display()
        )
    })?;
    AppState::build(config).await
}

/// Adds an org unit under the unit with code `parent` (none for a district).
pub async fn add_org_unit(
    state: &AppState,
    kind: OrgUnitKind,
    name: &str,
    code: &str,
    parent: Option<&str>,
) -> anyhow::Result<()> {
    let parent = match parent {
        Some(code) => Some(records::org_unit_by_code(&state.db.write, code).await?),
        None => None,
    };
    let unit = records::org_unit(&state.db.write, kind, name, code, parent.as_ref()).await?;
    println!("added {} `{}` ({})", unit.kind, unit.code, unit.id);
    Ok(())
}

/// Adds a user of `role` in the unit with code `org_unit`, with a password read from standard
/// input.
pub async fn add_user(
    state: &AppState,
    username: &str,
    display_name: &str,
    role: Role,
    org_unit: &str,
) -> anyhow::Result<()> {
    let unit = records::org_unit_by_code(&state.db.write, org_unit).await?;
    let password = read_password()?;
    let user = records::user(
        &state.db.write,
        username,
        display_name,
        role,
        &unit,
        &password,
    )
    .await?;
    println!("added {} `{}` ({})", user.role, user.username, user.id);
    Ok(())
}

/// Sets the password of `username` to one read from standard input, ending its sessions.
pub async fn reset_password(state: &AppState, username: &str) -> anyhow::Result<()> {
    let password = read_password()?;
    crate::auth::accounts::reset_password(&state.db.write, username, &password).await?;
    println!("password of `{username}` reset; every session of the account ended");
    Ok(())
}

/// Stops `username` from signing in, ending its sessions.
pub async fn disable_user(state: &AppState, username: &str) -> anyhow::Result<()> {
    set_disabled(state, username, true).await?;
    println!("`{username}` disabled; every session of the account ended");
    Ok(())
}

/// Lets `username` sign in again.
pub async fn enable_user(state: &AppState, username: &str) -> anyhow::Result<()> {
    set_disabled(state, username, false).await?;
    println!("`{username}` may sign in again");
    Ok(())
}

/// Loads (or replaces) the holiday schedule in `file`.
pub async fn load_calendar(state: &AppState, file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let schedule: sync_protocol::calendar::YearSchedule = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a holiday schedule", file.display()))?;
    crate::calendar::store::save(&state.db.write, &schedule, None).await?;
    println!(
        "loaded the {} schedule ({})",
        schedule.year, schedule.source
    );
    Ok(())
}

/// Lists the years whose schedules are loaded, and those missing.
pub async fn list_calendars(state: &AppState) -> anyhow::Result<()> {
    let calendar = state.calendar().await?;
    for (year, source) in calendar.years() {
        println!("{year}  {source}");
    }
    for year in calendar.missing(chrono::Utc::now().date_naive()) {
        println!("{year}  missing: load its schedule");
    }
    Ok(())
}

/// Disables or enables the account called `username`.
async fn set_disabled(state: &AppState, username: &str, disabled: bool) -> anyhow::Result<()> {
    let txn = sea_orm::TransactionTrait::begin(&state.db.write).await?;
    let account = crate::auth::accounts::by_username(&txn, username).await?;
    crate::auth::accounts::set_disabled(&txn, account.id, disabled).await?;
    txn.commit().await?;
    Ok(())
}

/// A password, one line read from standard input.
fn read_password() -> anyhow::Result<String> {
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Loads the demo district unless it is there, and names its accounts.
pub async fn load_demo(state: &AppState) -> anyhow::Result<()> {
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
    println!(
        "  and the staff of every other school and township (teacher-demo-t1-s2, \
         school_lead-demo-t2-s1, township_officer-demo-t3, …)"
    );
    Ok(())
}

/// Serves the API on the configured address until Ctrl-C, after loading the demo district if
/// `demo`.
pub async fn serve(state: AppState, demo: bool) -> anyhow::Result<()> {
    if demo {
        load_demo(&state).await?;
    }
    let bind = state.config.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("serving on {url} (OpenAPI document at {url}/api/v1/openapi.json)");
    crate::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .context("serving")
}

/// Verifies the ledger of case `id`, printing what does not match; answers whether it is intact.
async fn verify_ledger(state: &AppState, id: uuid::Uuid) -> anyhow::Result<bool> {
    let report = crate::chain::verify::verify_case(&state.db.read, &state.storage, id).await?;
    if !report.intact {
        println!("case {id}: {} problem(s)", report.findings.len());
        for f in &report.findings {
            let link = f.seq.map_or("-".to_owned(), |s| s.to_string());
            println!(
                "  link {link}: {} {}: {}",
                f.entity_kind, f.entity_id, f.problem
            );
        }
    }
    Ok(report.intact)
}

/// Checks the histories of `rows` against the case machine's rules, printing each refusal;
/// answers how many cases the rules refuse.
async fn refused_histories(
    state: &AppState,
    rows: &[crate::db::entity::case::Model],
) -> anyhow::Result<u64> {
    let histories = crate::cases::history::load(
        &state.db.read,
        &state.sealer,
        rows,
        state.config.leaving_age,
    )
    .await?;
    let mut refused = 0;
    for row in rows {
        let history = histories
            .get(&row.id)
            .with_context(|| format!("no history loaded for case {}", row.id))?;
        let found = crate::cases::conformance::refusals(history);
        if !found.is_empty() {
            refused += 1;
            println!("case {}: the rules refuse its history:", row.id);
            for refusal in &found {
                println!("  {refusal}");
            }
        }
    }
    Ok(refused)
}

/// Verifies one case or every case, printing what does not match and progress on stderr: each
/// case's ledger (hash chain, records, stored files) and its history against the case machine's
/// rules ([`crate::cases::conformance`]), then the audit log's chain.
pub async fn verify(state: &AppState, only: Option<uuid::Uuid>) -> anyhow::Result<()> {
    use crate::db::cases;
    let db = &state.db.read;
    let total = match only {
        Some(_) => 1,
        None => cases::count_all(db).await?,
    };
    let (mut checked, mut broken, mut refused, mut after) = (0u64, 0u64, 0u64, None);
    loop {
        let rows = match only {
            Some(id) if after.is_none() => cases::by_id(db, id).await?.into_iter().collect(),
            Some(_) => Vec::new(),
            None => cases::all_page(db, after, 500).await?,
        };
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        after = Some(last);
        refused += refused_histories(state, &rows).await?;
        for row in rows {
            broken += u64::from(!verify_ledger(state, row.id).await?);
            checked += 1;
            if checked % 1000 == 0 {
                eprintln!("verified {checked}/{total} cases");
            }
        }
    }
    println!("{checked} case(s) verified, {broken} with problems");
    println!("{checked} case history(ies) checked against the rules, {refused} refused");
    let audit = crate::audit::verify(db).await?;
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
    if refused > 0 {
        anyhow::bail!("the rules refuse the history of {refused} case(s)");
    }
    anyhow::ensure!(
        audit.problems.is_empty(),
        "the audit log does not hold together"
    );
    Ok(())
}
