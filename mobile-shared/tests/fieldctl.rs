//! `fieldctl` as a field worker uses it, against the real server (issue 18, item 12): a whole
//! visit (participants from the school, the village and a department, whom they met, what the
//! guardian said, the next step, a photo), a paper with its photo, a write-off request, an absence
//! reported from the roll, and a user error said in one line; and (issue 20, R21) two phones that
//! register their keys and both sign one visit.

use std::path::Path;
use std::process::{Command, Stdio};

use sync_protocol::CaseId;
use sync_protocol::cases::{CaseStatus, ClosureReason, Department};
use sync_protocol::detail::CaseDetail;
use sync_protocol::evidence::DocumentType;

/// Runs `fieldctl --dir <dir> <args>` with `input` on its standard input; answers whether it
/// succeeded, and its standard output and error.
fn fieldctl(dir: &Path, args: &[&str], input: &str) -> anyhow::Result<(bool, String, String)> {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldctl"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn r01_r21_fieldctl_records_a_whole_visit_a_paper_a_write_off_request_and_an_absence()
-> anyhow::Result<()> {
    let server = tests::TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id).to_string();
    let work = tempfile::tempdir()?;
    let phone = work.path().join("phone");
    let run = |args: &[&str]| fieldctl(&phone, args, "");

    let (ok, out, err) = fieldctl(
        &phone,
        &[
            "login",
            "--server",
            &server.url,
            "--username",
            "school_lead",
        ],
        &format!("{}\n", tests::PASSWORD),
    )?;
    assert!(ok, "{out}{err}");
    let (ok, _, err) = run(&["sync"])?;
    assert!(ok, "{err}");

    // A user error is one line, naming what is wrong; nothing is recorded.
    let (ok, out, err) = run(&[
        "attempt",
        "record",
        "--case",
        &id,
        "--kind",
        "home_visit",
        "--outcome",
        "refused",
        "--participant",
        "张三",
    ])?;
    assert!(!ok, "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("fieldctl: --participant 张三"), "{err}");

    let photo = work.path().join("visit.jpg");
    std::fs::write(&photo, tests::files::jpeg(640, 480))?;
    let paper = work.path().join("notice.jpg");
    std::fs::write(&paper, tests::files::jpeg(480, 640))?;
    let visit = [
        "attempt",
        "record",
        "--case",
        &id,
        "--kind",
        "collective_visit",
        "--outcome",
        "refused",
        "--met-whom",
        "父亲",
        "--guardian-said",
        "孩子不愿上学",
        "--next-step",
        "请司法所介入",
        "--participant",
        "李主任/上坝村委会",
        "--participant",
        "王警官/派出所/police",
        "--photo",
        photo.to_str().unwrap_or_default(),
    ];
    let (ok, out, err) = run(&visit)?;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&[
        "document",
        "record",
        "--case",
        &id,
        "--type",
        "dropout_notice",
        "--title",
        "辍学通报",
        "--photo",
        paper.to_str().unwrap_or_default(),
    ])?;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&[
        "case",
        "edit",
        "--case",
        &id,
        "--closure-reason",
        "age_mismatch",
    ])?;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(&["sync"])?;
    assert!(ok, "{out}{err}");
    assert!(out.contains("rejected 0"), "{out}");

    // The bureau reads it all on the case.
    let supervisor = server.token("supervisor").await?;
    let detail: CaseDetail = server
        .get(&format!("/api/v1/cases/{id}"), &supervisor)
        .await?
        .body
        .parse()?;
    assert_eq!(detail.case.closure_reason, Some(ClosureReason::AgeMismatch));
    let attempt = detail
        .attempts
        .iter()
        .find(|a| a.guardian_statement == "孩子不愿上学")
        .ok_or_else(|| anyhow::anyhow!("the visit: {:?}", detail.attempts))?;
    assert_eq!(
        (attempt.met_whom.as_str(), attempt.next_step.as_str()),
        ("父亲", "请司法所介入")
    );
    let who: Vec<(&str, Option<Department>, bool)> = attempt
        .participants
        .iter()
        .map(|p| (p.name.as_str(), p.department, p.user_id.is_some()))
        .collect();
    assert_eq!(who.len(), 3, "{who:?}");
    assert!(who[0].2, "the signed-in account first: {who:?}");
    assert_eq!(who[1], ("李主任", None, false));
    assert_eq!(who[2], ("王警官", Some(Department::Police), false));
    let notice = detail
        .documents
        .iter()
        .find(|d| d.doc_type == DocumentType::DropoutNotice)
        .ok_or_else(|| anyhow::anyhow!("the notice"))?;
    for target in [attempt.id.0, notice.id.0] {
        assert!(
            detail
                .media
                .iter()
                .any(|m| m.media.target_id == target && m.media.preview_of.is_none()),
            "a photo of {target}: {:?}",
            detail.media
        );
    }

    // R1: an absence reported from the roll the phone fetched, then sent.
    let pupil = server.pupil_without_case().await?;
    let (ok, out, err) = run(&["roll", "--fetch"])?;
    assert!(ok && out.contains(&pupil.name), "{out}{err}");
    let student = pupil.id.to_string();
    let (ok, out, err) = run(&["case", "open", "--student", &student])?;
    assert!(ok, "{out}{err}");
    let opened = out
        .trim()
        .strip_prefix("opened case ")
        .ok_or_else(|| anyhow::anyhow!("{out}"))?
        .to_owned();
    let (ok, out, err) = run(&["case", "open", "--student", &student])?;
    assert!(!ok && err.contains(&opened), "{out}{err}");
    let (ok, out, err) = run(&["sync"])?;
    assert!(ok && out.contains("rejected 0"), "{out}{err}");
    let r = server
        .get(&format!("/api/v1/cases/{opened}"), &supervisor)
        .await?;
    let reported: CaseDetail = r.body.parse()?;
    assert_eq!(
        (reported.case.student_id.0, reported.case.status),
        (pupil.id, CaseStatus::Absent)
    );
    Ok(())
}

