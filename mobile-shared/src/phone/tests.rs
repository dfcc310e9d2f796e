//! `Phone` against a scripted stand-in server (plain HTTP on loopback), so the retry, refresh
//! and stop rules run without the real server; the end-to-end suite covers the real one.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use sync_protocol::auth::{Me, TokenPair};
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus};
use sync_protocol::evidence::DocumentType;
use sync_protocol::org::Role;
use sync_protocol::sync::{
    CaseField, MutationOutcome, MutationResult, PullResponse, PushRequest, PushResponse, RejectCode,
};
use sync_protocol::{DeviceId, OrgUnitId, UserId};

use super::*;
use crate::sync::{NoProgress, SyncEvent};
use crate::testing::{case_record, pulled_case, stamp};

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) bearer: Option<String>,
    pub(super) body: Vec<u8>,
}

type Handler = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A one-thread HTTP/1.1 server answering each request with `handler`, one connection at a time.
pub(super) struct StandIn {
    pub(super) url: String,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl StandIn {
    pub(super) fn start(
        handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        let handler: Box<Handler> = Box::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer(stream, &*handler, &log2);
                }
            }
        });
        Self { url, log, stop }
    }

    pub(super) fn calls(&self, path: &str) -> Vec<Request> {
        let log = self.log.lock().expect("log");
        log.iter().filter(|r| r.path == path).cloned().collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so the thread ends.
        let _woken = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn answer(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    let (mut length, mut bearer) = (0, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or_default();
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "authorization" => bearer = value.strip_prefix("Bearer ").map(str::to_owned),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        method,
        path,
        bearer,
        body,
    };
    let (status, text) = handler(&request);
    log.lock().expect("log").push(request);
    let content_type = if status < 300 {
        "application/json"
    } else {
        "application/problem+json"
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let mut stream = reader.into_inner();
    let _sent = stream.write_all(response.as_bytes());
}

pub(super) fn problem(status: u16, code: &str) -> (u16, String) {
    let body = serde_json::json!({
        "type": "about:blank", "title": "problem", "status": status, "code": code,
    });
    (status, body.to_string())
}

pub(super) fn tokens(user: &Me, access: &str) -> (u16, String) {
    let pair = TokenPair {
        access_token: access.into(),
        token_type: "Bearer".into(),
        expires_in: 900,
        refresh_token: format!("refresh-{access}"),
        refresh_expires_in: 86_400,
        user: user.clone(),
    };
    (200, serde_json::to_string(&pair).expect("serializes"))
}

pub(super) fn teacher(username: &str) -> Me {
    Me {
        id: UserId::new(),
        username: username.into(),
        display_name: username.into(),
        role: Role::Teacher,
        org_unit_id: OrgUnitId::new(),
    }
}

/// Applies every mutation of a push.
pub(super) fn accept_push(request: &Request) -> (u16, String) {
    let push: PushRequest = serde_json::from_slice(&request.body).expect("a push");
    let response = PushResponse {
        results: push
            .mutations
            .iter()
            .map(|m| MutationResult {
                mutation_id: m.id,
                outcome: MutationOutcome::Applied {
                    version: m.base_version + 1,
                    conflicts: vec![],
                    clock_clamped: false,
                },
            })
            .collect(),
        server_hlc: stamp(1_000, DeviceId::new()),
    };
    (200, serde_json::to_string(&response).expect("serializes"))
}

pub(super) fn empty_page() -> (u16, String) {
    let page = PullResponse {
        records: vec![],
        cursor: "end".into(),
        more: false,
        server_hlc: stamp(1_000, DeviceId::new()),
    };
    (200, serde_json::to_string(&page).expect("serializes"))
}

/// A phone in a temporary directory holding one suspected case, signed in to `server`.
async fn phone_with_a_case(server: &StandIn) -> (tempfile::TempDir, Phone, CaseId) {
    let dir = tempfile::tempdir().expect("dir");
    let mut phone = Phone::open(dir.path()).expect("opens");
    phone
        .login(&server.url, "teacher", "secret")
        .await
        .expect("signs in");
    let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, DeviceId::new()));
    crate::testing::seed(&phone.store, vec![case_record(&case)]);
    phone.set_retry_policy(RetryPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        max_attempts: 5,
    });
    (dir, phone, case.value.id)
}

fn record(phone: &Phone, case_id: CaseId) -> AttemptId {
    phone
        .record_attempt(AttemptDraft::new(
            case_id,
            AttemptKind::HomeVisit,
            AttemptOutcome::Undecided,
        ))
        .expect("recorded")
}

fn routes(
    push: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
) -> impl Fn(&Request) -> (u16, String) + Send + Sync + 'static {
    let user = teacher("teacher");
    move |request: &Request| match request.path.as_str() {
        "/api/v1/auth/login" => tokens(&user, "first"),
        "/api/v1/auth/logout" => (204, String::new()),
        "/api/v1/sync/push" => push(request),
        "/api/v1/sync/pull" => empty_page(),
        _ => problem(404, "not_found"),
    }
}

