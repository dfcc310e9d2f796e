//! A typed client of the server's HTTP API: sign-in with automatic refresh, ledger reads, the
//! sync calls (push and pull), and tus requests for uploads. Every request fails when nothing
//! has moved for a while (`api/watch.rs`), never because a large body takes long on a slow link.

mod watch;

use std::time::Duration;

use bytes::Bytes;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_protocol::auth::{LoginRequest, LogoutRequest, RefreshRequest, TokenPair};
use sync_protocol::cases::{CaseListQuery, CasePage};
use sync_protocol::detail::CaseDetail;
use sync_protocol::signing::{RegisterKey, SigningKey};
use sync_protocol::students::{RollEntry, StudentDetail};
use sync_protocol::sync::{PullRequest, PullResponse, PushRequest, PushResponse};
use sync_protocol::{CaseId, DeviceId, Problem, SigningKeyId, StudentId};

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{status}: {}", problem.detail.as_deref().unwrap_or(&problem.title))]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The problem the server sent.
        problem: Problem,
    },
    /// The server answered with an error that is not a problem document.
    #[error("{status}: unexpected response: {body}")]
    Unexpected {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// The server could not be reached, or the connection broke before the answer was read.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// Nothing moved either way on the connection for this long: the link is dead.
    #[error("no byte moved for {seconds} s")]
    Silent {
        /// Seconds of silence.
        seconds: u64,
    },
    /// A call that needs a session was made before signing in.
    #[error("not signed in")]
    NotSignedIn,
}

impl ClientError {
    /// The stable code of an API error, if this is one.
    pub fn code(&self) -> Option<sync_protocol::ErrorCode> {
        match self {
            Self::Api { problem, .. } => Some(problem.code),
            _ => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The error for a failed answer: its problem document, or the start of its body.
fn failure(status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => ClientError::Api { status, problem },
        Err(_) => ClientError::Unexpected {
            status,
            body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        },
    }
}

/// Called about every half second while a request's body goes, with its bytes handed over.
pub(crate) type Tick<'a> = &'a mut (dyn FnMut(u64) + Send);

/// What a successful tus request answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TusAnswer {
    /// `Upload-Offset`: bytes the server has.
    pub offset: Option<u64>,
    /// `Location`: where a created upload is.
    pub location: Option<String>,
}

/// Longest wait for a connection to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest silence on a request, either way, before it counts as dead, unless the app sets
/// another ([`Client::set_silence_limit`]). A slow 2G link still moves some bytes every few
/// seconds; a dead one never does, and without a limit a sync would hang instead of retrying.
pub const DEFAULT_SILENCE_LIMIT: Duration = Duration::from_secs(30);

/// The HTTP client. It has no timeout on a whole request, which on a slow link may rightly take
/// minutes: a request's silence is watched by [`watch::exchange`], and the kernel fails a
/// connection whose sent bytes stay unacknowledged for `silence` (`TCP_USER_TIMEOUT`).
fn http_client(silence: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(silence)
        .build()
        // Building fails only where no TLS backend or resolver can start at all; the default
        // client (what this used before the timeouts) is then the only thing left to try.
        .unwrap_or_default()
}

/// A client bound to one server and one device.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    device_id: DeviceId,
    session: Option<TokenPair>,
    silence: Duration,
}

