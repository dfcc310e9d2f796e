//! Sign-in: every role logs in; refresh rotates; a reused refresh token kills the session;
//! logout revokes; wrong passwords are slowed.

use reqwest::StatusCode;
use sync_protocol::DeviceId;
use sync_protocol::ErrorCode;
use sync_protocol::auth::TokenPair;
use sync_protocol::org::{OrgUnitKind, Role};
use tests::{PASSWORD, TestServer};

#[tokio::test]
async fn every_role_logs_in_and_sees_its_own_account() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    for role in Role::ALL {
        let client = server.client(&TestServer::username(role)).await?;
        let session = client.session().expect("signed in");
        assert_eq!(session.user.role, role);
        assert_eq!(session.token_type, "Bearer");
        assert!(
            session.expires_in > 0 && session.expires_in <= 3600,
            "access tokens are short-lived"
        );
    }
    Ok(())
}

#[tokio::test]
async fn refresh_rotates_and_the_spent_token_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut client = server.client("teacher").await?;
    let first = client.session().expect("signed in").clone();
    let second = client.refresh().await?.clone();
    assert_ne!(first.refresh_token, second.refresh_token);
    assert_ne!(first.access_token, second.access_token);
    // The phone uses its new token: the first one's short grace for a lost answer is over.
    let second = client.refresh().await?.clone();
    // The new access token works.
    assert_eq!(
        server
            .get("/api/v1/cases", &second.access_token)
            .await?
            .status,
        StatusCode::OK
    );

    // Presenting the spent token again is refused, and revokes the whole session.
    let replay = server
        .post_json(
            "/api/v1/auth/refresh",
            &format!(r#"{{"refresh_token":"{}"}}"#, first.refresh_token),
        )
        .await?;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.body.json()["code"], "invalid_refresh_token");
    let err = client
        .refresh()
        .await
        .expect_err("session revoked after reuse");
    assert_eq!(err.code(), Some(ErrorCode::InvalidRefreshToken));
    let stale = server.get("/api/v1/cases", &second.access_token).await?;
    assert_eq!(
        stale.status,
        StatusCode::UNAUTHORIZED,
        "access tokens of a revoked session stop working"
    );
    Ok(())
}

