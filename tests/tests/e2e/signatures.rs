//! R21: participants confirm an attempt with a key registered for their phone. The server
//! verifies each signature against the signer's own key, refuses a tampered one, a wrong,
//! revoked or another user's key, and shows a signature stale once the attempt changed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use reqwest::StatusCode;
use sync_protocol::cases::{CaseStatus, Participant};
use sync_protocol::detail::{AttemptConfirmations, CaseDetail};
use sync_protocol::org::Role;
use sync_protocol::signing::{self, Confirmation, NewSignature, SigningKey, Vouched};
use sync_protocol::sync::{AttemptField, Change, MutationOutcome, RejectCode};
use sync_protocol::{AttemptId, CaseId, SignatureId, UserId};
use tests::TestServer;

/// A staff member signed in on one device, with the key registered for it.
struct Signer {
    token: String,
    key: ed25519_dalek::SigningKey,
    registered: SigningKey,
}

impl Signer {
    /// Signs in as `username` on a new device and registers a key made from `seed`.
    async fn register(server: &TestServer, username: &str, seed: u8) -> anyhow::Result<Self> {
        let token = server.token(username).await?;
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let body = signing::RegisterKey {
            public_key: STANDARD.encode(key.verifying_key().as_bytes()),
        };
        let answer = server.post("/api/v1/signing-keys", &token, &body).await?;
        anyhow::ensure!(
            answer.status == StatusCode::CREATED,
            "{}",
            answer.body.text()
        );
        let registered = answer.body.parse()?;
        Ok(Self {
            token,
            key,
            registered,
        })
    }

    /// A signature of `digest` for `attempt` of `case`, made with `key`, naming this signer's key.
    fn sign(
        &self,
        key: &ed25519_dalek::SigningKey,
        case: CaseId,
        attempt: AttemptId,
        digest: &str,
    ) -> NewSignature {
        let signature = key.sign(&signing::message(attempt, digest));
        NewSignature {
            id: SignatureId::new(),
            case_id: case,
            attempt_id: attempt,
            key_id: self.registered.id,
            content_digest: digest.to_owned(),
            signature: STANDARD.encode(signature.to_bytes()),
            signed_at: chrono::Utc::now(),
            vouched: Vec::new(),
        }
    }

    /// Pushes `signature`, answering its outcome.
    async fn push(
        &self,
        server: &TestServer,
        signature: NewSignature,
    ) -> anyhow::Result<MutationOutcome> {
        server
            .push_one(&self.token, Change::SignAttempt { signature })
            .await
    }
}

/// The fixture account with `role` in the home district.
fn account(server: &TestServer, role: Role) -> anyhow::Result<UserId> {
    server
        .home
        .users
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, u)| UserId(u.id))
        .ok_or_else(|| anyhow::anyhow!("a {role:?} in the fixtures"))
}

/// A home visit on a reported case of the teacher's school (a ledger row) with the teacher, the school lead and a village
/// cadre without an account taking part; answers the case and the attempt.
async fn visit(server: &TestServer) -> anyhow::Result<(CaseId, AttemptId)> {
    let case = CaseId(server.school_case_at(CaseStatus::Reported).await?.id);
    let mut attempt = tests::sample_attempt(case, "与祖母面谈，孩子在外地");
    attempt.participants = vec![
        staff(account(server, Role::Teacher)?, "王老师"),
        staff(account(server, Role::SchoolLead)?, "张校长"),
        Participant {
            user_id: None,
            name: "李主任".into(),
            unit: "村委会".into(),
            department: None,
        },
    ];
    let id = attempt.id;
    let token = server.token("teacher").await?;
    let outcome = server
        .push_one(&token, Change::CreateAttempt { attempt })
        .await?;
    anyhow::ensure!(
        matches!(outcome, MutationOutcome::Applied { .. }),
        "{outcome:?}"
    );
    Ok((case, id))
}

fn staff(user: UserId, name: &str) -> Participant {
    Participant {
        user_id: Some(user),
        name: name.into(),
        unit: "学校".into(),
        department: None,
    }
}

/// The case as the supervisor reads it, and the digest of `attempt` worked out from it here,
/// as a phone does.
async fn read(
    server: &TestServer,
    case: CaseId,
    attempt: AttemptId,
) -> anyhow::Result<(CaseDetail, String)> {
    let token = server.token("supervisor").await?;
    let answer = server.get(&format!("/api/v1/cases/{case}"), &token).await?;
    anyhow::ensure!(answer.status == StatusCode::OK, "{}", answer.body.text());
    let detail: CaseDetail = answer.body.parse()?;
    let held = detail
        .attempts
        .iter()
        .find(|a| a.id == attempt)
        .ok_or_else(|| anyhow::anyhow!("the attempt in the case"))?;
    let digest = signing::content_digest(held, detail.files_of(attempt));
    Ok((detail, digest))
}

