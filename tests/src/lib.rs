//! The end-to-end harness: a real server on an ephemeral port over a fresh database (SQLite in a
//! temporary directory, or a new PostgreSQL database when `TEST_DATABASE_URL` is set), with two
//! demo districts loaded as fixtures.

use std::collections::HashMap;

pub mod browser;
pub mod fault_proxy;
pub mod field;
pub mod files;
pub mod s3;

use anyhow::Context as _;
use mobile_shared::Client;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait as _, Database};
use server::config::Config;
use server::demo::{Demo, DemoSpec};
use server::{AppState, demo};
use sync_protocol::DeviceId;
use sync_protocol::org::Role;
use tokio::sync::oneshot;

/// A home visit by the class teacher on `case_id`, with `notes`: the attempt tests and the
/// benchmark record.
pub fn sample_attempt(
    case_id: sync_protocol::CaseId,
    notes: impl Into<String>,
) -> sync_protocol::sync::NewAttempt {
    use sync_protocol::cases::{AttemptKind, AttemptOutcome, Participant};
    sync_protocol::sync::NewAttempt {
        id: sync_protocol::AttemptId::new(),
        case_id,
        kind: AttemptKind::HomeVisit,
        occurred_at: chrono::Utc::now(),
        location: None,
        participants: vec![Participant {
            user_id: None,
            name: "王老师".into(),
            unit: "学校".into(),
            department: None,
        }],
        met_whom: "监护人".into(),
        guardian_statement: "家长表示孩子在外打工".into(),
        outcome: AttemptOutcome::Undecided,
        next_step: "三日后再访".into(),
        notes: notes.into(),
    }
}

/// A mutation from `device` on `base_version`, stamped now.
pub fn mutation(
    device: DeviceId,
    base_version: i64,
    change: sync_protocol::sync::Change,
) -> sync_protocol::sync::Mutation {
    sync_protocol::sync::Mutation {
        id: sync_protocol::MutationId::new(),
        base_version,
        hlc: sync_protocol::hlc::HlcStamp {
            millis: chrono::Utc::now().timestamp_millis(),
            counter: 0,
            device,
        },
        change,
    }
}

/// The tus `Upload-Metadata` of a `kind` file (`photo`, `audio`…) with `sha256` for `attempt`.
pub fn tus_metadata(kind: &str, sha256: &str, attempt: uuid::Uuid) -> String {
    use base64::Engine as _;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    format!(
        "kind {},sha256 {},filename {},attempt_id {}",
        b64(kind),
        b64(sha256),
        b64("visit.jpg"),
        b64(&attempt.to_string())
    )
}

/// A supervisor's approving review of `target` (an attempt, a document, a closure) `target_id`.
pub fn approval(
    target: sync_protocol::evidence::ReviewTarget,
    target_id: uuid::Uuid,
) -> sync_protocol::cases::ReviewRequest {
    sync_protocol::cases::ReviewRequest {
        target,
        target_id,
        verdict: sync_protocol::evidence::Verdict::Approved,
        reason: String::new(),
    }
}

/// The case `id` as `phone` holds it.
pub fn held_case(
    phone: &mobile_shared::Phone,
    id: sync_protocol::CaseId,
) -> anyhow::Result<sync_protocol::cases::CaseSummary> {
    phone
        .cases()?
        .into_iter()
        .find(|c| c.id == id)
        .with_context(|| format!("the phone does not hold case {id}"))
}

/// The password of every fixture user.
pub const PASSWORD: &str = "test-pass-1234";

/// A running server and its fixtures. Dropping it stops the server.
pub struct TestServer {
    /// Base URL, like `http://127.0.0.1:41234`.
    pub url: String,
    /// The server's state, for looking behind the API (the database, the sealer).
    pub state: AppState,
    /// District `A`: users named by role (`teacher`, `supervisor`…).
    pub home: Demo,
    /// District `B`: users named `b-<role>`.
    pub other: Demo,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// Builds a [`TestServer`].
#[derive(Debug, Default)]
pub struct TestServerBuilder {
    env: HashMap<String, String>,
    students: Option<usize>,
}

impl TestServerBuilder {
    /// Sets a configuration variable for this server only.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Stores media in `s3` instead of the local folder.
    pub fn with_s3(self, s3: &s3::S3Server) -> Self {
        self.with_env("MEDIA_STORE", "s3")
            .with_env("S3_ENDPOINT", &s3.endpoint)
            .with_env("S3_BUCKET", s3::BUCKET)
            .with_env("S3_ACCESS_KEY_ID", s3::ACCESS_KEY)
            .with_env("S3_SECRET_ACCESS_KEY", s3::SECRET_KEY)
            .with_env("S3_ALLOW_HTTP", "true")
    }

