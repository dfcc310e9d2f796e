//! What is due on cases, through the API and on the phone: R8 (three school attempts within 10
//! working days of the opening) and R9 (the report after that), scoped like the ledger, a
//! deadline in a year without a holiday schedule named rather than guessed, and the items a phone
//! holds following the attempts it syncs.

use chrono::{Datelike as _, Duration, NaiveDate, Utc};
use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress};
use server::calendar::china_date;
use sync_protocol::CaseId;
use sync_protocol::calendar::YearSchedule;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus, DueWhat, ReasonCategory};
use sync_protocol::evidence::DocumentType;
use sync_protocol::org::Role;
use sync_protocol::sync::CaseField;
use tests::{TestServer, held_case};
use uuid::Uuid;

/// The ids of the cases listed, and the rules of each one's items with whether they are overdue.
fn listed(body: &serde_json::Value) -> Vec<(String, Vec<(String, bool)>)> {
    body["cases"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .map(|c| {
                    let items = c["items"]
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .map(|i| {
                                    (
                                        i["rule"].as_str().unwrap_or("").to_owned(),
                                        i["overdue"].as_bool().unwrap_or(false),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (c["case_id"].as_str().unwrap_or("").to_owned(), items)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn r08_r09_due_and_overdue_school_work_is_listed_for_the_schools_scope() -> anyhow::Result<()>
{
    // Enough students that the teacher's school holds three cases.
    let server = TestServer::builder().with_students(150).start().await?;
    let today = china_date(Utc::now());
    // The test runs on today's date: make sure the years it counts in have a schedule.
    for year in [today.year() - 1, today.year()] {
        if server
            .state
            .calendar()
            .await?
            .is_working_day(NaiveDate::from_ymd_opt(year, 6, 1).unwrap_or(today))
            .is_err()
        {
            let weekends_only = YearSchedule {
                year,
                source: "test: weekends only".into(),
                holidays: Vec::new(),
                adjusted_working_days: Vec::new(),
            };
            server::calendar::store::save(&server.state.db.write, &weekends_only, None).await?;
        }
    }
    let mine: Vec<Uuid> = server.school_cases().map(|c| c.id).take(3).collect();
    let [late, fresh, far] = mine.as_slice() else {
        anyhow::bail!("the fixtures hold fewer than three cases in the teacher's school");
    };
    server
        .reset_case(*late, "school_persuasion", today - Duration::days(40))
        .await?;
    server.reset_case(*fresh, "suspected", today).await?;
    // Opened in a year no one will have loaded: its deadline cannot be counted.
    let never = NaiveDate::from_ymd_opt(today.year() + 40, 12, 28).unwrap_or(today);
    server.reset_case(*far, "suspected", never).await?;

    let teacher = server.token("teacher").await?;
    let all = server.get("/api/v1/cases/due", &teacher).await?;
    assert_eq!(all.status, reqwest::StatusCode::OK);
    let body = all.body.json();
    let cases = listed(&body);
    let find = |id: &Uuid| {
        cases
            .iter()
            .find(|(c, _)| *c == id.to_string())
            .map(|(_, i)| i.clone())
    };
    assert_eq!(
        find(late),
        Some(vec![("R8".into(), true), ("R9".into(), true)]),
        "40 days after opening with no attempt: both overdue"
    );
    assert_eq!(
        find(fresh),
        Some(vec![("R8".into(), false), ("R9".into(), false)]),
        "opened today: attempts and then the report due, not late"
    );
    assert_eq!(find(far), None);
    assert!(
        body["calendar_missing"]
            .as_array()
            .is_some_and(|m| m.contains(&serde_json::json!(never.year() + 1))
                || m.contains(&serde_json::json!(never.year()))),
        "{body}"
    );

    let overdue = listed(
        &server
            .get("/api/v1/cases/due?overdue=true", &teacher)
            .await?
            .body
            .json(),
    );
    assert!(overdue.iter().any(|(c, _)| *c == late.to_string()));
    assert!(!overdue.iter().any(|(c, _)| *c == fresh.to_string()));

    // The bureau asks for one school's list.
    let school = server.home.users[0].1.org_unit_id;
    let supervisor = server.token("supervisor").await?;
    let of_school = server
        .get(
            &format!("/api/v1/cases/due?org_unit_id={school}"),
            &supervisor,
        )
        .await?
        .body
        .json();
    let schools: Vec<&str> = of_school["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["school_id"].as_str())
        .collect();
    assert!(!schools.is_empty() && schools.iter().all(|s| *s == school.to_string()));
    assert!(
        listed(&of_school)
            .iter()
            .any(|(c, _)| *c == late.to_string())
    );

    // Pages follow each other without overlap.
    let first = server
        .get("/api/v1/cases/due?limit=2", &supervisor)
        .await?
        .body
        .json();
    let after = first["next_after"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("a next page: {first}"))?;
    let second = server
        .get(
            &format!("/api/v1/cases/due?limit=2&after={after}"),
            &supervisor,
        )
        .await?
        .body
        .json();
    let ids = |page: &serde_json::Value| -> Vec<String> {
        listed(page).into_iter().map(|(c, _)| c).collect()
    };
    assert_eq!(ids(&first).len(), 2);
    assert!(ids(&second).iter().all(|c| c.as_str() > after));
    assert!(
        server
            .get("/api/v1/cases/due?limit=0", &supervisor)
            .await?
            .is_client_problem()
    );

    // Another district's teacher sees none of it.
    let outsider = server.token("b-teacher").await?;
    let theirs = listed(
        &server
            .get("/api/v1/cases/due", &outsider)
            .await?
            .body
            .json(),
    );
    assert!(
        theirs
            .iter()
            .all(|(c, _)| !mine.iter().any(|m| m.to_string() == *c))
    );
    Ok(())
}

#[tokio::test]
async fn r08_the_phone_holds_each_cases_due_items_and_they_follow_its_attempts()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id);
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut NoProgress).await?;
    let due = held_case(&phone, id)?.due;
    assert_eq!(
        due.first().map(|i| (i.rule.as_str(), i.what.clone())),
        Some(("R8", DueWhat::SchoolAttempts { done: 0, needed: 3 })),
        "{due:?}"
    );
    assert!(due[0].hint.contains("已劝返0次"), "{}", due[0].hint);
    // The teacher's list of next steps holds the attempts, not the lead's report.
    let today = server::calendar::china_date(chrono::Utc::now());
    let steps = phone.next_steps(Role::Teacher, today)?;
    let mine: Vec<&str> = steps
        .iter()
        .filter(|s| s.case_id == id)
        .map(|s| s.item.rule.as_str())
        .collect();
    assert_eq!(mine, ["R8"]);
    assert!(steps.iter().all(|s| s.item.who == Role::Teacher));
    assert!(
        phone
            .next_steps(Role::SchoolLead, today)?
            .iter()
            .any(|s| s.case_id == id && s.item.rule == "R9")
    );

    // An attempt recorded and synced: the next pull brings the case again, one attempt further.
    phone.record_attempt(AttemptDraft::new(
        id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Refused,
    ))?;
    phone.sync(&mut NoProgress).await?;
    let due = held_case(&phone, id)?.due;
    assert_eq!(
        due.first().map(|i| i.what.clone()),
        Some(DueWhat::SchoolAttempts { done: 1, needed: 3 }),
        "{due:?}"
    );

    // The web reads the same items.
    let detail = server
        .get(
            &format!("/api/v1/cases/{id}"),
            &server.token("teacher").await?,
        )
        .await?
        .body
        .json();
    assert_eq!(detail["due"][0]["what"]["done"], 1, "{detail}");
    Ok(())
}

#[tokio::test]
async fn r13_a_family_gone_to_another_county_is_notified_in_writing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::SchoolPersuasion).await?;
    let id = CaseId::from(case.id);
    let teacher = server.token("teacher").await?;
    let moved = [CaseField::Reason(ReasonCategory::MovedAcrossCounty)];
    let r = server.patch_case(&teacher, id, &moved).await?;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    let r13 = |case: &serde_json::Value| {
        case["due"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["rule"] == "R13")
            .cloned()
    };
    let owed = r13(&r.body.json()).ok_or_else(|| anyhow::anyhow!("R13 is due"))?;
    assert_eq!(owed["who"], "supervisor");
    assert_eq!(owed["what"]["kind"], "cross_county_notice");

    let mut bureau = server.phone("supervisor").await?;
    bureau.sync(&mut NoProgress).await?;
    bureau.record_document(DocumentDraft::new(
        id,
        DocumentType::CrossCountyNotice,
        "关于跨县流动辍学学生的函",
    ))?;
    let report = bureau.sync(&mut NoProgress).await?;
    assert_eq!(report.rejected, 0);
    let now = server
        .get(&format!("/api/v1/cases/{id}"), &teacher)
        .await?
        .body
        .json();
    assert_eq!(r13(&now), None, "{now}");
    Ok(())
}

#[tokio::test]
async fn r08_ten_working_days_across_the_spring_festival_end_on_its_adjusted_saturday()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let id = server
        .school_cases()
        .next()
        .map(|c| c.id)
        .ok_or_else(|| anyhow::anyhow!("a case"))?;
    let opened = NaiveDate::from_ymd_opt(2026, 2, 9).ok_or_else(|| anyhow::anyhow!("date"))?;
    server.reset_case(id, "suspected", opened).await?;
    let case = server
        .get(
            &format!("/api/v1/cases/{id}"),
            &server.token("teacher").await?,
        )
        .await?
        .body
        .json();
    // 2026-02-15..23 is the Spring Festival holiday; Saturday 02-28 is an adjusted working day.
    assert_eq!(case["due"][0]["rule"], "R8", "{case}");
    assert_eq!(case["due"][0]["due_on"], "2026-02-28", "{case}");
    Ok(())
}

/// Every case's stored due items, once each is current: they equal what the rules give from the
/// case's whole history now. Waits (up to 30 s) while the server is still bringing rows up to
/// date; answers the stored rows by case.
async fn kept_due(
    server: &TestServer,
) -> anyhow::Result<std::collections::HashMap<Uuid, server::db::entity::case_due::Model>> {
    let state = &server.state;
    let cases = server::db::cases::all_page(&state.db.read, None, 100_000).await?;
    let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
    let started = std::time::Instant::now();
    loop {
        let calendar = state.calendar().await?;
        let histories = server::cases::history::load(
            &state.db.read,
            &state.sealer,
            &cases,
            state.config.leaving_age,
        )
        .await?;
        let stored = server::db::due::stored(&state.db.read, &ids).await?;
        let differing: Vec<Uuid> = ids
            .iter()
            .copied()
            .filter(|id| {
                let computed = histories
                    .get(id)
                    .map(|h| server::cases::due::due_or_calendar_missing(h, &calendar.calendar));
                let kept = stored
                    .get(id)
                    .and_then(|row| serde_json::from_str(&row.items).ok());
                computed.is_none() || kept != computed
            })
            .collect();
        if differing.is_empty() {
            return Ok(stored);
        }
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{} of {} cases' stored due items are not what their histories give: {:?}",
            differing.len(),
            ids.len(),
            &differing[..differing.len().min(5)]
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn r08_what_is_due_is_kept_as_cases_change_and_recomputed_when_a_schedule_is_loaded()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let before = kept_due(&server).await?;
    assert!(!before.is_empty());

    // An attempt pushed: its case's stored items are marked stale in the same transaction, and
    // the keeper brings them up to date.
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id);
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut NoProgress).await?;
    phone.record_attempt(AttemptDraft::new(
        id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Refused,
    ))?;
    phone.sync(&mut NoProgress).await?;
    let after_push = kept_due(&server).await?;
    let items: Vec<sync_protocol::cases::DueItem> = serde_json::from_str(
        &after_push
            .get(&case.id)
            .map(|r| r.items.clone())
            .unwrap_or_default(),
    )?;
    assert_eq!(
        items.first().map(|i| i.what.clone()),
        Some(DueWhat::SchoolAttempts { done: 1, needed: 3 }),
        "{items:?}"
    );
    assert_ne!(after_push.get(&case.id), before.get(&case.id));

    // A holiday schedule loaded: deadlines may move, so every row is computed again.
    let next = server::calendar::china_date(Utc::now()).year() + 1;
    let schedule = YearSchedule {
        year: next,
        source: "test schedule".into(),
        holidays: Vec::new(),
        adjusted_working_days: Vec::new(),
    };
    let admin = server.token("admin").await?;
    let loaded = server
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/calendars/{next}"),
            Some(&admin),
            Some(("application/json", serde_json::to_vec(&schedule)?)),
        )
        .await?;
    assert_eq!(loaded.status, reqwest::StatusCode::NO_CONTENT);
    let started = std::time::Instant::now();
    loop {
        let now = kept_due(&server).await?;
        if now
            .iter()
            .all(|(id, row)| after_push[id].basis != row.basis)
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the stored items were not computed again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}
