//! The server process is killed (SIGKILL, not a task) in the middle of a phone's push, started
//! again, and the phone's retries end with every mutation applied exactly once.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use mobile_shared::{AttemptDraft, NoProgress, Phone, RetryPolicy, SyncEvent, SyncOptions};
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use server::config::Config;
use server::db::entity::{applied_mutation, attempt, upload};
use server::demo::{self, DemoSpec};
use server::{AppState, db::Db};
use sync_protocol::cases::{AttemptKind, AttemptOutcome};
use sync_protocol::{AttemptId, CaseId};
use tests::PASSWORD;

/// Not a test by itself: the server process the kill test starts and kills. It serves only when
/// `KBX_CHILD_SERVER` is set, with the configuration from the environment.
#[tokio::test]
#[ignore = "started by the kill test as a separate process"]
async fn child_server() -> anyhow::Result<()> {
    if std::env::var_os("KBX_CHILD_SERVER").is_none() {
        return Ok(());
    }
    let state = AppState::build(Config::from_env()?).await?;
    let listener = tokio::net::TcpListener::bind(state.config.bind).await?;
    println!("ready");
    server::serve(listener, state, std::future::pending()).await?;
    Ok(())
}

/// Starts the child server with `env` and waits until it listens.
fn start(env: &[(String, String)]) -> anyhow::Result<Child> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--ignored",
            "--exact",
            "kill::child_server",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KBX_CHILD_SERVER", "1")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let Some(line) = lines.next() else {
            anyhow::bail!("the child server exited before it was ready");
        };
        // libtest may print its own "test … " prefix on the same line.
        if line?.trim_end().ends_with("ready") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Ok(child)
}

#[tokio::test]
async fn a_server_killed_mid_push_and_restarted_ends_with_exactly_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (env, database_url, fixtures) = child_environment(dir.path(), 30).await?;
    let bind = &env[1].1;
    let school = fixtures.users[0].1.org_unit_id;
    let cases: Vec<CaseId> = fixtures
        .cases
        .iter()
        .filter(|c| c.school_id == school)
        .map(|c| c.id.into())
        .collect();

    let mut server = start(&env)?;
    let mut phone = Phone::open(dir.path().join("phone"))?;
    phone
        .login(&format!("http://{bind}"), "teacher", PASSWORD)
        .await?;
    phone.sync(&mut NoProgress).await?;
    phone.set_sync_options(SyncOptions {
        push_batch: 100,
        pull_limit: None,
        retry: RetryPolicy {
            first_delay: std::time::Duration::from_millis(50),
            max_delay: std::time::Duration::from_millis(400),
            max_attempts: 100,
        },
        ..SyncOptions::default()
    });
    let mut recorded = BTreeSet::new();
    for n in 0..1500 {
        let mut draft = AttemptDraft::new(
            cases[n % cases.len()],
            AttemptKind::HomeVisit,
            AttemptOutcome::Refused,
        );
        draft.notes = format!("visit {n}");
        recorded.insert(phone.record_attempt(draft)?);
    }

    // Kill the server once the phone has had 300 mutations acknowledged; start it again.
    let (tx, rx) = mpsc::channel::<()>();
    let restart_env = env.clone();
    let killer = std::thread::spawn(move || -> anyhow::Result<Child> {
        rx.recv()?;
        std::thread::sleep(std::time::Duration::from_millis(15));
        server.kill()?;
        server.wait()?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        start(&restart_env)
    });
    let mut signalled = false;
    let mut retries = 0;
    let mut on_event = |event: SyncEvent| match event {
        SyncEvent::Pushed { done, .. } if done >= 300 && !signalled => {
            signalled = true;
            let _ = tx.send(());
        }
        SyncEvent::Retrying { .. } => retries += 1,
        _ => {}
    };
    let report = phone.sync(&mut on_event).await?;
    let mut server = killer
        .join()
        .map_err(|_| anyhow::anyhow!("killer thread panicked"))??;
    assert_eq!(phone.pending_count()?, 0);
    assert!(phone.rejections()?.is_empty(), "{:?}", phone.rejections()?);
    assert!(retries > 0, "the kill interrupted the sync, which retried");
    assert!(
        report.pushed >= 1200,
        "the push went on after the restart: {report:?}"
    );

    // Exactly once on the server, and everything on the phone after its pull.
    phone.sync(&mut NoProgress).await?;
    server.kill()?;
    server.wait()?;
    let db = Db::connect(&database_url).await?;
    let stored: BTreeSet<AttemptId> = attempt::Entity::find()
        .filter(attempt::Column::Id.is_in(recorded.iter().map(|a| a.0)))
        .all(&db.read)
        .await?
        .into_iter()
        .map(|a| a.id.into())
        .collect();
    assert_eq!(stored, recorded);
    let acknowledged = applied_mutation::Entity::find().count(&db.read).await?;
    assert_eq!(acknowledged, 1500, "one idempotency record per mutation");
    let on_phone: BTreeSet<AttemptId> = cases
        .iter()
        .filter_map(|id| phone.case(*id).ok().flatten())
        .flat_map(|d| d.attempts.into_iter().map(|a| a.id))
        .filter(|id| recorded.contains(id))
        .collect();
    assert_eq!(on_phone, recorded);
    Ok(())
}

