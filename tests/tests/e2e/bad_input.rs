//! Bad input gets a 4xx problem+json with a stable code, never a 500.

use reqwest::{Method, StatusCode};
use tests::TestServer;

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_client_problems() -> anyhow::Result<()> {
    let server = TestServer::builder()
        .with_env("MAX_JSON_BYTES", "4096")
        .start()
        .await?;
    let device = uuid::Uuid::now_v7();
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "truncated JSON",
            r#"{"username":"teacher","#.into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "not JSON",
            "username=teacher".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "wrong type",
            format!(r#"{{"username":5,"password":"x","device_id":"{device}"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "missing field",
            r#"{"username":"teacher"}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "bad uuid",
            r#"{"username":"t","password":"x","device_id":"nope"}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown field",
            format!(r#"{{"username":"t","password":"x","device_id":"{device}","role":"admin"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "oversize body",
            format!(
                r#"{{"username":"{}","password":"x","device_id":"{device}"}}"#,
                "a".repeat(10_000)
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (name, body, status, code) in cases {
        let r = server.post_json("/api/v1/auth/login", &body).await?;
        assert_eq!(r.status, status, "{name}: {}", r.body.text());
        assert!(r.is_client_problem(), "{name}: {}", r.body.text());
        assert_eq!(r.body.json()["code"], code, "{name}");
    }
    let r = server
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(("text/plain", b"{}".to_vec())),
        )
        .await?;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.is_client_problem());
    Ok(())
}

#[tokio::test]
async fn bad_paths_and_queries_are_client_problems() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("supervisor").await?;
    let cases = [
        (
            "/api/v1/cases/not-a-uuid",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/students/123",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/cases?status=vanished",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/cases?limit=-1",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/cases?limit=100000",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/cases?after=yesterday",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/api/v1/cases?colour=red",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        ("/api/v1/nowhere", StatusCode::NOT_FOUND, "not_found"),
    ];
    for (path, status, code) in cases {
        let r = server.get(path, &token).await?;
        assert_eq!(r.status, status, "{path}: {}", r.body.text());
        assert!(r.is_client_problem(), "{path}: {}", r.body.text());
        assert_eq!(r.body.json()["code"], code, "{path}");
    }
    let r = server
        .request(Method::DELETE, "/api/v1/auth/login", None, None)
        .await?;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.is_client_problem(), "{}", r.body.text());
    Ok(())
}