impl Client {
    /// A client of the server at `base` (for example `http://127.0.0.1:8080`) for `device_id`.
    pub fn new(base: impl Into<String>, device_id: DeviceId) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http: http_client(DEFAULT_SILENCE_LIMIT),
            device_id,
            session: None,
            silence: DEFAULT_SILENCE_LIMIT,
        }
    }

    /// Sets how long a request may go without a byte moving either way before it fails with
    /// [`ClientError::Silent`].
    pub fn set_silence_limit(&mut self, silence: Duration) {
        if silence != self.silence {
            self.silence = silence;
            self.http = http_client(silence);
        }
    }

    /// A client resuming a saved session.
    pub fn with_session(base: impl Into<String>, device_id: DeviceId, session: TokenPair) -> Self {
        Self {
            session: Some(session),
            ..Self::new(base, device_id)
        }
    }

    /// The current session's tokens, to save between runs.
    pub fn session(&self) -> Option<&TokenPair> {
        self.session.as_ref()
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: Option<&impl Serialize>,
        body: Option<&B>,
        bearer: Option<&str>,
    ) -> Result<Option<T>, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(query) = query {
            request = request.query(query);
        }
        let body = match body {
            Some(body) => {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
                Some(Bytes::from(serde_json::to_vec(body).map_err(|e| {
                    ClientError::Unexpected {
                        status: StatusCode::OK,
                        body: format!("a request body that is not JSON: {e}"),
                    }
                })?))
            }
            None => None,
        };
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let answer = watch::exchange(request, body, self.silence, &mut |_| {}).await?;
        let (status, bytes) = (answer.status, answer.body);
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if status.is_success() {
            return Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
                ClientError::Unexpected {
                    status,
                    body: format!(
                        "{e}: {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                    ),
                }
            })?));
        }
        Err(failure(status, &bytes))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Option<T>, ClientError> {
        self.send(Method::POST, path, None::<&()>, Some(body), None)
            .await
    }

    /// Signs in and keeps the session.
    pub async fn login(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<&TokenPair, ClientError> {
        let request = LoginRequest {
            username: username.into(),
            password: password.into(),
            device_id: self.device_id,
        };
        let pair: Option<TokenPair> = self.post("/api/v1/auth/login", &request).await?;
        Ok(self.session.insert(pair.ok_or(ClientError::NotSignedIn)?))
    }

    /// The current access token.
    fn access_token(&self) -> Result<String, ClientError> {
        Ok(self
            .session
            .as_ref()
            .ok_or(ClientError::NotSignedIn)?
            .access_token
            .clone())
    }

    /// Trades the refresh token for a new pair.
    pub async fn refresh(&mut self) -> Result<&TokenPair, ClientError> {
        let refresh_token = self
            .session
            .as_ref()
            .ok_or(ClientError::NotSignedIn)?
            .refresh_token
            .clone();
        let pair: Option<TokenPair> = self
            .post("/api/v1/auth/refresh", &RefreshRequest { refresh_token })
            .await?;
        Ok(self.session.insert(pair.ok_or(ClientError::NotSignedIn)?))
    }

    /// Ends the session on the server and forgets it here.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        let session = self.session.take().ok_or(ClientError::NotSignedIn)?;
        let _: Option<serde_json::Value> = self
            .post(
                "/api/v1/auth/logout",
                &LogoutRequest {
                    refresh_token: session.refresh_token,
                },
            )
            .await?;
        Ok(())
    }

    /// A call with the access token, refreshing the session once if the token has expired;
    /// `None` when the server answers 204 No Content.
    async fn authed_or_empty<B: Serialize, T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        query: Option<&impl Serialize>,
        body: Option<&B>,
    ) -> Result<Option<T>, ClientError> {
        for attempt in 0..2 {
            let token = self.access_token()?;
            match self
                .send::<B, T>(method.clone(), path, query, body, Some(&token))
                .await
            {
                Err(e) if attempt == 0 && e.status() == Some(StatusCode::UNAUTHORIZED) => {
                    self.refresh().await?;
                }
                other => return other,
            }
        }
        Err(ClientError::NotSignedIn)
    }

    /// A call with the access token that answers with a body, refreshing the session once if
    /// the token has expired.
    async fn authed<B: Serialize, T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        query: Option<&impl Serialize>,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.authed_or_empty(method, path, query, body)
            .await?
            .ok_or_else(|| ClientError::Unexpected {
                status: StatusCode::NO_CONTENT,
                body: format!("no body from {path}"),
            })
    }

    /// A tus 1.0.0 request to `path` (an API path, or the `Location` of an upload) with the
    /// access token, refreshing the session once if it has expired. A refusal is an error like
    /// any call's. `tick` hears how many body bytes have gone, about twice a second.
    pub(crate) async fn tus(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Bytes>,
        tick: Tick<'_>,
    ) -> Result<TusAnswer, ClientError> {
        let mut refreshed = false;
        loop {
            let token = self.access_token()?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(token)
                .header("Tus-Resumable", "1.0.0");
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if body.is_some() {
                request = request.header("Content-Type", "application/offset+octet-stream");
            }
            let answer = watch::exchange(request, body.clone(), self.silence, &mut *tick).await?;
            let status = answer.status;
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                self.refresh().await?;
                continue;
            }
            if status.is_success() {
                return Ok(TusAnswer {
                    offset: answer.header("upload-offset").and_then(|v| v.parse().ok()),
                    location: answer.header("location").map(str::to_owned),
                });
            }
            return Err(failure(status, &answer.body));
        }
    }

    /// A GET with the access token, refreshing once if it has expired.
    async fn get<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        self.authed::<(), T>(Method::GET, path, query, None).await
    }

    /// Pushes a batch of mutations (`POST /api/v1/sync/push`). Safe to resend: a mutation id the
    /// server has seen gets its first result again.
    pub async fn push(&mut self, request: &PushRequest) -> Result<PushResponse, ClientError> {
        self.authed(
            Method::POST,
            "/api/v1/sync/push",
            None::<&()>,
            Some(request),
        )
        .await
    }

    /// Pulls one page of changes since a cursor (`POST /api/v1/sync/pull`).
    pub async fn pull(&mut self, request: &PullRequest) -> Result<PullResponse, ClientError> {
        self.authed(
            Method::POST,
            "/api/v1/sync/pull",
            None::<&()>,
            Some(request),
        )
        .await
    }

    /// One page of the cases the user may see.
    pub async fn cases(&mut self, query: &CaseListQuery) -> Result<CasePage, ClientError> {
        self.get("/api/v1/cases", Some(query)).await
    }

    /// Every case the user may see, following the pages.
    pub async fn all_cases(
        &mut self,
    ) -> Result<Vec<sync_protocol::cases::CaseSummary>, ClientError> {
        let mut query = CaseListQuery {
            limit: Some(500),
            ..CaseListQuery::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.cases(&query).await?;
            all.extend(page.items);
            match page.next_after {
                Some(after) => query.after = Some(after),
                None => return Ok(all),
            }
        }
    }

    /// One case with its attempts.
    pub async fn case(&mut self, id: CaseId) -> Result<CaseDetail, ClientError> {
        self.get(&format!("/api/v1/cases/{id}"), None::<&()>).await
    }

    /// How the server wants photos prepared before they go up.
    pub async fn media_profile(
        &mut self,
    ) -> Result<sync_protocol::media::MediaProfile, ClientError> {
        self.get("/api/v1/media/profile", None::<&()>).await
    }

    /// The roll of the caller's school (`GET /api/v1/roll`; the read is audited on the server).
    pub async fn roll(&mut self) -> Result<Vec<RollEntry>, ClientError> {
        self.get("/api/v1/roll", None::<&()>).await
    }

    /// Registers this device's signing key for the signed-in account
    /// (`POST /api/v1/signing-keys`); the account's earlier key on this device is revoked.
    pub async fn register_key(&mut self, key: &RegisterKey) -> Result<SigningKey, ClientError> {
        self.authed(Method::POST, "/api/v1/signing-keys", None::<&()>, Some(key))
            .await
    }

    /// The signed-in account's signing keys, revoked ones included (`GET /api/v1/signing-keys`).
    pub async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, ClientError> {
        self.get("/api/v1/signing-keys", None::<&()>).await
    }

    /// Revokes one of the signed-in account's signing keys
    /// (`DELETE /api/v1/signing-keys/{id}`): signatures sent with it from now on are refused.
    pub async fn revoke_key(&mut self, id: SigningKeyId) -> Result<(), ClientError> {
        let _none: Option<serde_json::Value> = self
            .authed_or_empty::<(), _>(
                Method::DELETE,
                &format!("/api/v1/signing-keys/{id}"),
                None::<&()>,
                None,
            )
            .await?;
        Ok(())
    }

    /// One student's record (the read is audited on the server).
    pub async fn student(&mut self, id: StudentId) -> Result<StudentDetail, ClientError> {
        self.get(&format!("/api/v1/students/{id}"), None::<&()>)
            .await
    }
}