#[tokio::test]
async fn a_sync_retries_server_errors_then_pushes_and_pulls() {
    let failures = AtomicUsize::new(0);
    let server = StandIn::start(routes(move |request| {
        if failures.fetch_add(1, Ordering::SeqCst) < 2 {
            problem(503, "unavailable")
        } else {
            accept_push(request)
        }
    }));
    let (_dir, mut phone, case_id) = phone_with_a_case(&server).await;
    let attempt = record(&phone, case_id);
    let mut events = Vec::new();
    let report = phone
        .sync(&mut |e: SyncEvent| events.push(e))
        .await
        .expect("syncs");
    assert_eq!((report.pushed, report.applied, report.rejected), (1, 1, 0));
    assert_eq!(phone.pending_count().expect("counts"), 0);
    let retries = events
        .iter()
        .filter(|e| matches!(e, SyncEvent::Retrying { .. }))
        .count();
    assert_eq!(retries, 2);
    assert!(events.contains(&SyncEvent::Pushed { done: 1, total: 1 }));
    // The three pushes carried the same mutation.
    let bodies: Vec<_> = server
        .calls("/api/v1/sync/push")
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    // Pushed but not pulled back yet: it still shows.
    let detail = phone.case(case_id).expect("reads").expect("held");
    assert_eq!(
        detail.attempts.iter().map(|a| a.id).collect::<Vec<_>>(),
        [attempt]
    );
}

#[tokio::test]
async fn the_retry_budget_counts_every_call() {
    let server = StandIn::start(routes(|_| problem(503, "unavailable")));
    let (_dir, mut phone, case_id) = phone_with_a_case(&server).await;
    record(&phone, case_id);
    phone.set_retry_policy(RetryPolicy {
        max_attempts: 3,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    });
    let err = phone.sync(&mut NoProgress).await.expect_err("unreachable");
    assert!(
        matches!(
            err,
            PhoneError::Sync(SyncError::Unreachable { attempts: 3, .. })
        ),
        "{err:?}"
    );
    assert_eq!(server.calls("/api/v1/sync/push").len(), 3);
    assert_eq!(phone.pending_count().expect("counts"), 1);
}

#[tokio::test]
async fn a_reused_mutation_id_stops_at_once_and_keeps_the_outbox() {
    let server = StandIn::start(routes(|_| problem(409, "mutation_id_reused")));
    let (_dir, mut phone, case_id) = phone_with_a_case(&server).await;
    record(&phone, case_id);
    let err = phone.sync(&mut NoProgress).await.expect_err("stops");
    assert!(
        matches!(err, PhoneError::Sync(SyncError::MutationIdReused(_))),
        "{err:?}"
    );
    assert_eq!(server.calls("/api/v1/sync/push").len(), 1);
    assert_eq!(phone.pending_count().expect("counts"), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_new_pair_is_kept() {
    let user = teacher("teacher");
    let server = StandIn::start(move |request: &Request| match request.path.as_str() {
        "/api/v1/auth/login" => tokens(&user, "first"),
        "/api/v1/auth/refresh" => tokens(&user, "second"),
        "/api/v1/sync/push" | "/api/v1/sync/pull"
            if request.bearer.as_deref() != Some("second") =>
        {
            problem(401, "unauthenticated")
        }
        "/api/v1/sync/push" => accept_push(request),
        "/api/v1/sync/pull" => empty_page(),
        _ => problem(404, "not_found"),
    });
    let (dir, mut phone, case_id) = phone_with_a_case(&server).await;
    record(&phone, case_id);
    phone.sync(&mut NoProgress).await.expect("syncs");
    assert_eq!(server.calls("/api/v1/auth/refresh").len(), 1);
    drop(phone);
    let phone = Phone::open(dir.path()).expect("reopens");
    let session: Option<TokenPair> = phone
        .store
        .read(|c| meta::get(c, Key::Session))
        .expect("reads");
    assert_eq!(session.map(|s| s.access_token).as_deref(), Some("second"));
}

#[tokio::test]
async fn another_account_cannot_sign_in_over_unsynced_changes() {
    let (first, second) = (teacher("first"), teacher("second"));
    let server = StandIn::start(move |request: &Request| {
        let body = String::from_utf8_lossy(&request.body);
        match request.path.as_str() {
            "/api/v1/auth/login" if body.contains("\"second\"") => tokens(&second, "b"),
            "/api/v1/auth/login" => tokens(&first, "a"),
            "/api/v1/auth/logout" => (204, String::new()),
            _ => problem(404, "not_found"),
        }
    });
    let dir = tempfile::tempdir().expect("dir");
    let mut phone = Phone::open(dir.path()).expect("opens");
    phone
        .login(&server.url, "first", "pw")
        .await
        .expect("signs in");
    let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, DeviceId::new()));
    crate::testing::seed(&phone.store, vec![case_record(&case)]);
    record(&phone, case.value.id);
    phone.logout().await.expect("signs out");

    let err = phone
        .login(&server.url, "second", "pw")
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, PhoneError::OtherAccountPending { owner, pending: 1 } if owner == "first"),
        "{err:?}"
    );
    assert_eq!(
        server.calls("/api/v1/auth/logout").len(),
        2,
        "the new session was ended"
    );
    assert_eq!(
        phone.cases().expect("reads").len(),
        1,
        "nothing was dropped"
    );
    // The owner may come back and finds everything.
    phone
        .login(&server.url, "first", "pw")
        .await
        .expect("signs in");
    assert_eq!(phone.pending_count().expect("counts"), 1);
}