    /// How many students each fixture district has (default 30).
    pub fn with_students(mut self, students: usize) -> Self {
        self.students = Some(students);
        self
    }

    /// Starts the server; it is accepting connections when this returns.
    pub async fn start(self) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        let mut env = self.env;
        env.insert("DATA_DIR".into(), dir.path().display().to_string());
        if let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") {
            env.insert(
                "DATABASE_URL".into(),
                fresh_postgres_database(&admin_url).await?,
            );
        }
        let config = Config::from_lookup(|name| env.get(name).cloned())?;
        let state = AppState::build(config).await?;
        let students = self.students.unwrap_or(30);
        let spec = |code: &str, prefix: &str, seed| DemoSpec {
            district_name: format!("测试区{code}"),
            code: code.into(),
            username_prefix: prefix.into(),
            password: PASSWORD.into(),
            students,
            seed,
        };
        let home = demo::load(&state, &spec("A", "", 1)).await?;
        let other = demo::load(&state, &spec("B", "b-", 2)).await?;
        // What is due on every fixture case, kept before the server (and its keeper) starts, so
        // that no background work races a test's own writes to the database.
        server::cases::due_store::backfill(&state).await?;
        let (url, shutdown) = serve_on_loopback(state.clone()).await?;
        Ok(TestServer {
            url,
            state,
            home,
            other,
            shutdown: Some(shutdown),
            _dir: dir,
        })
    }
}

/// Serves `state` on an ephemeral loopback port until the returned sender is used or dropped;
/// returns the base URL.
async fn serve_on_loopback(state: AppState) -> anyhow::Result<(String, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server::serve(listener, state, async {
            let _ = rx.await;
        })
        .await;
    });
    Ok((url, tx))
}

/// Another server instance over a [`TestServer`]'s database, keys and media store, as behind a
/// load balancer (or the same server after a restart). Dropping it stops it.
pub struct Instance {
    /// Base URL.
    pub url: String,
    _shutdown: oneshot::Sender<()>,
}

/// Creates an empty database on the PostgreSQL server of `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> anyhow::Result<String> {
    let admin = Database::connect(admin_url)
        .await
        .context("connecting to TEST_DATABASE_URL")?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let (base, _) = admin_url
        .rsplit_once('/')
        .context("TEST_DATABASE_URL must end in /<database>")?;
    Ok(format!("{base}/{name}"))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A raw response: status, content type and body.
#[derive(Debug)]
pub struct Raw {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Every header.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: bytes_body::Body,
}

/// Response bodies as text and JSON.
pub mod bytes_body {
    /// A response body.
    #[derive(Debug, Clone)]
    pub struct Body(pub Vec<u8>);

    impl Body {
        /// The body as text (lossy).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.0).into_owned()
        }

        /// The body as JSON.
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.0).unwrap_or(serde_json::Value::Null)
        }

        /// The body as the wire type `T`.
        pub fn parse<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
            serde_json::from_slice(&self.0)
                .map_err(|e| anyhow::anyhow!("not the expected body ({e}): {}", self.text()))
        }
    }
}

impl Raw {
    /// Whether this is a problem document with a 4xx status and a `code`.
    pub fn is_client_problem(&self) -> bool {
        self.status.is_client_error()
            && self.content_type.as_deref() == Some("application/problem+json")
            && self.body.json()["code"].is_string()
            && self.body.json()["status"] == self.status.as_u16()
    }
}

impl TestServer {
    /// A builder with defaults.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// A server with the defaults.
    pub async fn start() -> anyhow::Result<Self> {
        Self::builder().start().await
    }

    /// Starts another instance over this server's database, keys and media store.
    pub async fn another_instance(&self) -> anyhow::Result<Instance> {
        self.instance_on(self.state.config.storage.clone()).await
    }