#[tokio::test]
async fn logout_revokes_refresh_and_access_tokens() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut client = server.client("supervisor").await?;
    let session = client.session().expect("signed in").clone();
    client.logout().await?;
    let refresh = server
        .post_json(
            "/api/v1/auth/refresh",
            &format!(r#"{{"refresh_token":"{}"}}"#, session.refresh_token),
        )
        .await?;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert!(refresh.is_client_problem());
    let access = server.get("/api/v1/cases", &session.access_token).await?;
    assert_eq!(access.status, StatusCode::UNAUTHORIZED);
    // Another device's session of the same user is untouched.
    let other = server.client("supervisor").await?;
    let token = &other.session().expect("signed in").access_token;
    assert_eq!(
        server.get("/api/v1/cases", token).await?.status,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let device = uuid::Uuid::now_v7();
    let wrong = server
        .post_json(
            "/api/v1/auth/login",
            &format!(r#"{{"username":"teacher","password":"nope-nope","device_id":"{device}"}}"#),
        )
        .await?;
    let unknown = server
        .post_json(
            "/api/v1/auth/login",
            &format!(r#"{{"username":"nobody","password":"nope-nope","device_id":"{device}"}}"#),
        )
        .await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body.text(), unknown.body.text());
    Ok(())
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_per_account() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let device = uuid::Uuid::now_v7();
    let attempt = |password: &str| {
        format!(r#"{{"username":"school_lead","password":"{password}","device_id":"{device}"}}"#)
    };
    for _ in 0..5 {
        let r = server
            .post_json("/api/v1/auth/login", &attempt("wrong-password"))
            .await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The sixth failure blocks the account; even the right password must wait now.
    let sixth = server
        .post_json("/api/v1/auth/login", &attempt("wrong-password"))
        .await?;
    assert_eq!(sixth.status, StatusCode::UNAUTHORIZED);
    let blocked = server
        .post_json("/api/v1/auth/login", &attempt(PASSWORD))
        .await?;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(blocked.body.json()["code"], "too_many_attempts");
    // Other accounts are not affected by this one's failures.
    server.client("teacher").await?;
    Ok(())
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_or_use_its_tokens() -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::user;
    let server = TestServer::start().await?;
    let token = server.token("village_member").await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::Disabled,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(user::Column::Username.eq("village_member"))
        .exec(&server.state.db.write)
        .await?;
    assert_eq!(
        server.get("/api/v1/cases", &token).await?.status,
        StatusCode::UNAUTHORIZED
    );
    let err = server.client("village_member").await.expect_err("disabled");
    assert!(err.to_string().contains("401"), "{err}");
    Ok(())
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_per_client_address() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let device = uuid::Uuid::now_v7();
    // Thirty-one failures spread over many usernames, all from this address.
    for n in 0..31 {
        let body = format!(
            r#"{{"username":"guess-{n}","password":"wrong-password","device_id":"{device}"}}"#
        );
        let r = server.post_json("/api/v1/auth/login", &body).await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let err = server
        .client("teacher")
        .await
        .expect_err("address is slowed");
    assert!(err.to_string().contains("429"), "{err}");
    Ok(())
}

/// A login body for `username` on `device`.
fn login_body(username: &str, password: &str, device: DeviceId) -> String {
    serde_json::json!({ "username": username, "password": password, "device_id": device })
        .to_string()
}

#[tokio::test]
async fn a_burst_of_parallel_wrong_passwords_is_counted_before_any_is_checked() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let device = DeviceId::new();
    let body = login_body("school_lead", "wrong-password", device);
    let burst = (0..100).map(|_| server.post_json("/api/v1/auth/login", &body));
    let answers = futures::future::try_join_all(burst).await?;
    let checked = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 100);
    // Five free tries, the sixth blocks for a second; a slow burst may see a second or two more.
    assert!(
        checked <= 8,
        "{checked} of 100 parallel wrong passwords were checked"
    );
    Ok(())
}

/// Sends the wrong-password login `body()` until one is refused as throttled (after the free
/// tries, each answered 401).
async fn wrong_until_blocked(server: &TestServer, body: impl Fn() -> String) -> anyhow::Result<()> {
    for _ in 0..20 {
        let r = server.post_json("/api/v1/auth/login", &body()).await?;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(());
        }
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    anyhow::bail!("twenty wrong passwords and never slowed")
}

#[tokio::test]
async fn a_burst_against_an_account_does_not_lock_out_its_user_on_a_known_device()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let phone = DeviceId::new();
    let mut teacher = mobile_shared::Client::new(&server.url, phone);
    teacher.login("teacher", PASSWORD).await?;

    // Wrong passwords from new devices until the account is blocked; then, at once (a block
    // lasts a second at first), a new device must wait, even with the right password.
    wrong_until_blocked(&server, || {
        login_body("teacher", "wrong-password", DeviceId::new())
    })
    .await?;
    let stranger = login_body("teacher", PASSWORD, DeviceId::new());
    let r = server.post_json("/api/v1/auth/login", &stranger).await?;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // The teacher's own phone, with the right password, signs in at once.
    let own = login_body("teacher", PASSWORD, phone);
    let r = server.post_json("/api/v1/auth/login", &own).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
    // Wrong passwords on the known phone are slowed by their own counter.
    wrong_until_blocked(&server, || login_body("teacher", "wrong-password", phone)).await?;
    let r = server.post_json("/api/v1/auth/login", &own).await?;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    Ok(())
}

/// Refreshes `token` without a client, returning the status and the pair if any.
async fn refresh_raw(
    server: &TestServer,
    token: &str,
) -> anyhow::Result<(StatusCode, Option<TokenPair>)> {
    let body = serde_json::json!({ "refresh_token": token }).to_string();
    let r = server.post_json("/api/v1/auth/refresh", &body).await?;
    let pair = (r.status == StatusCode::OK)
        .then(|| serde_json::from_slice(&r.body.0))
        .transpose()?;
    Ok((r.status, pair))
}

#[tokio::test]
async fn a_refresh_retried_after_its_answer_was_lost_gets_the_same_pair() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let client = server.client("teacher").await?;
    let first = client.session().expect("signed in").refresh_token.clone();

    // Two refreshes of one token at once (a retry racing the original): both answered alike.
    let (a, b) = tokio::try_join!(refresh_raw(&server, &first), refresh_raw(&server, &first))?;
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    let (a, b) = (a.1.expect("a pair"), b.1.expect("a pair"));
    assert_eq!(a.refresh_token, b.refresh_token);
    assert_eq!(a.access_token, b.access_token);
    // And once more, later, while the new token is unused.
    let (status, again) = refresh_raw(&server, &first).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again.expect("a pair").refresh_token, a.refresh_token);

    // The new token works; after it is used, the first one is a reuse that ends the session.
    let (status, next) = refresh_raw(&server, &a.refresh_token).await?;
    assert_eq!(status, StatusCode::OK);
    let next = next.expect("a pair");
    assert_eq!(
        refresh_raw(&server, &first).await?.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .get("/api/v1/cases", &next.access_token)
            .await?
            .status,
        StatusCode::UNAUTHORIZED,
        "a reuse after the grace ends the session"
    );
    Ok(())
}