/// How `attempt`'s participants stand in `detail`.
fn standing(detail: &CaseDetail, attempt: AttemptId) -> Vec<Confirmation> {
    detail
        .confirmations
        .iter()
        .find(|c| c.attempt_id == attempt)
        .map(|c: &AttemptConfirmations| c.participants.iter().map(|p| p.confirmation).collect())
        .unwrap_or_default()
}

fn rejected(outcome: &MutationOutcome) -> Option<RejectCode> {
    match outcome {
        MutationOutcome::Rejected { code, .. } => Some(*code),
        MutationOutcome::Applied { .. } => None,
    }
}

#[tokio::test]
async fn r21_signatures_verify_a_day_late_and_go_stale_when_the_attempt_changes()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (case, attempt) = visit(&server).await?;
    let (before, digest) = read(&server, case, attempt).await?;
    assert_eq!(
        standing(&before, attempt),
        vec![Confirmation::Missing; 3],
        "nobody has signed yet"
    );

    // The teacher signs at once; the lead signed offline yesterday and syncs today.
    let teacher = Signer::register(&server, "teacher", 1).await?;
    let signature = teacher.sign(&teacher.key, case, attempt, &digest);
    let outcome = teacher.push(&server, signature.clone()).await?;
    assert_eq!(rejected(&outcome), None, "{outcome:?}");
    let again = teacher.push(&server, signature).await?;
    assert_eq!(rejected(&again), None, "a resent signature is the same one");
    let lead = Signer::register(&server, "school_lead", 2).await?;
    let mut yesterday = lead.sign(&lead.key, case, attempt, &digest);
    yesterday.signed_at -= chrono::Duration::days(1);
    let outcome = lead.push(&server, yesterday).await?;
    assert_eq!(rejected(&outcome), None, "{outcome:?}");

    let (signed, now) = read(&server, case, attempt).await?;
    assert_eq!(now, digest);
    let states = standing(&signed, attempt);
    assert!(
        matches!(states[0], Confirmation::Signed { .. }),
        "{states:?}"
    );
    assert!(
        matches!(states[1], Confirmation::Signed { .. }),
        "{states:?}"
    );
    assert_eq!(states[2], Confirmation::Missing, "the cadre has no account");
    assert_eq!(signed.signatures.len(), 2);
    let lead_name = server
        .home
        .users
        .iter()
        .find(|(r, _)| *r == Role::SchoolLead)
        .map(|(_, u)| u.display_name.clone())
        .unwrap_or_default();
    let theirs = signed
        .signatures
        .iter()
        .find(|s| s.user_id == account(&server, Role::SchoolLead).unwrap_or_default());
    assert_eq!(
        theirs.map(|s| s.user_name.as_str()),
        Some(lead_name.as_str())
    );
    assert_eq!(
        signed.signatures[0].device_id, teacher.registered.device_id,
        "the device signing is named"
    );

    assert!(
        signed_in_ledger(&server, case)
            .await?
            .contains("李主任未签字"),
        "the ledger names who has not signed"
    );

    // The teacher edits the notes: both signatures are stale, visibly.
    let edit = Change::UpdateAttempt {
        attempt_id: attempt,
        fields: vec![AttemptField::Notes("补充：祖母答应下周送回".into())],
        add_participants: Vec::new(),
    };
    let edited = server.push_one(&teacher.token, edit).await?;
    assert_eq!(rejected(&edited), None, "{edited:?}");
    let (after, changed) = read(&server, case, attempt).await?;
    assert_ne!(changed, digest);
    let states = standing(&after, attempt);
    assert!(
        states[..2]
            .iter()
            .all(|s| matches!(s, Confirmation::Stale { .. })),
        "{states:?}"
    );
    let ledger = signed_in_ledger(&server, case).await?;
    assert!(ledger.contains("签字后记录被修改"), "{ledger}");
    Ok(())
}

/// The ledger's 签字确认 of `case`'s row.
async fn signed_in_ledger(server: &TestServer, case: CaseId) -> anyhow::Result<String> {
    use sea_orm::EntityTrait as _;
    use server::db::entity::{case as row, student};
    let c = row::Entity::find_by_id(case.0)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("case {case}"))?;
    let pupil = student::Entity::find_by_id(c.student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the case's student"))?;
    let column = server::reports::ledger::COLUMNS
        .iter()
        .position(|c| *c == "签字确认")
        .unwrap_or(0);
    let listed = server.ledger_row(&pupil.registration_no).await?;
    Ok(listed
        .and_then(|r| r.get(column).map(str::to_owned))
        .unwrap_or_default())
}