    /// Another server instance over this one's database and keys, storing media in `storage`
    /// (say, a store it cannot reach).
    pub async fn instance_on(
        &self,
        storage: server::storage::StorageConfig,
    ) -> anyhow::Result<Instance> {
        let mut config = self.state.config.clone();
        config.storage = storage;
        let state = AppState::build(config).await?;
        let (url, shutdown) = serve_on_loopback(state).await?;
        Ok(Instance {
            url,
            _shutdown: shutdown,
        })
    }

    /// The username of the fixture user with `role` in the home district.
    pub fn username(role: Role) -> String {
        role.as_str().to_owned()
    }

    /// The username of the fixture user with `role` in the other district.
    pub fn other_username(role: Role) -> String {
        format!("b-{}", role.as_str())
    }

    /// A client on a new device, signed in as `username`.
    pub async fn client(&self, username: &str) -> anyhow::Result<Client> {
        let mut client = Client::new(&self.url, DeviceId::new());
        client.login(username, PASSWORD).await?;
        Ok(client)
    }

    /// A phone (the real client core) with its own data directory, signed in as `username`.
    pub async fn phone(&self, username: &str) -> anyhow::Result<mobile_shared::Phone> {
        let dir = self
            ._dir
            .path()
            .join("phones")
            .join(uuid::Uuid::new_v4().to_string());
        self.phone_in(&dir, username).await
    }

    /// A phone whose data lives in `dir` (so a test can open it again), signed in as `username`.
    pub async fn phone_in(
        &self,
        dir: &std::path::Path,
        username: &str,
    ) -> anyhow::Result<mobile_shared::Phone> {
        let mut phone = mobile_shared::Phone::open(dir)?;
        phone.set_retry_policy(mobile_shared::RetryPolicy {
            first_delay: std::time::Duration::from_millis(20),
            max_delay: std::time::Duration::from_millis(500),
            max_attempts: 10,
        });
        phone.login(&self.url, username, PASSWORD).await?;
        Ok(phone)
    }

    /// The cases of the home teacher's school, as the fixtures made them.
    pub fn school_cases(&self) -> impl Iterator<Item = &server::db::entity::case::Model> {
        let school = self.home.users[0].1.org_unit_id;
        self.home
            .cases
            .iter()
            .filter(move |c| c.school_id == school)
    }

    /// Gives case `id` a status and an opening day, with no attempts, documents, reviews,
    /// evidence files, conflicts, moves, closure request or ledger: a fixture written straight to
    /// the database, so that a test starts a case's story where it needs. What the server kept
    /// as due on it goes too: it is computed from the new history when next read.
    pub async fn reset_case(
        &self,
        id: uuid::Uuid,
        status: &str,
        opened_on: chrono::NaiveDate,
    ) -> anyhow::Result<server::db::entity::case::Model> {
        use sea_orm::{
            ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
        };
        use server::db::entity::{
            attempt, attempt_participant, case, case_due, case_move, conflict, document,
            ledger_event, ledger_head, media_object, review,
        };
        let db = &self.state.db.write;
        ledger_event::Entity::delete_many()
            .filter(ledger_event::Column::CaseId.eq(id))
            .exec(db)
            .await?;
        ledger_head::Entity::delete_by_id(id).exec(db).await?;
        case_move::Entity::delete_many()
            .filter(case_move::Column::CaseId.eq(id))
            .exec(db)
            .await?;
        document::Entity::delete_many()
            .filter(document::Column::CaseId.eq(id))
            .exec(db)
            .await?;
        review::Entity::delete_many()
            .filter(review::Column::CaseId.eq(id))
            .exec(db)
            .await?;
        media_object::Entity::delete_many()
            .filter(media_object::Column::CaseId.eq(id))
            .exec(db)
            .await?;
        conflict::Entity::delete_many()
            .filter(conflict::Column::CaseId.eq(id))
            .exec(db)
            .await?;
        let attempts: Vec<uuid::Uuid> = attempt::Entity::find()
            .filter(attempt::Column::CaseId.eq(id))
            .all(db)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        attempt_participant::Entity::delete_many()
            .filter(attempt_participant::Column::AttemptId.is_in(attempts.clone()))
            .exec(db)
            .await?;
        attempt::Entity::delete_many()
            .filter(attempt::Column::Id.is_in(attempts))
            .exec(db)
            .await?;
        let row = case::Entity::find_by_id(id)
            .one(db)
            .await?
            .with_context(|| format!("case {id}"))?;
        let mut row: case::ActiveModel = row.into();
        row.status = sea_orm::Set(status.to_owned());
        row.opened_on = sea_orm::Set(opened_on);
        row.closure_reason = sea_orm::Set(None);
        row.relapse_count = sea_orm::Set(0);
        let row = row.update(db).await?;
        case_due::Entity::delete_by_id(id).exec(db).await?;
        Ok(row)
    }