/// R21: the teacher records a visit with the school lead on it and signs it; the lead's phone
/// registers its key, pulls the visit, co-signs it with nothing sent (the signature waits in the
/// outbox), then syncs; the bureau's case detail shows both signatures holding.
#[tokio::test(flavor = "multi_thread")]
async fn r21_a_phone_registers_its_key_and_co_signs_another_teachers_visit() -> anyhow::Result<()> {
    use sync_protocol::org::Role;
    use sync_protocol::signing::Confirmation;
    let server = tests::TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id).to_string();
    let lead = server
        .home
        .users
        .iter()
        .find(|(r, _)| *r == Role::SchoolLead)
        .map(|(_, u)| u.clone())
        .ok_or_else(|| anyhow::anyhow!("a school lead in the fixtures"))?;
    let work = tempfile::tempdir()?;
    let (teacher_phone, lead_phone) = (work.path().join("teacher"), work.path().join("lead"));
    for (dir, username) in [(&teacher_phone, "teacher"), (&lead_phone, "school_lead")] {
        let login = ["login", "--server", &server.url, "--username", username];
        let (ok, out, err) = fieldctl(dir, &login, &format!("{}\n", tests::PASSWORD))?;
        assert!(ok, "{out}{err}");
        let (ok, out, err) = fieldctl(dir, &["key", "register"], "")?;
        assert!(
            ok && out.starts_with("registered signing key"),
            "{out}{err}"
        );
        let (ok, _, err) = fieldctl(dir, &["sync"], "")?;
        assert!(ok, "{err}");
    }

    // The teacher records the visit with the lead on it, signs it and syncs.
    let teacher = |args: &[&str]| fieldctl(&teacher_phone, args, "");
    let staff = format!("{}={}", lead.id, lead.display_name);
    let (ok, out, err) = teacher(&[
        "attempt",
        "record",
        "--case",
        &id,
        "--kind",
        "home_visit",
        "--outcome",
        "refused",
        "--staff",
        &staff,
    ])?;
    assert!(ok, "{out}{err}");
    let attempt = out
        .lines()
        .find_map(|l| l.strip_prefix("recorded "))
        .ok_or_else(|| anyhow::anyhow!("{out}"))?
        .trim()
        .to_owned();
    let (ok, out, err) = teacher(&["sign", "--attempt", &attempt])?;
    assert!(ok && out.starts_with("queued signature"), "{out}{err}");
    let (ok, out, err) = teacher(&["sync"])?;
    assert!(ok && out.contains("rejected 0"), "{out}{err}");

    // The lead pulls it, co-signs it on the phone alone, and syncs later.
    let on_lead = |args: &[&str]| fieldctl(&lead_phone, args, "");
    let (ok, _, err) = on_lead(&["sync"])?;
    assert!(ok, "{err}");
    let (ok, out, err) = on_lead(&["sign", "--attempt", &attempt])?;
    assert!(ok && out.starts_with("queued signature"), "{out}{err}");
    let (ok, out, err) = on_lead(&["pending"])?;
    assert!(
        ok && out.contains("signature"),
        "waits in the outbox: {out}{err}"
    );
    let (ok, out, err) = on_lead(&["sync"])?;
    assert!(ok && out.contains("rejected 0"), "{out}{err}");
    let (ok, out, err) = on_lead(&["case", "show", "--case", &id])?;
    assert!(
        ok && out.contains("confirmed by 2 of 2 participants"),
        "{out}{err}"
    );

    let supervisor = server.token("supervisor").await?;
    let detail: CaseDetail = server
        .get(&format!("/api/v1/cases/{id}"), &supervisor)
        .await?
        .body
        .parse()?;
    let signed: Vec<_> = detail
        .signatures
        .iter()
        .filter(|s| s.attempt_id.to_string() == attempt)
        .map(|s| s.user_id.0)
        .collect();
    assert_eq!(signed.len(), 2, "{:?}", detail.signatures);
    assert!(signed.contains(&lead.id), "{signed:?}");
    let standing = detail
        .confirmations
        .iter()
        .find(|c| c.attempt_id.to_string() == attempt)
        .ok_or_else(|| anyhow::anyhow!("the visit's confirmations"))?;
    assert!(
        standing
            .participants
            .iter()
            .all(|p| matches!(p.confirmation, Confirmation::Signed { .. })),
        "{standing:?}"
    );
    Ok(())
}
