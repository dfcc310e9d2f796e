//! R21 on the phone: the signing key, signatures made offline, and how pulled signatures show.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use ed25519_dalek::Verifier as _;
use sha2::{Digest as _, Sha256};
use sync_protocol::auth::Me;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus, Participant};
use sync_protocol::media::{MediaKind, MediaRef};
use sync_protocol::signing::{Confirmation, RegisterKey, Signature};
use sync_protocol::sync::{
    EntityKind, MutationOutcome, MutationResult, PulledRecord, PushRequest, PushResponse,
};
use sync_protocol::{DeviceId, MediaId, SigningKeyId};

use super::super::tests::{
    Request, StandIn, accept_push, empty_page, offline_phone, problem, teacher, tokens,
};
use super::*;
use crate::AttemptDraft;
use crate::sync::NoProgress;
use crate::testing::{case_record, page, pulled_case, seed, stamp};

/// The keys a stand-in server registered.
type Keys = Arc<Mutex<Vec<SigningKey>>>;

/// Registers the key a request sends for the account its bearer names, revoking that account's
/// earlier keys (every phone here is one device).
fn register(keys: &Keys, users: &[Me], request: &Request) -> (u16, String) {
    let Some(user) = users
        .iter()
        .find(|u| request.bearer.as_deref() == Some(u.username.as_str()))
    else {
        return problem(401, "unauthenticated");
    };
    let asked: RegisterKey = serde_json::from_slice(&request.body).expect("a key");
    let mut keys = keys.lock().expect("keys");
    for key in keys.iter_mut().filter(|k| k.user_id == user.id) {
        key.revoked_at.get_or_insert_with(Utc::now);
    }
    let key = SigningKey {
        id: SigningKeyId::new(),
        user_id: user.id,
        device_id: "the phone".into(),
        public_key: asked.public_key,
        registered_at: Utc::now(),
        revoked_at: None,
    };
    keys.push(key.clone());
    (201, serde_json::to_string(&key).expect("serializes"))
}

/// A stand-in that signs `users` in (the access token is the username), registers and lists
/// their signing keys, and answers pushes with `push`.
fn key_server(
    users: Vec<Me>,
    push: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
) -> (StandIn, Keys) {
    let keys = Keys::default();
    let held = keys.clone();
    let server = StandIn::start(move |request: &Request| {
        let body = String::from_utf8_lossy(&request.body);
        let bearer = request.bearer.as_deref();
        match (request.method.as_str(), request.path.as_str()) {
            (_, "/api/v1/auth/login") => users
                .iter()
                .find(|u| body.contains(&format!("\"{}\"", u.username)))
                .map_or_else(
                    || problem(401, "bad_credentials"),
                    |u| tokens(u, &u.username),
                ),
            (_, "/api/v1/auth/logout") => (204, String::new()),
            ("POST", "/api/v1/signing-keys") => register(&held, &users, request),
            ("GET", "/api/v1/signing-keys") => {
                let keys = held.lock().expect("keys");
                let mine: Vec<&SigningKey> = keys
                    .iter()
                    .filter(|k| {
                        users
                            .iter()
                            .any(|u| u.id == k.user_id && bearer == Some(&u.username))
                    })
                    .collect();
                (200, serde_json::to_string(&mine).expect("serializes"))
            }
            (_, "/api/v1/sync/push") => push(request),
            (_, "/api/v1/sync/pull") => empty_page(),
            _ => problem(404, "not_found"),
        }
    });
    (server, keys)
}

/// Lowercase hex SHA-256 of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A participant without an account.
fn cadre() -> Participant {
    Participant {
        user_id: None,
        name: "王主任".into(),
        unit: "村委会".into(),
        department: None,
    }
}

/// A staff participant with an account.
fn staff(user: &Me) -> Participant {
    Participant {
        user_id: Some(user.id),
        name: user.display_name.clone(),
        unit: "实验小学".into(),
        department: None,
    }
}

/// A file of `attempt` on `case` as pull sends it.
fn media_ref(case: CaseId, attempt: AttemptId, sha256: &str, preview_of: Option<&str>) -> MediaRef {
    MediaRef {
        id: MediaId::new(),
        sha256: sha256.into(),
        size: 10,
        kind: MediaKind::Photo,
        content_type: "image/jpeg".into(),
        file_name: "visit.jpg".into(),
        target_kind: "attempt".into(),
        target_id: attempt.0,
        case_id: case,
        uploaded_by: UserId::new(),
        created_at: Utc::now(),
        captured_at: None,
        location: None,
        duration_ms: None,
        preview_of: preview_of.map(str::to_owned),
    }
}

