//! Signing in and out of the console. A browser holds one cookie, `kbx_console`: a random secret
//! whose SHA-256 names a row of `console_sessions`, riding on an ordinary sign-in session (the
//! same accounts, the same login throttle, ended by a password reset or a disabled account like
//! any other). The cookie is `HttpOnly`, `SameSite=Strict`, limited to `/console`, and `Secure`
//! when the request came over HTTPS. Every form carries the session's CSRF token; the sign-in form
//! carries the one of a `kbx_login` cookie (double submit), so no other site can post either.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::page;
use crate::auth::AuthUser;
use crate::db;
use crate::db::entity::console_session;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie.
const COOKIE: &str = "kbx_console";
/// The sign-in form's cookie.
const LOGIN_COOKIE: &str = "kbx_login";
/// How long a console session lasts: a working day.
pub const SESSION_HOURS: i64 = 12;

/// A random secret for a cookie or a form, URL-safe.
fn secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name` in `headers`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Whether the request came over HTTPS (directly or through a proxy that says so).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for `name` (`None`: clear it).
fn set_cookie(name: &str, value: Option<&str>, max_age: i64, secure: bool) -> HeaderValue {
    let value = value.unwrap_or("");
    let age = if value.is_empty() { 0 } else { max_age };
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in user of a console page, with the token its forms carry.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// The caller, as the API knows them.
    pub user: AuthUser,
    /// The session's CSRF token.
    pub csrf: String,
    hash: String,
    family: Uuid,
}

impl ConsoleUser {
    /// The refusal of a form whose token is not the session's, if it is not.
    pub fn refusal(&self, token: &str) -> Option<Response> {
        (token.is_empty() || token != self.csrf).then(|| {
            page::refused(
                StatusCode::FORBIDDEN,
                "表单已失效，请返回重新操作（缺少或错误的安全令牌）。",
            )
        })
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/console/login").into_response();
        let Some(secret) = cookie(&parts.headers, COOKIE) else {
            return Err(to_login());
        };
        let hash = crate::digest::sha256_hex(secret.as_bytes());
        let row = db::console::session(&state.db.read, &hash, Utc::now())
            .await
            .map_err(|e| page::failed(&e.into()))?;
        let Some(row) = row else {
            return Err(to_login());
        };
        let user = AuthUser::of_session(state, row.user_id, row.family, row.device_id)
            .await
            .map_err(|e| match e {
                ApiError::Unauthenticated { .. } => to_login(),
                other => page::failed(&other),
            })?;
        Ok(Self {
            user,
            csrf: row.csrf,
            hash,
            family: row.family,
        })
    }
}

/// `GET /console/login`: the sign-in form, with a fresh form token in its cookie.
pub async fn login_page(headers: HeaderMap) -> Response {
    let token = secret();
    let mut answer = page::answer(StatusCode::OK, page::login(&token, None));
    let cookie = set_cookie(LOGIN_COOKIE, Some(&token), 3600, over_https(&headers));
    answer.headers_mut().append(header::SET_COOKIE, cookie);
    answer
}

/// What the sign-in form posts.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/login`: checks the form token, then the password (with the API's throttle),
/// and starts a console session.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if form.csrf.is_empty() || form.csrf != expected {
        return page::refused(
            StatusCode::FORBIDDEN,
            "登录表单已失效，请刷新页面后重新登录。",
        );
    }
    let device = Uuid::now_v7();
    let signed_in =
        crate::auth::sessions::login(&state, &form.username, &form.password, device, peer.ip())
            .await;
    let pair = match signed_in {
        Ok(pair) => pair,
        Err(e) => {
            let (status, why) = match e {
                ApiError::TooManyAttempts { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("登录失败次数过多，请 {retry_after_secs} 秒后再试。"),
                ),
                ApiError::Unauthenticated { .. } => (
                    StatusCode::UNAUTHORIZED,
                    "用户名或密码错误，或账号已停用。".to_owned(),
                ),
                other => return page::failed(&other),
            };
            return page::answer(status, page::login(expected, Some(&why)));
        }
    };
    match start(&state, &pair.access_token, device).await {
        Ok(secret) => {
            let mut answer = Redirect::to("/console").into_response();
            let https = over_https(&headers);
            let max_age = SESSION_HOURS * 3600;
            let headers = answer.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(COOKIE, Some(&secret), max_age, https),
            );
            headers.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, None, 0, https));
            answer
        }
        Err(e) => page::failed(&e),
    }
}

/// Stores a console session on the sign-in session of `access_token`; answers the cookie's secret.
async fn start(state: &AppState, access_token: &str, device: Uuid) -> Result<String, ApiError> {
    let claims = state
        .tokens
        .verify(access_token)
        .map_err(|e| anyhow::anyhow!("a token just issued does not verify: {e}"))?;
    let secret = secret();
    let now = Utc::now();
    let row = console_session::Model {
        token_hash: crate::digest::sha256_hex(secret.as_bytes()),
        user_id: claims.sub,
        family: claims.sid,
        device_id: device,
        csrf: self::secret(),
        created_at: now,
        expires_at: now + Duration::hours(SESSION_HOURS),
    };
    db::console::insert_session(&state.db.write, row).await?;
    Ok(secret)
}

/// What a form of a signed-in page posts, at least.
#[derive(Debug, Deserialize)]
pub struct Token {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`: ends the console session and the sign-in session under it.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: ConsoleUser,
    axum::Form(form): axum::Form<Token>,
) -> Response {
    if let Some(refused) = who.refusal(&form.csrf) {
        return refused;
    }
    let ended = async {
        db::console::end_session(&state.db.write, &who.hash).await?;
        db::sessions::revoke_family(&state.db.write, who.family, Utc::now()).await
    };
    if let Err(e) = ended.await {
        return page::failed(&e.into());
    }
    let mut answer = Redirect::to("/console/login").into_response();
    let cookie = set_cookie(COOKIE, None, 0, over_https(&headers));
    answer.headers_mut().append(header::SET_COOKIE, cookie);
    answer
}