#[tokio::test]
async fn a_password_reset_ends_every_session_of_the_account() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let phone = server
        .client("teacher")
        .await?
        .session()
        .expect("signed in")
        .clone();
    let laptop = server
        .client("teacher")
        .await?
        .session()
        .expect("signed in")
        .clone();
    server::auth::accounts::reset_password(
        &server.state.db.write,
        "teacher",
        "a-new-password-2026",
    )
    .await?;
    for session in [&phone, &laptop] {
        assert_eq!(
            server
                .get("/api/v1/cases", &session.access_token)
                .await?
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            refresh_raw(&server, &session.refresh_token).await?.0,
            StatusCode::UNAUTHORIZED
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_admin_disables_an_account_of_the_district_and_its_tokens_stop_at_once()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let teacher = server
        .client("teacher")
        .await?
        .session()
        .expect("signed in")
        .clone();
    let id = teacher.user.id;
    let admin = server.token("admin").await?;
    let path = |what: &str| format!("/api/v1/users/{id}/{what}");

    // Only an administrator may.
    let supervisor = server.token("supervisor").await?;
    let r = server.post(&path("disable"), &supervisor, &()).await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.is_client_problem());

    let r = server.post(&path("disable"), &admin, &()).await?;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body.text());
    assert_eq!(
        server
            .get("/api/v1/cases", &teacher.access_token)
            .await?
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh_raw(&server, &teacher.refresh_token).await?.0,
        StatusCode::UNAUTHORIZED
    );
    server.client("teacher").await.expect_err("disabled");

    // Enabled again, the account signs in; the old session stays ended.
    let r = server.post(&path("enable"), &admin, &()).await?;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    server.client("teacher").await?;
    assert_eq!(
        refresh_raw(&server, &teacher.refresh_token).await?.0,
        StatusCode::UNAUTHORIZED
    );

    // An account of another district is not this administrator's to see.
    let db = &server.state.db.write;
    let elsewhere =
        server::records::org_unit(db, OrgUnitKind::District, "外区", "X-1", None).await?;
    let stranger = server::records::user(
        db,
        "x-admin",
        "外区管理员",
        Role::Admin,
        &elsewhere,
        PASSWORD,
    )
    .await?;
    let r = server
        .post(
            &format!("/api/v1/users/{}/disable", stranger.id),
            &admin,
            &(),
        )
        .await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = server
        .post("/api/v1/users/not-an-id/disable", &admin, &())
        .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    Ok(())
}