/// A phone signed in as `user` to `server`, holding one case with an attempt whose participants
/// are `user` and a village cadre.
async fn phone_with_an_attempt(
    server: &StandIn,
    user: &Me,
) -> (tempfile::TempDir, Phone, CaseId, AttemptId) {
    let dir = tempfile::tempdir().expect("dir");
    let mut phone = Phone::open(dir.path()).expect("opens");
    phone
        .login(&server.url, &user.username, "pw")
        .await
        .expect("signs in");
    let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, DeviceId::new()));
    let case_id = case.value.id;
    seed(&phone.store, vec![case_record(&case)]);
    let mut draft = AttemptDraft::new(case_id, AttemptKind::HomeVisit, AttemptOutcome::Undecided);
    draft.participants = vec![staff(user), cadre()];
    let attempt = phone.record_attempt(draft).expect("recorded");
    (dir, phone, case_id, attempt)
}

#[tokio::test]
async fn r21_an_attempt_signed_offline_queues_one_mutation_that_verifies_over_what_is_held() {
    let user = teacher("teacher");
    let (server, keys) = key_server(vec![user.clone()], accept_push);
    let (dir, mut phone, case_id, attempt_id) = phone_with_an_attempt(&server, &user).await;
    let key = phone.register_key().await.expect("registered");
    assert_eq!(keys.lock().expect("keys").len(), 1);
    drop(server);

    // A file pulled, its preview (not covered), and a drawing still in the media queue.
    let pulled = "a".repeat(64);
    seed(
        &phone.store,
        vec![
            PulledRecord::Media {
                media: media_ref(case_id, attempt_id, &pulled, None),
            },
            PulledRecord::Media {
                media: media_ref(case_id, attempt_id, &"b".repeat(64), Some(&pulled)),
            },
        ],
    );
    let drawing = dir.path().join("drawing.png");
    std::fs::write(&drawing, b"the cadre's drawn signature").expect("written");
    phone
        .attach(attempt_id, MediaKind::Photo, &drawing)
        .expect("queued");
    let drawn = sha256(b"the cadre's drawn signature");

    let before = phone.pending_count().expect("counts");
    let vouched = vec![Vouched {
        name: cadre().name,
        drawing_sha256: drawn.clone(),
    }];
    let id = phone.sign_attempt(attempt_id, vouched).expect("signed");
    let pending = phone.pending().expect("reads");
    assert_eq!(pending.len(), before + 1, "one mutation queued");
    let Some(Change::SignAttempt { signature }) = pending.last().map(|p| &p.mutation.change) else {
        panic!("a signature is queued: {pending:?}");
    };
    assert_eq!((signature.id, signature.key_id), (id, key.id));

    let detail = phone.case(case_id).expect("reads").expect("held");
    let attempt = &detail.attempts[0];
    let digest = signing::content_digest(attempt, [pulled.as_str(), drawn.as_str()]);
    assert_eq!(signature.content_digest, digest);
    let public: [u8; 32] = B64
        .decode(&key.public_key)
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("a key");
    let bytes = B64.decode(&signature.signature).expect("base64");
    let sig = ed25519_dalek::Signature::from_slice(&bytes).expect("a signature");
    verifying
        .verify(&signing::message(attempt_id, &digest), &sig)
        .expect("verifies");

    // It shows at once: the signer signed, the cadre is vouched for.
    assert_eq!(detail.signatures.len(), 1);
    assert_eq!(detail.signatures[0].user_id, user.id);
    let standing: Vec<Confirmation> = detail.confirmations[0]
        .participants
        .iter()
        .map(|p| p.confirmation)
        .collect();
    let signed_at = signature.signed_at;
    assert_eq!(
        standing,
        [
            Confirmation::Signed { signed_at },
            Confirmation::Vouched {
                by: user.id,
                signed_at
            }
        ]
    );
}

#[test]
fn r21_without_a_registered_key_signing_is_refused_and_nothing_is_queued() {
    let (_dir, phone, case_id) = offline_phone();
    let me = teacher("teacher");
    phone
        .store
        .write(|tx| meta::set(tx, Key::Account, &me))
        .expect("signed in once");
    let mut draft = AttemptDraft::new(case_id, AttemptKind::HomeVisit, AttemptOutcome::Undecided);
    draft.participants = vec![staff(&me)];
    let attempt = phone.record_attempt(draft).expect("recorded");
    let before = phone.pending_count().expect("counts");
    let err = phone.sign_attempt(attempt, Vec::new()).expect_err("no key");
    assert!(matches!(err, PhoneError::NoSigningKey), "{err:?}");
    assert_eq!(phone.pending_count().expect("counts"), before);
}

