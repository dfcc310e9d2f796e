//! Sync end to end: real phones (the `mobile-shared` core, each with its own SQLite store) against
//! the real server.

use std::collections::BTreeSet;

use chrono::Duration;
use mobile_shared::{AttemptDraft, NoProgress, Phone};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{attempt, case};
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseSummary, ReasonCategory};
use sync_protocol::sync::{CaseField, FieldValue};
use sync_protocol::{AttemptId, CaseId};
use tests::TestServer;

/// The cases of the teacher's school, as the server has them.
fn school_cases(server: &TestServer) -> Vec<case::Model> {
    server.school_cases().cloned().collect()
}

/// The attempt ids a phone holds for `cases`.
fn phone_attempts(phone: &Phone, cases: &[case::Model]) -> anyhow::Result<BTreeSet<AttemptId>> {
    let mut ids = BTreeSet::new();
    for c in cases {
        let detail = phone
            .case(c.id.into())?
            .ok_or_else(|| anyhow::anyhow!("phone lacks case {}", c.id))?;
        ids.extend(detail.attempts.iter().map(|a| a.id));
    }
    Ok(ids)
}

/// The attempt ids the server holds for `cases`.
async fn server_attempts(
    server: &TestServer,
    cases: &[case::Model],
) -> anyhow::Result<BTreeSet<AttemptId>> {
    let rows = attempt::Entity::find()
        .filter(attempt::Column::CaseId.is_in(cases.iter().map(|c| c.id)))
        .all(&server.state.db.read)
        .await?;
    Ok(rows.into_iter().map(|a| a.id.into()).collect())
}

fn case_on(phone: &Phone, id: CaseId) -> anyhow::Result<CaseSummary> {
    Ok(phone
        .case(id)?
        .ok_or_else(|| anyhow::anyhow!("phone lacks case {id}"))?
        .case)
}

#[tokio::test]
async fn two_phones_edit_one_case_offline_and_end_alike_with_the_loser_kept() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let mut a = server.phone("teacher").await?;
    let mut b = server.phone("school_lead").await?;
    a.sync(&mut NoProgress).await?;
    b.sync(&mut NoProgress).await?;
    let case = school_cases(&server)[0].clone();
    let id: CaseId = case.id.into();
    let (_, teacher) = server
        .home
        .users
        .iter()
        .find(|(role, _)| *role == sync_protocol::org::Role::Teacher)
        .ok_or_else(|| anyhow::anyhow!("the teacher"))?;

    // Offline, both change the reason; b later. Both record an attempt.
    a.edit_case(id, vec![CaseField::Reason(ReasonCategory::Poverty)])?;
    let from_a = a.record_attempt(AttemptDraft::new(
        id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Refused,
    ))?;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    b.edit_case(id, vec![CaseField::Reason(ReasonCategory::Illness)])?;
    let from_b = b.record_attempt(AttemptDraft::new(
        id,
        AttemptKind::PhoneCall,
        AttemptOutcome::Undecided,
    ))?;
    assert_eq!(
        case_on(&a, id)?.reason,
        Some(ReasonCategory::Poverty),
        "local edits show at once"
    );

    a.sync(&mut NoProgress).await?;
    let report = b.sync(&mut NoProgress).await?;
    assert_eq!(report.rejected, 0);
    a.sync(&mut NoProgress).await?;

    let on_server = server
        .get(
            &format!("/api/v1/cases/{id}"),
            &server.token("supervisor").await?,
        )
        .await?
        .body
        .json();
    assert_eq!(on_server["reason"], "illness", "the later edit wins");
    for phone in [&a, &b] {
        assert_eq!(case_on(phone, id)?.reason, Some(ReasonCategory::Illness));
        let attempts: BTreeSet<AttemptId> = phone
            .case(id)?
            .map(|d| d.attempts.iter().map(|x| x.id).collect())
            .unwrap_or_default();
        assert!(
            attempts.contains(&from_a) && attempts.contains(&from_b),
            "both attempts everywhere (union)"
        );
        // Who changed what: the teacher's value lost, and the conflict names the teacher.
        let conflicts = phone.conflicts()?;
        assert!(
            conflicts.iter().any(|c| c.entity_id == case.id
                && c.field == "reason"
                && c.losing_value == FieldValue::Case(CaseField::Reason(ReasonCategory::Poverty))
                && c.losing_user_id.map(|u| u.0) == Some(teacher.id)
                && c.losing_user_name.as_deref() == Some(teacher.display_name.as_str())),
            "the losing value and its author are listed on every phone: {conflicts:?}"
        );
        assert_eq!(phone.pending_count()?, 0);
    }
    assert_eq!(
        phone_attempts(&a, std::slice::from_ref(&case))?,
        server_attempts(&server, &[case]).await?
    );
    Ok(())
}