#[tokio::test]
async fn r21_a_tampered_signature_a_wrong_revoked_or_anothers_key_is_refused() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let (case, attempt) = visit(&server).await?;
    let (_, digest) = read(&server, case, attempt).await?;
    let teacher = Signer::register(&server, "teacher", 3).await?;
    let lead = Signer::register(&server, "school_lead", 4).await?;

    // Tampered: the content named is not the content signed, or the signature's bytes changed.
    let mut other_content = teacher.sign(&teacher.key, case, attempt, &digest);
    other_content.content_digest = digest.replace(&digest[..1], "f");
    if other_content.content_digest == digest {
        other_content.content_digest = digest.replace(&digest[..1], "0");
    }
    let mut flipped = teacher.sign(&teacher.key, case, attempt, &digest);
    let mut bytes = STANDARD.decode(&flipped.signature)?;
    bytes[10] ^= 1;
    flipped.signature = STANDARD.encode(bytes);
    // A wrong key: made with a key that is not the one registered under its id.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let wrong = teacher.sign(&stranger, case, attempt, &digest);
    for tampered in [other_content, flipped, wrong] {
        let outcome = teacher.push(&server, tampered).await?;
        assert_eq!(
            rejected(&outcome),
            Some(RejectCode::BadSignature),
            "{outcome:?}"
        );
    }

    // Another user's key: the lead's key id in the teacher's push.
    let borrowed = lead.sign(&teacher.key, case, attempt, &digest);
    let outcome = teacher.push(&server, borrowed).await?;
    assert_eq!(
        rejected(&outcome),
        Some(RejectCode::Forbidden),
        "{outcome:?}"
    );

    // A revoked key, by its owner; another account may not revoke it.
    let path = format!("/api/v1/signing-keys/{}", teacher.registered.id);
    let foreign = server
        .request(reqwest::Method::DELETE, &path, Some(&lead.token), None)
        .await?;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let revoked = server
        .request(reqwest::Method::DELETE, &path, Some(&teacher.token), None)
        .await?;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let late = teacher.sign(&teacher.key, case, attempt, &digest);
    let outcome = teacher.push(&server, late).await?;
    assert_eq!(
        rejected(&outcome),
        Some(RejectCode::KeyRevoked),
        "{outcome:?}"
    );
    let listed = server.get("/api/v1/signing-keys", &teacher.token).await?;
    let keys: Vec<SigningKey> = listed.body.parse()?;
    assert!(
        keys.iter()
            .any(|k| k.id == teacher.registered.id && k.revoked_at.is_some())
    );

    // Someone who did not take part signs nothing.
    let outsider = Signer::register(&server, "township_officer", 5).await?;
    let not_there = outsider.sign(&outsider.key, case, attempt, &digest);
    let outcome = outsider.push(&server, not_there).await?;
    assert_eq!(
        rejected(&outcome),
        Some(RejectCode::Forbidden),
        "{outcome:?}"
    );

    // None of it was stored.
    let (detail, _) = read(&server, case, attempt).await?;
    assert!(detail.signatures.is_empty(), "{:?}", detail.signatures);

    // Registration: an administrator has no key to register; a key that is not one is a 400.
    let admin = server.token("admin").await?;
    let body = signing::RegisterKey {
        public_key: STANDARD.encode([7u8; 32]),
    };
    let refused = server.post("/api/v1/signing-keys", &admin, &body).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let short = signing::RegisterKey {
        public_key: STANDARD.encode([7u8; 31]),
    };
    let bad = server
        .post("/api/v1/signing-keys", &teacher.token, &short)
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.is_client_problem() && bad.body.text().contains("32 bytes"));
    Ok(())
}

#[tokio::test]
async fn r21_a_staff_signature_vouches_for_a_drawn_signature_among_the_files() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let (case, attempt) = visit(&server).await?;
    let teacher = Signer::register(&server, "teacher", 6).await?;
    let drawing = tests::files::jpeg(64, 32);
    let (answer, sha) = server
        .upload_whole(&teacher.token, "photo", drawing, attempt.0)
        .await?;
    anyhow::ensure!(answer.status().is_success(), "{}", answer.status());
    let (_, digest) = read(&server, case, attempt).await?;

    // Vouching for someone who is not a participant without an account is refused.
    let mut stranger = teacher.sign(&teacher.key, case, attempt, &digest);
    stranger.vouched.push(Vouched {
        name: "张校长".into(),
        drawing_sha256: sha.clone(),
    });
    let outcome = teacher.push(&server, stranger).await?;
    assert_eq!(rejected(&outcome), Some(RejectCode::Invalid), "{outcome:?}");

    let mut vouching = teacher.sign(&teacher.key, case, attempt, &digest);
    vouching.vouched.push(Vouched {
        name: "李主任".into(),
        drawing_sha256: sha,
    });
    let outcome = teacher.push(&server, vouching).await?;
    assert_eq!(rejected(&outcome), None, "{outcome:?}");
    let (detail, _) = read(&server, case, attempt).await?;
    let states = standing(&detail, attempt);
    assert!(
        matches!(states[0], Confirmation::Signed { .. }),
        "{states:?}"
    );
    assert_eq!(states[1], Confirmation::Missing, "the lead has not signed");
    let teacher_id = account(&server, Role::Teacher)?;
    assert!(
        matches!(states[2], Confirmation::Vouched { by, .. } if by == teacher_id),
        "{states:?}"
    );
    Ok(())
}