    /// The first case of the home teacher's school, reset to `status`, opened today, with no
    /// history (see [`Self::reset_case`]).
    pub async fn school_case_at(
        &self,
        status: sync_protocol::cases::CaseStatus,
    ) -> anyhow::Result<server::db::entity::case::Model> {
        let id = self
            .school_cases()
            .next()
            .context("a case in the teacher's school")?
            .id;
        let today = server::calendar::china_date(chrono::Utc::now());
        self.reset_case(id, status.as_str(), today).await
    }

    /// The row of the student with `registration_no` in the district supervisor's ledger export
    /// (CSV, 2025 to 2027), if the ledger lists them.
    pub async fn ledger_row(
        &self,
        registration_no: &str,
    ) -> anyhow::Result<Option<csv::StringRecord>> {
        let supervisor = self.token("supervisor").await?;
        let export = self
            .get(
                "/api/v1/reports/ledger.csv?from=2025-01-01&to=2027-12-31",
                &supervisor,
            )
            .await?;
        anyhow::ensure!(export.status == 200, "{}", export.body.text());
        let column = server::reports::ledger::COLUMNS
            .iter()
            .position(|c| *c == "学籍号")
            .context("the ledger names 学籍号")?;
        let body = export
            .body
            .0
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&export.body.0);
        Ok(csv::Reader::from_reader(body)
            .records()
            .filter_map(Result::ok)
            .find(|r| r.get(column) == Some(registration_no)))
    }

    /// Reports an unexcused absence of `student` as the holder of `token` (`POST /api/v1/cases`,
    /// today, from the roll call), answering the new row.
    pub async fn open_absence(
        &self,
        token: &str,
        student: uuid::Uuid,
    ) -> anyhow::Result<sync_protocol::cases::CaseSummary> {
        let body = sync_protocol::cases::OpenCase {
            student_id: student.into(),
            found_by: None,
            first_absent_on: None,
        };
        let r = self.post("/api/v1/cases", token, &body).await?;
        anyhow::ensure!(
            r.status == reqwest::StatusCode::CREATED,
            "{}",
            r.body.text()
        );
        r.body.parse()
    }

    /// A student of the home teacher's school with no case.
    pub async fn pupil_without_case(&self) -> anyhow::Result<server::db::entity::student::Model> {
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
        use server::db::entity::student;
        let school = self.home.users[0].1.org_unit_id;
        let with_case: Vec<uuid::Uuid> = self.home.cases.iter().map(|c| c.student_id).collect();
        student::Entity::find()
            .filter(student::Column::SchoolId.eq(school))
            .all(&self.state.db.read)
            .await?
            .into_iter()
            .find(|s| !with_case.contains(&s.id))
            .context("a student of the school with no case")
    }

    /// The national ID number of `student`, opened from its sealed form.
    pub fn id_number_of(
        &self,
        student: &server::db::entity::student::Model,
    ) -> anyhow::Result<String> {
        self.state
            .sealer
            .open(
                &student.id_number_enc,
                &server::students::seal_context("students", "id_number", student.id),
            )
            .map_err(|e| anyhow::anyhow!("opening the ID number of {}: {e}", student.id))
    }

    /// `PATCH /api/v1/cases/{id}` with `fields`, on the case's current version (read first).
    pub async fn patch_case(
        &self,
        token: &str,
        id: sync_protocol::CaseId,
        fields: &[sync_protocol::sync::CaseField],
    ) -> anyhow::Result<Raw> {
        let path = format!("/api/v1/cases/{id}");
        let version = self.get(&path, token).await?.body.json()["version"]
            .as_i64()
            .unwrap_or(0);
        let body = sync_protocol::cases::CaseChange {
            base_version: version,
            fields: fields.to_vec(),
        };
        self.request(
            reqwest::Method::PATCH,
            &path,
            Some(token),
            Some(("application/json", serde_json::to_vec(&body)?)),
        )
        .await
    }

    /// `POST /api/v1/cases/{id}/reviews` with `review`.
    pub async fn review_case(
        &self,
        token: &str,
        id: sync_protocol::CaseId,
        review: &sync_protocol::cases::ReviewRequest,
    ) -> anyhow::Result<Raw> {
        self.post(&format!("/api/v1/cases/{id}/reviews"), token, review)
            .await
    }

    /// An attempt recorded in the home teacher's school (the fixtures record some).
    pub async fn school_attempt(&self) -> anyhow::Result<uuid::Uuid> {
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
        use server::db::entity::attempt;
        let case = self
            .school_cases()
            .next()
            .context("a case in the teacher's school")?;
        let row = attempt::Entity::find()
            .filter(attempt::Column::CaseId.eq(case.id))
            .one(&self.state.db.read)
            .await?;
        Ok(row.context("an attempt in the teacher's school")?.id)
    }

    /// Pushes `change` as one mutation of a new device as the holder of `token`; answers what
    /// became of it.
    pub async fn push_one(
        &self,
        token: &str,
        change: sync_protocol::sync::Change,
    ) -> anyhow::Result<sync_protocol::sync::MutationOutcome> {
        let request = sync_protocol::sync::PushRequest {
            protocol_version: sync_protocol::sync::PROTOCOL_VERSION,
            mutations: vec![mutation(DeviceId::new(), 0, change)],
        };
        let r = self.post("/api/v1/sync/push", token, &request).await?;
        anyhow::ensure!(
            r.status == reqwest::StatusCode::OK,
            "push: {}",
            r.body.text()
        );
        let answer: sync_protocol::sync::PushResponse = r.body.parse()?;
        answer
            .results
            .into_iter()
            .next()
            .map(|r| r.outcome)
            .context("a push of one mutation answered with no result")
    }

    /// An access token for `username`.
    pub async fn token(&self, username: &str) -> anyhow::Result<String> {
        let client = self.client(username).await?;
        Ok(client.session().context("signed in")?.access_token.clone())
    }

    /// Sends a request and returns the raw response.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Raw> {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        let response = request.send().await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = response.headers().clone();
        let body = bytes_body::Body(response.bytes().await?.to_vec());
        Ok(Raw {
            status,
            content_type,
            headers,
            body,
        })
    }

    /// GET `path` with `bearer`.
    pub async fn get(&self, path: &str, bearer: &str) -> anyhow::Result<Raw> {
        self.request(reqwest::Method::GET, path, Some(bearer), None)
            .await
    }

    /// POST `body` as JSON to `path` with `bearer`.
    pub async fn post(
        &self,
        path: &str,
        bearer: &str,
        body: &impl serde::Serialize,
    ) -> anyhow::Result<Raw> {
        let bytes = serde_json::to_vec(body)?;
        self.request(
            reqwest::Method::POST,
            path,
            Some(bearer),
            Some(("application/json", bytes)),
        )
        .await
    }

    /// A tus creation that carries the whole `file` (creation-with-upload), a `kind` file for
    /// `attempt`, as the holder of `token`; returns the answer and the file's SHA-256.
    pub async fn upload_whole(
        &self,
        token: &str,
        kind: &str,
        file: Vec<u8>,
        attempt: uuid::Uuid,
    ) -> anyhow::Result<(reqwest::Response, String)> {
        let sha = server::digest::sha256_hex(&file);
        let answer = reqwest::Client::new()
            .post(format!("{}/api/v1/uploads", self.url))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", file.len())
            .header("Upload-Metadata", tus_metadata(kind, &sha, attempt))
            .header("Content-Type", "application/offset+octet-stream")
            .body(file)
            .send()
            .await?;
        Ok((answer, sha))
    }

    /// POST JSON text to `path` without a token.
    pub async fn post_json(&self, path: &str, json: &str) -> anyhow::Result<Raw> {
        self.request(
            reqwest::Method::POST,
            path,
            None,
            Some(("application/json", json.as_bytes().to_vec())),
        )
        .await
    }
}