pub(super) fn offline_phone() -> (tempfile::TempDir, Phone, CaseId) {
    let dir = tempfile::tempdir().expect("dir");
    let phone = Phone::open(dir.path()).expect("opens");
    let case = pulled_case(CaseStatus::Suspected, 3, stamp(1, DeviceId::new()));
    crate::testing::seed(&phone.store, vec![case_record(&case)]);
    (dir, phone, case.value.id)
}

#[test]
fn an_attempt_recorded_offline_shows_at_once_and_survives_a_reopen() {
    let (dir, phone, case_id) = offline_phone();
    let device = phone.device_id();
    let id = record(&phone, case_id);
    assert_eq!(phone.pending_count().expect("counts"), 1);
    drop(phone);
    let phone = Phone::open(dir.path()).expect("reopens");
    assert_eq!(phone.device_id(), device);
    let detail = phone.case(case_id).expect("reads").expect("held");
    assert_eq!(
        detail.attempts.iter().map(|a| a.id).collect::<Vec<_>>(),
        [id]
    );
    let pending = phone.pending().expect("reads");
    assert_eq!(pending[0].mutation.base_version, 0);
    assert_eq!(pending[0].mutation.hlc.device, device);
}

#[test]
fn an_illegal_status_move_is_refused_locally_with_the_machine_s_words() {
    let (_dir, phone, case_id) = offline_phone();
    let err = phone
        .edit_case(
            case_id,
            vec![CaseField::Status(CaseStatus::JointPersuasion)],
        )
        .expect_err("refused");
    let words = CaseStatus::Suspected
        .check_move(CaseStatus::JointPersuasion)
        .expect_err("illegal")
        .to_string();
    assert_eq!(err.to_string(), words);
    assert_eq!(phone.pending_count().expect("counts"), 0);
    // A legal move is queued on the version held here and shows at once.
    phone
        .edit_case(
            case_id,
            vec![CaseField::Status(CaseStatus::SchoolPersuasion)],
        )
        .expect("queued");
    assert_eq!(phone.pending().expect("reads")[0].mutation.base_version, 3);
    assert_eq!(
        phone.cases().expect("reads")[0].status,
        CaseStatus::SchoolPersuasion
    );
}

#[test]
fn a_time_the_server_would_refuse_is_refused_on_the_phone_and_nothing_is_queued() {
    let (_dir, phone, case_id) = offline_phone();
    let mut draft = AttemptDraft::new(case_id, AttemptKind::HomeVisit, AttemptOutcome::Refused);
    draft.occurred_at = chrono::DateTime::parse_from_rfc3339("1999-12-31T23:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok();
    let err = phone.record_attempt(draft).expect_err("refused");
    assert!(
        matches!(&err, PhoneError::Refused { code: RejectCode::Invalid, reason } if reason.contains("occurred_at")),
        "{err:?}"
    );
    assert_eq!(phone.pending_count().expect("counts"), 0);
    assert!(
        phone
            .case(case_id)
            .expect("reads")
            .expect("held")
            .attempts
            .is_empty()
    );
}

#[test]
fn a_phone_clock_years_ahead_stamps_its_changes_years_ahead() {
    let (_dir, mut phone, case_id) = offline_phone();
    phone.set_clock_offset(TimeDelta::days(5 * 365));
    record(&phone, case_id);
    let stamp = phone.pending().expect("reads")[0].mutation.hlc;
    let ahead = stamp.millis - chrono::Utc::now().timestamp_millis();
    assert!(ahead > TimeDelta::days(5 * 365 - 1).num_milliseconds());
}

#[test]
fn network_calls_are_send_futures() {
    fn send<T: Send>(_: &T) {}
    let (_dir, mut phone, _case) = offline_phone();
    send(&phone);
    send(&phone.sync(&mut NoProgress));
    send(&phone.login("http://127.0.0.1:9", "u", "p"));
}

#[test]
fn a_document_recorded_offline_shows_and_takes_edits() {
    let (_dir, phone, case_id) = offline_phone();
    let id = phone
        .record_document(DocumentDraft::new(
            case_id,
            DocumentType::ReturnNotice,
            "限期返校通知书",
        ))
        .expect("recorded");
    phone
        .edit_document(id, vec![DocumentField::IssuedBy("某某镇人民政府".into())])
        .expect("queued");
    let documents = phone.documents(case_id).expect("reads");
    assert_eq!(documents.len(), 1);
    assert_eq!(
        (documents[0].id, documents[0].issued_by.as_str()),
        (id, "某某镇人民政府")
    );
    assert_eq!(phone.pending_count().expect("counts"), 2);
    assert!(matches!(
        phone.edit_document(DocumentId::new(), vec![DocumentField::Notes("x".into())]),
        Err(PhoneError::UnknownDocument(_))
    ));
}
