//! The `server` binary as the README runs it: the demo, serving, and the admin commands.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};

const DEMO_PASSWORD: &str = "demo-pass-2026";

fn server(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    command
}

/// Starts the server and returns it with the URL it printed.
fn start(data_dir: &std::path::Path, args: &[&str]) -> (Child, String) {
    let mut child = server(data_dir)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("server exited before serving")
            .expect("read stdout");
        if let Some(rest) = line.strip_prefix("serving on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

/// A data directory with the demo district loaded by `server demo`.
fn demo_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let loaded = server(dir.path()).arg("demo").output().expect("demo");
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    dir
}

/// A runtime for the few async calls these tests make.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn login(url: &str, username: &str, password: &str) -> reqwest::StatusCode {
    let runtime = runtime();
    runtime.block_on(async {
        let body = serde_json::json!({
            "username": username,
            "password": password,
            "device_id": "0192b0b0-0000-7000-8000-000000000001",
        });
        reqwest::Client::new()
            .post(format!("{url}/api/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .expect("request")
            .status()
    })
}

/// An access token of the demo account `username` on the server at `url`.
async fn access_token(http: &reqwest::Client, url: &str, username: &str) -> String {
    let body = serde_json::json!({
        "username": username, "password": DEMO_PASSWORD,
        "device_id": "0192b0b0-0000-7000-8000-000000000009",
    });
    let pair: serde_json::Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token pair");
    pair["access_token"].as_str().expect("token").to_owned()
}

fn run_with_stdin(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = server(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn demo_serves_and_every_demo_account_signs_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = start(dir.path(), &["--demo"]);
    for role in [
        "teacher",
        "school_lead",
        "village_member",
        "township_officer",
        "supervisor",
        "admin",
    ] {
        assert_eq!(
            login(&url, role, DEMO_PASSWORD),
            reqwest::StatusCode::OK,
            "{role}"
        );
    }
    assert!(
        dir.path().join("keys.json").exists(),
        "the embedded default keeps its keys"
    );
    assert!(dir.path().join("ledger.sqlite").exists());
    child.kill().expect("kill");
    child.wait().expect("wait");

    // A second start keeps the data and the keys: the same accounts still sign in.
    let (mut child, url) = start(dir.path(), &["--demo"]);
    assert_eq!(
        login(&url, "supervisor", DEMO_PASSWORD),
        reqwest::StatusCode::OK
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn admin_commands_add_reset_disable_and_enable_users() {
    let dir = demo_dir();
    let add = run_with_stdin(
        dir.path(),
        &[
            "user",
            "add",
            "--username",
            "li",
            "--display-name",
            "李老师",
            "--role",
            "teacher",
            "--org-unit",
            "DEMO-T2-S1",
        ],
        "first-password\n",
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let wrong_unit = run_with_stdin(
        dir.path(),
        &[
            "user",
            "add",
            "--username",
            "wu",
            "--display-name",
            "吴",
            "--role",
            "teacher",
            "--org-unit",
            "DEMO-T2",
        ],
        "first-password\n",
    );
    assert!(
        !wrong_unit.status.success(),
        "a teacher must belong to a school"
    );
    assert!(String::from_utf8_lossy(&wrong_unit.stderr).contains("school"));
    let reset = run_with_stdin(
        dir.path(),
        &["user", "reset-password", "--username", "li"],
        "second-password\n",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );

    let (mut child, url) = start(dir.path(), &[]);
    assert_eq!(
        login(&url, "li", "first-password"),
        reqwest::StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&url, "li", "second-password"),
        reqwest::StatusCode::OK
    );
    // Disabled while the server runs: refused at once; enabled again: signs in.
    for (command, expected) in [
        ("disable", reqwest::StatusCode::UNAUTHORIZED),
        ("enable", reqwest::StatusCode::OK),
    ] {
        let out = run_with_stdin(dir.path(), &["user", command, "--username", "li"], "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            login(&url, "li", "second-password"),
            expected,
            "after {command}"
        );
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn verify_passes_on_the_demo_and_names_a_row_edited_in_the_database() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::{attempt, case};

    let dir = demo_dir();
    let clean = server(dir.path()).arg("verify").output().expect("verify");
    let stdout = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert!(clean.status.success(), "{stdout}");
    assert!(stdout.contains("0 with problems"), "{stdout}");
    // Issue 18, item 13: every demo case was played through the rules.
    assert!(
        stdout.contains("120 case history(ies) checked against the rules, 0 refused"),
        "{stdout}"
    );

    let runtime = runtime();
    let (edited, moved) = runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("ledger.sqlite").display());
        let db = sea_orm::Database::connect(url)
            .await
            .expect("open the ledger");
        let one = attempt::Entity::find()
            .one(&db)
            .await
            .expect("read")
            .expect("an attempt");
        attempt::Entity::update_many()
            .col_expr(attempt::Column::Notes, Expr::value("改过的记录"))
            .filter(attempt::Column::Id.eq(one.id))
            .exec(&db)
            .await
            .expect("edit");
        // R09: a suspected row set to `reported` by hand, with no move and no school attempts.
        let suspected = case::Entity::find()
            .filter(case::Column::Status.eq("suspected"))
            .one(&db)
            .await
            .expect("read")
            .expect("a suspected case");
        case::Entity::update_many()
            .col_expr(case::Column::Status, Expr::value("reported"))
            .filter(case::Column::Id.eq(suspected.id))
            .exec(&db)
            .await
            .expect("edit");
        (one, suspected.id)
    });
    let dirty = server(dir.path()).arg("verify").output().expect("verify");
    let stdout = String::from_utf8_lossy(&dirty.stdout).into_owned();
    assert!(!dirty.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("case {}", edited.case_id))
            && stdout.contains(&format!("attempt {}: the record differs", edited.id)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "case {moved}: the rules refuse its history:\n  stands at `reported`, but its last move entered `suspected`"
        )),
        "{stdout}"
    );
}

/// The peak resident memory of process `pid` so far, in bytes (Linux).
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

#[test]
fn range_requests_stream_so_concurrent_downloads_hold_no_copy_of_the_file() {
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, EntityTrait as _};
    use server::db::entity::{attempt, media_object};

    const SIZE: usize = 96 * 1024 * 1024;
    const READERS: usize = 8;
    let dir = demo_dir();
    // A long recording, stored as the local media folder keeps originals.
    let recording: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let sha = server::digest::sha256_hex(&recording);
    let path = dir
        .path()
        .join("media/originals/sha256")
        .join(&sha[..2])
        .join(&sha);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("media folder");
    std::fs::write(&path, &recording).expect("write the recording");
    drop(recording);
    let runtime = runtime();
    let id = runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("ledger.sqlite").display());
        let db = sea_orm::Database::connect(url).await.expect("open");
        let visit = attempt::Entity::find()
            .one(&db)
            .await
            .expect("read")
            .expect("an attempt");
        let row = media_object::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            sha256: Set(sha.clone()),
            size: Set(i64::try_from(SIZE).expect("size")),
            kind: Set("audio".into()),
            content_type: Set("audio/mp4".into()),
            file_name: Set("visit.m4a".into()),
            target_kind: Set("attempt".into()),
            target_id: Set(visit.id),
            case_id: Set(visit.case_id),
            uploaded_by: Set(visit.author_id),
            created_at: Set(chrono::Utc::now()),
            captured_at: Set(None),
            lat: Set(None),
            lon: Set(None),
            duration_ms: Set(None),
            preview_of: Set(None),
            phash: Set(None),
        };
        row.insert(&db).await.expect("media row").id
    });

    let (mut child, url) = start(dir.path(), &[]);
    let pid = child.id();
    let (before, peak) = runtime.block_on(async {
        let http = reqwest::Client::new();
        let token = access_token(&http, &url, "supervisor").await;
        let before = peak_memory(pid);
        // Players that asked for everything from the start and read slowly (not at all here).
        let mut held = Vec::new();
        for _ in 0..READERS {
            let r = http
                .get(format!("{url}/api/v1/media/{id}"))
                .bearer_auth(&token)
                .header("Range", "bytes=0-")
                .send()
                .await
                .expect("download");
            assert_eq!(r.status(), reqwest::StatusCode::PARTIAL_CONTENT);
            held.push(r);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let peak = peak_memory(pid);
        // One player reads its answer to the end: every byte comes.
        let first = held.swap_remove(0);
        let got = first.bytes().await.expect("body");
        assert_eq!(got.len(), SIZE);
        assert_eq!(server::digest::sha256_hex(&got), sha);
        (before, peak)
    });
    child.kill().expect("kill");
    child.wait().expect("wait");
    let grown = peak.saturating_sub(before);
    assert!(
        grown < (SIZE as u64) / 2,
        "{READERS} open range downloads of a {} MiB file grew the server by {} MiB",
        SIZE >> 20,
        grown >> 20
    );
}

