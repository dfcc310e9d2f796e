//! Forged and broken access tokens are refused: `alg: none`, a wrong signature, expired, wrong
//! audience or issuer, an unknown `kid`, another algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::TestServer;

/// The header and claims of a real token, to tamper with.
fn parts(token: &str) -> (Value, Value) {
    let mut pieces = token.split('.');
    let mut decode = || -> Value {
        let bytes = B64URL.decode(pieces.next().expect("part")).expect("base64");
        serde_json::from_slice(&bytes).expect("json")
    };
    (decode(), decode())
}

/// The server's real signing key, read from its key file.
fn real_key(server: &TestServer) -> Vec<u8> {
    server::keys::KeyMaterial::load_or_create(&server.state.config.data_dir.join("keys.json"))
        .expect("key file")
        .0
        .signing[0]
        .bytes
        .clone()
}

fn sign(header: &Header, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(key)).expect("sign")
}

#[tokio::test]
async fn tampered_tokens_are_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let good = server.token("supervisor").await?;
    assert_eq!(
        server.get("/api/v1/cases", &good).await?.status,
        StatusCode::OK
    );
    let (_, claims) = parts(&good);
    let key = real_key(&server);
    let hs256 = |kid: &str| {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid.into());
        h
    };
    let now = chrono::Utc::now().timestamp();
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };

    // Sanity: a token we sign with the real key and unchanged claims is accepted.
    assert_eq!(
        server
            .get("/api/v1/cases", &sign(&hs256("k1"), &claims, &key))
            .await?
            .status,
        StatusCode::OK
    );

    let none = format!(
        "{}.{}.",
        B64URL.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
        B64URL.encode(claims.to_string())
    );
    let mut bad_sig = good.clone();
    bad_sig.pop();
    bad_sig.push(if good.ends_with('A') { 'B' } else { 'A' });
    let hs512 = {
        let mut h = Header::new(Algorithm::HS512);
        h.kid = Some("k1".into());
        sign(&h, &claims, &key)
    };
    let cases = [
        ("alg none", none),
        ("wrong signature", bad_sig),
        (
            "other key",
            sign(&hs256("k1"), &claims, b"an-attacker-key-that-is-32-bytes!!"),
        ),
        (
            "expired",
            sign(&hs256("k1"), &with("exp", json!(now - 3600)), &key),
        ),
        (
            "wrong audience",
            sign(&hs256("k1"), &with("aud", json!("someone-else")), &key),
        ),
        (
            "wrong issuer",
            sign(&hs256("k1"), &with("iss", json!("evil")), &key),
        ),
        ("unknown kid", sign(&hs256("k9"), &claims, &key)),
        (
            "no kid",
            sign(&Header::new(Algorithm::HS256), &claims, &key),
        ),
        ("other algorithm", hs512),
        ("garbage", "not.a.jwt".into()),
    ];
    for (name, token) in cases {
        let r = server.get("/api/v1/cases", &token).await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(r.is_client_problem(), "{name}: {}", r.body.text());
        assert_eq!(r.body.json()["code"], "unauthenticated", "{name}");
    }
    Ok(())
}