/// The environment of a child server on a fresh data directory (and a fresh PostgreSQL database
/// when the suite runs on one), with the demo district loaded; and the URL of its database.
async fn child_environment(
    dir: &std::path::Path,
    students: usize,
) -> anyhow::Result<(Vec<(String, String)>, String, demo::Demo)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut env = vec![
        ("DATA_DIR".to_owned(), dir.display().to_string()),
        ("BIND".to_owned(), format!("127.0.0.1:{port}")),
    ];
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        env.push((
            "DATABASE_URL".to_owned(),
            tests::fresh_postgres_database(&admin).await?,
        ));
    }
    let config =
        Config::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?;
    let database_url = config.effective_database_url();
    let state = AppState::build(config).await?;
    let spec = DemoSpec {
        password: PASSWORD.into(),
        students,
        ..DemoSpec::standard()
    };
    let fixtures = demo::load(&state, &spec).await?;
    Ok((env, database_url, fixtures))
}

#[tokio::test]
async fn a_server_killed_mid_upload_lets_the_upload_go_on_at_once_after_a_restart()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (env, database_url, fixtures) = child_environment(dir.path(), 30).await?;
    let school = fixtures.users[0].1.org_unit_id;
    let db = Db::connect(&database_url).await?;
    let visit = attempt::Entity::find()
        .filter(
            attempt::Column::CaseId.is_in(
                fixtures
                    .cases
                    .iter()
                    .filter(|c| c.school_id == school)
                    .map(|c| c.id),
            ),
        )
        .one(&db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("an attempt in the teacher's school"))?;
    let url = format!("http://{}", env[1].1);
    let mut server = start(&env)?;

    let http = reqwest::Client::new();
    let login = serde_json::json!({
        "username": "teacher", "password": PASSWORD, "device_id": uuid::Uuid::now_v7(),
    });
    let pair: serde_json::Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&login)
        .send()
        .await?
        .json()
        .await?;
    let token = pair["access_token"].as_str().unwrap_or_default().to_owned();
    let mut file = b"%PDF-1.7\n".to_vec();
    file.extend(tests::files::blob(3 * 1024 * 1024, 11));
    let sha = server::digest::sha256_hex(&file);
    let created = http
        .post(format!("{url}/api/v1/uploads"))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", file.len())
        .header(
            "Upload-Metadata",
            tests::tus_metadata("document", &sha, visit.id),
        )
        .send()
        .await?;
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let at = created.headers()["location"].to_str()?.to_owned();
    let at = if at.starts_with("http") {
        at
    } else {
        format!("{url}{at}")
    };

    // A PATCH whose body stops halfway, its connection open: the server holds the upload.
    let (more, body) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    more.unbounded_send(Ok(file[..1024 * 1024].to_vec()))?;
    let stalled = tokio::spawn(
        http.patch(&at)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", 0)
            .header("Content-Type", "application/offset+octet-stream")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    // The signal that the server holds it: its lease, in the database.
    let id: uuid::Uuid = at.rsplit('/').next().unwrap_or_default().parse()?;
    let held = || async {
        let row = upload::Entity::find_by_id(id).one(&db.read).await?;
        anyhow::Ok(
            row.and_then(|r| r.busy_until)
                .is_some_and(|t| t > chrono::Utc::now()),
        )
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !held().await? {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        anyhow::Ok(())
    })
    .await
    .map_err(|_| anyhow::anyhow!("the server never took the upload's lease"))??;
    server.kill()?;
    server.wait()?;
    assert!(held().await?, "the dead process's lease is still in force");
    drop(more);
    let _ = stalled.await;
    let mut server = start(&env)?;

    // At once, not when the dead process's lease runs out: the rest goes up from where it stands.
    let head = http
        .head(&at)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await?;
    assert_eq!(head.status(), reqwest::StatusCode::OK);
    let offset: usize = head.headers()["upload-offset"].to_str()?.parse()?;
    let r = http
        .patch(&at)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset)
        .header("Content-Type", "application/offset+octet-stream")
        .body(file[offset..].to_vec())
        .send()
        .await?;
    let status = r.status();
    server.kill()?;
    server.wait()?;
    assert_eq!(
        status,
        reqwest::StatusCode::NO_CONTENT,
        "{}",
        r.text().await?
    );
    Ok(())
}