/// Every file and folder under `dir` (itself included) whose mode lets anyone but the owner in.
fn open_to_others(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            out.push((path.clone(), mode));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read_dir") {
                stack.push(entry.expect("entry").path());
            }
        }
    }
    out
}

#[test]
fn r23_the_data_folder_and_everything_in_it_are_the_servers_alone() {
    let dir = demo_dir();
    let (mut child, url) = start(dir.path(), &[]);
    assert_eq!(
        login(&url, "supervisor", DEMO_PASSWORD),
        reqwest::StatusCode::OK
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
    let open = open_to_others(dir.path());
    assert!(open.is_empty(), "readable by others: {open:?}");
}

#[test]
fn r23_verify_finds_audit_entries_deleted_behind_the_triggers_back() {
    use sea_orm::{ConnectionTrait as _, EntityTrait as _, QueryOrder as _};
    use server::db::entity::audit_entry;

    let dir = demo_dir();
    let (mut child, url) = start(dir.path(), &[]);
    let runtime = runtime();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let token = &access_token(&http, &url, "supervisor").await;
        let cases: serde_json::Value = http
            .get(format!("{url}/api/v1/cases?limit=3"))
            .bearer_auth(token)
            .send()
            .await
            .expect("cases")
            .json()
            .await
            .expect("list");
        // Three audited reads.
        for case in cases["items"].as_array().expect("items") {
            let id = case["id"].as_str().expect("id");
            let r = http
                .get(format!("{url}/api/v1/cases/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("case");
            assert!(r.status().is_success());
        }
    });
    child.kill().expect("kill");
    child.wait().expect("wait");
    let verify = || {
        let out = server(dir.path()).arg("verify").output().expect("verify");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, stdout) = verify();
    assert!(ok, "{stdout}");
    assert!(stdout.contains("audit log"), "{stdout}");

    // Someone with the database drops the trigger and deletes one entry in the middle.
    runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("ledger.sqlite").display());
        let db = sea_orm::Database::connect(url).await.expect("open");
        let entries = audit_entry::Entity::find()
            .order_by_asc(audit_entry::Column::Id)
            .all(&db)
            .await
            .expect("entries");
        assert!(entries.len() >= 3);
        db.execute_unprepared("DROP TRIGGER audit_log_no_delete")
            .await
            .expect("drop trigger");
        audit_entry::Entity::delete_by_id(entries[1].id)
            .exec(&db)
            .await
            .expect("delete");
    });
    let (ok, stdout) = verify();
    assert!(!ok, "a deleted audit entry went unseen: {stdout}");
    assert!(stdout.contains("audit log"), "{stdout}");
}