#[tokio::test]
async fn r21_only_a_participant_of_the_attempt_signs_it() {
    let user = teacher("teacher");
    let (server, _keys) = key_server(vec![user.clone()], accept_push);
    let (_dir, mut phone, case_id, _attempt) = phone_with_an_attempt(&server, &user).await;
    phone.register_key().await.expect("registered");
    let mut draft = AttemptDraft::new(case_id, AttemptKind::PhoneCall, AttemptOutcome::Refused);
    draft.participants = vec![cadre()];
    let not_mine = phone.record_attempt(draft).expect("recorded");
    let err = phone
        .sign_attempt(not_mine, Vec::new())
        .expect_err("not a participant");
    assert!(
        matches!(err, PhoneError::NotParticipant(id) if id == not_mine),
        "{err:?}"
    );
}

#[tokio::test]
async fn r21_a_drawing_that_is_not_a_file_of_the_attempt_is_refused() {
    let user = teacher("teacher");
    let (server, _keys) = key_server(vec![user.clone()], accept_push);
    let (_dir, mut phone, _case, attempt) = phone_with_an_attempt(&server, &user).await;
    phone.register_key().await.expect("registered");
    let err = phone
        .sign_attempt(
            attempt,
            vec![Vouched {
                name: cadre().name,
                drawing_sha256: "c".repeat(64),
            }],
        )
        .expect_err("no such drawing");
    assert!(
        matches!(&err, PhoneError::Refused { code: RejectCode::Invalid, reason } if reason.contains("not a file")),
        "{err:?}"
    );
    assert_eq!(
        phone.pending_count().expect("counts"),
        1,
        "the attempt only"
    );
}

#[tokio::test]
async fn r21_a_key_the_server_holds_is_kept_and_a_revoked_one_is_replaced() {
    let user = teacher("teacher");
    let (server, keys) = key_server(vec![user.clone()], accept_push);
    let (_dir, mut phone, _case, _attempt) = phone_with_an_attempt(&server, &user).await;
    let first = phone.register_key().await.expect("registered");
    let again = phone.register_key().await.expect("kept");
    assert_eq!(again, first);
    assert_eq!(keys.lock().expect("keys").len(), 1, "not registered twice");

    keys.lock().expect("keys")[0].revoked_at = Some(Utc::now());
    let new = phone.register_key().await.expect("replaced");
    assert_ne!(new.id, first.id);
    assert_ne!(
        new.public_key, first.public_key,
        "a new key, not the revoked one"
    );
}

#[tokio::test]
async fn r21_another_account_signing_in_does_not_use_the_last_account_s_key() {
    let (first, second) = (teacher("first"), teacher("second"));
    let (server, _keys) = key_server(vec![first.clone(), second.clone()], accept_push);
    let (_dir, mut phone, _case, _attempt) = phone_with_an_attempt(&server, &first).await;
    let key = phone.register_key().await.expect("registered");
    phone.sync(&mut NoProgress).await.expect("syncs");
    phone.logout().await.expect("signs out");

    phone
        .login(&server.url, "second", "pw")
        .await
        .expect("signs in");
    let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, DeviceId::new()));
    seed(&phone.store, vec![case_record(&case)]);
    let mut draft = AttemptDraft::new(
        case.value.id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Undecided,
    );
    draft.participants = vec![staff(&second)];
    let attempt = phone.record_attempt(draft).expect("recorded");
    let err = phone
        .sign_attempt(attempt, Vec::new())
        .expect_err("the first account's key is gone");
    assert!(matches!(err, PhoneError::NoSigningKey), "{err:?}");
    let own = phone.register_key().await.expect("registered");
    assert_eq!(own.user_id, second.id);
    assert_ne!(own.public_key, key.public_key);
}