#[tokio::test]
async fn a_phone_whose_clock_is_years_ahead_does_not_beat_a_later_real_edit() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let mut fast = server.phone("teacher").await?;
    let mut honest = server.phone("school_lead").await?;
    fast.set_clock_offset(Duration::days(4 * 365));
    fast.sync(&mut NoProgress).await?;
    honest.sync(&mut NoProgress).await?;
    let id: CaseId = school_cases(&server)[0].id.into();

    fast.edit_case(id, vec![CaseField::Reason(ReasonCategory::Religion)])?;
    let report = fast.sync(&mut NoProgress).await?;
    assert_eq!(report.clock_clamped, 1, "the server pulled the stamp back");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Edited on a base that has not seen the fast phone's edit: a real conflict, decided by time.
    honest.edit_case(id, vec![CaseField::Reason(ReasonCategory::EarlyMarriage)])?;
    honest.sync(&mut NoProgress).await?;
    fast.sync(&mut NoProgress).await?;
    for phone in [&fast, &honest] {
        assert_eq!(
            case_on(phone, id)?.reason,
            Some(ReasonCategory::EarlyMarriage)
        );
    }
    Ok(())
}

#[tokio::test]
async fn twenty_phones_push_two_hundred_attempts_each_at_once_and_every_one_lands_once()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let cases = school_cases(&server);
    let before = server_attempts(&server, &cases).await?;
    let mut phones = Vec::new();
    for n in 0..20 {
        let mut phone = server
            .phone(if n % 2 == 0 { "teacher" } else { "school_lead" })
            .await?;
        phone.sync(&mut NoProgress).await?;
        phones.push(phone);
    }
    let mut recorded = BTreeSet::new();
    for (n, phone) in phones.iter().enumerate() {
        for k in 0..200 {
            let case_id: CaseId = cases[(n + k) % cases.len()].id.into();
            let mut draft =
                AttemptDraft::new(case_id, AttemptKind::HomeVisit, AttemptOutcome::Undecided);
            draft.notes = format!("phone {n} visit {k}");
            recorded.insert(phone.record_attempt(draft)?);
        }
    }
    let tasks: Vec<_> = phones
        .into_iter()
        .map(|mut phone| {
            tokio::spawn(async move {
                let report = phone.sync(&mut NoProgress).await;
                (phone, report)
            })
        })
        .collect();
    let mut phones = Vec::new();
    for task in tasks {
        let (phone, report) = task.await?;
        let report = report?;
        assert_eq!(
            (report.pushed, report.applied, report.rejected),
            (200, 200, 0)
        );
        phones.push(phone);
    }
    let after = server_attempts(&server, &cases).await?;
    assert_eq!(
        after.len(),
        before.len() + 4000,
        "every attempt exactly once"
    );
    assert!(recorded.is_subset(&after));
    for phone in &mut phones {
        phone.sync(&mut NoProgress).await?;
        assert_eq!(
            phone_attempts(phone, &cases)?,
            after,
            "every phone of the school has every attempt"
        );
    }
    Ok(())
}