#[tokio::test]
async fn r21_a_signature_the_server_refuses_no_longer_shows() {
    let user = teacher("teacher");
    let refuse_signatures = |request: &Request| {
        let push: PushRequest = serde_json::from_slice(&request.body).expect("a push");
        let results = push
            .mutations
            .iter()
            .map(|m| MutationResult {
                mutation_id: m.id,
                outcome: match m.change {
                    Change::SignAttempt { .. } => MutationOutcome::Rejected {
                        code: RejectCode::KeyRevoked,
                        reason: "the key was revoked".into(),
                    },
                    _ => MutationOutcome::Applied {
                        version: 1,
                        conflicts: vec![],
                        clock_clamped: false,
                    },
                },
            })
            .collect();
        let response = PushResponse {
            results,
            server_hlc: stamp(1_000, DeviceId::new()),
        };
        (200, serde_json::to_string(&response).expect("serializes"))
    };
    let (server, _keys) = key_server(vec![user.clone()], refuse_signatures);
    let (_dir, mut phone, case_id, attempt) = phone_with_an_attempt(&server, &user).await;
    phone.register_key().await.expect("registered");
    phone.sign_attempt(attempt, Vec::new()).expect("signed");
    let shown = |phone: &Phone| {
        phone
            .case(case_id)
            .expect("reads")
            .expect("held")
            .signatures
    };
    assert_eq!(shown(&phone).len(), 1);
    let report = phone.sync(&mut NoProgress).await.expect("syncs");
    assert_eq!(report.rejected, 1);
    assert!(shown(&phone).is_empty());
}

/// A signature of `attempt` by `signer` over `digest`, as pull sends it.
fn pulled_signature(
    attempt: &sync_protocol::cases::Attempt,
    signer: &Me,
    digest: &str,
    vouched: Vec<Vouched>,
) -> Signature {
    Signature {
        id: SignatureId::new(),
        case_id: attempt.case_id,
        attempt_id: attempt.id,
        user_id: signer.id,
        user_name: signer.display_name.clone(),
        key_id: SigningKeyId::new(),
        device_id: DeviceId::new().to_string(),
        content_digest: digest.into(),
        signature: B64.encode([0; 64]),
        signed_at: Utc::now(),
        received_at: Utc::now(),
        vouched,
    }
}

#[test]
fn r21_a_pulled_signature_shows_with_how_each_participant_stands_and_a_removal_drops_it() {
    let (_dir, phone, case_id) = offline_phone();
    let (head, colleague, absent) = (teacher("head"), teacher("colleague"), teacher("absent"));
    let PulledRecord::Attempt {
        mut attempt,
        version,
        stamps,
    } = crate::testing::pulled_attempt(case_id)
    else {
        unreachable!("an attempt")
    };
    attempt.participants = vec![staff(&head), staff(&colleague), cadre(), staff(&absent)];
    let drawing = "d".repeat(64);
    let digest = signing::content_digest(&attempt, [drawing.as_str()]);
    let vouching = vec![Vouched {
        name: cadre().name,
        drawing_sha256: drawing.clone(),
    }];
    let current = pulled_signature(&attempt, &head, &digest, vouching);
    let stale = pulled_signature(&attempt, &colleague, &"0".repeat(64), Vec::new());
    seed(
        &phone.store,
        vec![
            PulledRecord::Attempt {
                attempt: attempt.clone(),
                version,
                stamps,
            },
            PulledRecord::Media {
                media: media_ref(case_id, attempt.id, &drawing, None),
            },
            PulledRecord::Signature {
                signature: current.clone(),
            },
            PulledRecord::Signature {
                signature: stale.clone(),
            },
        ],
    );
    let standing = |phone: &Phone| {
        let detail = phone.case(case_id).expect("reads").expect("held");
        let confirmations = detail.confirmations[0].participants.iter();
        (
            detail.signatures.len(),
            confirmations.map(|p| p.confirmation).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        standing(&phone),
        (
            2,
            vec![
                Confirmation::Signed {
                    signed_at: current.signed_at
                },
                Confirmation::Stale {
                    signed_at: stale.signed_at
                },
                Confirmation::Vouched {
                    by: head.id,
                    signed_at: current.signed_at
                },
                Confirmation::Missing,
            ]
        )
    );

    let removed = PulledRecord::Removed {
        entity_kind: EntityKind::Signature,
        id: current.id.0,
    };
    phone
        .store
        .write(|tx| crate::sync::apply_page(tx, &page(vec![removed], "c2")))
        .expect("applies");
    let (count, states) = standing(&phone);
    assert_eq!(count, 1);
    assert_eq!(
        states,
        [
            Confirmation::Missing,
            Confirmation::Stale {
                signed_at: stale.signed_at
            },
            Confirmation::Missing,
            Confirmation::Missing,
        ]
    );
}
