//! The ledger exports through the real server (R22, R23): the .xlsx opens and reads back with
//! one row per case of the caller's scope, the CSV says the same, and only the people who may
//! export get one; the dropout report form (R9) of one case, printable and audited.

use std::io::Cursor;

use calamine::{Data, DataType as _, Reader as _, Xlsx};
use mobile_shared::{AttemptDraft, NoProgress};
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use server::db::entity::{audit_entry, student};
use server::reports::ledger::COLUMNS;
use sync_protocol::CaseId;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus};
use tests::TestServer;

const PERIOD: &str = "from=2025-01-01&to=2027-12-31";

/// The first sheet of a ledger workbook as text.
struct Sheet {
    name: String,
    /// The two title rows' text.
    title: [String; 2],
    /// The header, then a row per case.
    rows: Vec<Vec<String>>,
    /// Whether every 立案日期 below the header is a real Excel date, not text.
    real_dates: bool,
}

/// The day an Excel date serial stands for.
fn excel_day(serial: f64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    (epoch + chrono::Duration::days(serial as i64)).to_string()
}

/// Reads the ledger workbook `bytes`.
fn sheet(bytes: &[u8]) -> anyhow::Result<Sheet> {
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec()))?;
    let name = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no sheet"))?;
    let range = book.worksheet_range(&name)?;
    let opened = COLUMNS.iter().position(|c| *c == "立案日期").unwrap_or(0);
    let real_dates = range
        .rows()
        .skip(3)
        .all(|row| matches!(row.get(opened), Some(Data::DateTime(_))));
    let mut rows: Vec<Vec<String>> = range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    Data::DateTime(d) => excel_day(d.as_f64()),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    anyhow::ensure!(rows.len() >= 3, "title rows and a header: {rows:?}");
    let rest = rows.split_off(2);
    let title = [rows[0][0].clone(), rows[1][0].clone()];
    Ok(Sheet {
        name,
        title,
        rows: rest,
        real_dates,
    })
}

#[tokio::test]
async fn r22_the_ledger_exports_as_xlsx_and_csv_with_a_row_per_case_in_scope() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let supervisor = server.token("supervisor").await?;
    let xlsx = server
        .get(
            &format!("/api/v1/reports/ledger.xlsx?{PERIOD}"),
            &supervisor,
        )
        .await?;
    assert_eq!(xlsx.status, reqwest::StatusCode::OK);
    assert!(
        xlsx.headers
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("ledger-2025-01-01-2027-12-31.xlsx"))
    );
    let book = sheet(&xlsx.body.0)?;
    assert_eq!(book.name, "台账");
    assert_eq!(
        book.title[0],
        format!("{}控辍保学台账", server.home.district.name)
    );
    assert!(
        book.title[1].starts_with("统计期间：2025-01-01 至 2027-12-31　生成时间："),
        "{}",
        book.title[1]
    );
    assert!(book.real_dates, "立案日期 are real dates");
    let rows = book.rows;
    assert_eq!(rows[0], COLUMNS.map(str::to_owned).to_vec());
    // Absences are attendance follow-up, not ledger rows (R1–R4).
    let cases: Vec<_> = server
        .home
        .cases
        .iter()
        .filter(|c| {
            c.status
                .parse::<CaseStatus>()
                .is_ok_and(|s| s.is_ledger_row())
        })
        .collect();
    assert!(
        cases.len() < server.home.cases.len(),
        "the demo has absences"
    );
    assert_eq!(
        rows.len() - 1,
        cases.len(),
        "one row per ledger case of the district"
    );
    assert_eq!(rows[1][0], "1");
    assert_eq!(
        rows.last().map(|r| r[0].clone()),
        Some(cases.len().to_string())
    );

    // The attempt counts agree with the next step's hint (counted as the rules count them).
    let column = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap_or(0);
    let (school, next) = (column("学校劝返次数"), column("下一步"));
    let mut hinted = 0;
    for row in &rows[1..] {
        if let Some(said) = row[next]
            .split("已劝返")
            .nth(1)
            .and_then(|rest| rest.split('次').next())
        {
            assert_eq!(row[school], said, "{row:?}");
            hinted += 1;
        }
    }
    assert!(hinted > 0, "some rows hint at their school attempts");

    // Each case is there with its student and its status in words.
    let first = cases[0];
    let pupil = student::Entity::find_by_id(first.student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("student"))?;
    let row = rows
        .iter()
        .find(|r| r[9] == pupil.registration_no)
        .ok_or_else(|| anyhow::anyhow!("no row for {}", pupil.registration_no))?;
    assert_eq!(row[4], pupil.name);
    assert_eq!(row[12], first.opened_on.to_string());
    assert!(
        [
            "未到校",
            "疑似辍学",
            "学校劝返",
            "已报告",
            "联合劝返",
            "强制劝返",
            "延缓入学（休学）",
            "已复学",
            "中职学校就读",
            "复学跟踪",
            "已销号"
        ]
        .contains(&row[14].as_str()),
        "{row:?}"
    );

    // The CSV says the same.
    let csv_body = server
        .get(&format!("/api/v1/reports/ledger.csv?{PERIOD}"), &supervisor)
        .await?
        .body
        .0;
    assert!(
        csv_body.starts_with(b"\xEF\xBB\xBF"),
        "a byte-order mark for Excel"
    );
    let mut reader = csv::Reader::from_reader(&csv_body[3..]);
    assert_eq!(
        reader.headers()?.iter().collect::<Vec<_>>(),
        COLUMNS.to_vec()
    );
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    assert_eq!(records.len(), cases.len());
    assert_eq!(
        records.iter().map(|r| r[9].to_owned()).collect::<Vec<_>>(),
        rows[1..].iter().map(|r| r[9].clone()).collect::<Vec<_>>()
    );

    // A period before every case opened is empty but for the header.
    let early = server
        .get(
            "/api/v1/reports/ledger.xlsx?from=2001-01-01&to=2001-12-31",
            &supervisor,
        )
        .await?;
    assert_eq!(sheet(&early.body.0)?.rows.len(), 1);

    // A school's lead exports the school only; the export is audited.
    let lead = server.token("school_lead").await?;
    let school_rows = sheet(
        &server
            .get(&format!("/api/v1/reports/ledger.xlsx?{PERIOD}"), &lead)
            .await?
            .body
            .0,
    )?
    .rows;
    assert_eq!(
        school_rows.len() - 1,
        server
            .school_cases()
            .filter(|c| c
                .status
                .parse::<CaseStatus>()
                .is_ok_and(|s| s.is_ledger_row()))
            .count()
    );
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("ledger.export"))
        .count(&server.state.db.read)
        .await?;
    assert_eq!(audited, 4);
    Ok(())
}

#[tokio::test]
async fn r08_the_ledger_counts_the_attempts_of_the_episode_as_its_next_step_does()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Absent).await?;
    let id = CaseId::from(case.id);
    // A call on the day before the suspected case opens: attendance follow-up, not one of R8's
    // three attempts.
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut NoProgress).await?;
    let mut call = AttemptDraft::new(id, AttemptKind::PhoneCall, AttemptOutcome::NotReached);
    call.occurred_at = Some(chrono::Utc::now() - chrono::Duration::days(1));
    phone.record_attempt(call)?;
    phone.edit_case(
        id,
        vec![sync_protocol::sync::CaseField::Status(
            CaseStatus::Suspected,
        )],
    )?;
    let report = phone.sync(&mut NoProgress).await?;
    anyhow::ensure!(report.rejected == 0, "{:?}", phone.rejections()?);

    let supervisor = server.token("supervisor").await?;
    let pupil = student::Entity::find_by_id(case.student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("student"))?;
    let row = server
        .ledger_row(&pupil.registration_no)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    let column = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap_or(0);
    assert_eq!(&row[column("学校劝返次数")], "0", "{row:?}");
    let now: sync_protocol::cases::CaseSummary = server
        .get(&format!("/api/v1/cases/{id}"), &supervisor)
        .await?
        .body
        .parse()?;
    let r8 = now
        .due
        .iter()
        .find(|i| i.rule == "R8")
        .ok_or_else(|| anyhow::anyhow!("R8 due: {:?}", now.due))?;
    assert!(r8.hint.contains("已劝返0次"), "{}", r8.hint);
    Ok(())
}

/// Gives case `id` the moves `moves` (from, to, days before today), a fixture in the database.
async fn moved(
    server: &TestServer,
    id: uuid::Uuid,
    moves: &[(CaseStatus, CaseStatus, i64)],
) -> anyhow::Result<()> {
    use sea_orm::ActiveModelTrait as _;
    let now = chrono::Utc::now();
    for (from, to, days_ago) in moves {
        let at = now - chrono::Duration::days(*days_ago);
        server::db::entity::case_move::ActiveModel::from(server::db::entity::case_move::Model {
            id: uuid::Uuid::now_v7(),
            case_id: id,
            from_status: from.as_str().to_owned(),
            to_status: to.as_str().to_owned(),
            moved_by: server.home.users[0].1.id,
            moved_at: at,
            recorded_at: at,
            mutation_id: uuid::Uuid::now_v7(),
        })
        .insert(&server.state.db.write)
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn r22_the_statistics_form_counts_as_things_stood_at_the_period_end_cell_by_cell()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    // A child reported 10 days ago, in joint persuasion from 8 days ago, back at school
    // yesterday.
    let today = server::calendar::china_date(chrono::Utc::now());
    let id = server
        .school_cases()
        .next()
        .map(|c| c.id)
        .unwrap_or_default();
    server
        .reset_case(id, "returned", today - chrono::Duration::days(20))
        .await?;
    moved(
        &server,
        id,
        &[
            (CaseStatus::SchoolPersuasion, CaseStatus::Reported, 10),
            (CaseStatus::Reported, CaseStatus::JointPersuasion, 8),
            (CaseStatus::JointPersuasion, CaseStatus::Returned, 1),
        ],
    )
    .await?;
    let lead = server.token("school_lead").await?;
    let period = |days_before_end: i64| {
        format!(
            "from={}&to={}",
            today - chrono::Duration::days(30),
            today - chrono::Duration::days(days_before_end)
        )
    };
    let json = |query: String| {
        let (server, lead) = (&server, &lead);
        async move {
            let r = server
                .get(&format!("/api/v1/reports/statistics?{query}"), lead)
                .await?;
            anyhow::ensure!(r.status == 200, "{}", r.body.text());
            r.body.parse::<sync_protocol::reports::Statistics>()
        }
    };
    // Three days ago the child was out, in joint persuasion: a dropout; today, returned.
    let then = json(period(3)).await?;
    let now = json(period(0)).await?;
    assert_eq!(then.dropouts, now.dropouts + 1);
    let joint = |s: &sync_protocol::reports::Statistics| {
        s.by_status.get("joint_persuasion").copied().unwrap_or(0)
    };
    assert_eq!(
        joint(&then),
        joint(&now) + 1,
        "by status at the period's end"
    );
    assert_eq!(
        (then.returned, now.returned),
        (0, 1),
        "returns from the moves"
    );
    assert!(
        then.by_class.iter().all(|c| !c.school.is_empty()),
        "classes by their school's name"
    );

    // The workbook says the same, cell by cell, in Chinese.
    let xlsx = server
        .get(
            &format!("/api/v1/reports/statistics.xlsx?{}", period(3)),
            &lead,
        )
        .await?;
    assert_eq!(xlsx.status, 200, "{}", xlsx.body.text());
    let mut book = Xlsx::new(Cursor::new(xlsx.body.0.clone()))?;
    let range = book.worksheet_range("统计表")?;
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    let text = |r: &[Data], i: usize| r.get(i).map(|d| d.to_string()).unwrap_or_default();
    let value = |label: &str| -> anyhow::Result<f64> {
        rows.iter()
            .find(|r| text(r, 0) == label)
            .and_then(|r| r.get(1).and_then(Data::as_f64))
            .ok_or_else(|| anyhow::anyhow!("no row {label}"))
    };
    assert!(
        text(&rows[0], 0).ends_with("控辍保学统计表"),
        "{:?}",
        rows[0]
    );
    assert_eq!(value("在籍学生数")?, then.enrolled as f64);
    assert_eq!(value("期内在册案件数")?, then.open_cases as f64);
    assert_eq!(value("期末辍学人数")?, then.dropouts as f64);
    assert_eq!(value("本期复学人数")?, 0.0);
    assert_eq!(value("辍学率（%）")?, then.dropout_rate_percent);
    assert_eq!(value("联合劝返")?, joint(&then) as f64);
    for class in &then.by_class {
        let grade = format!("{}年级", class.grade);
        assert!(
            rows.iter().any(|r| text(r, 0) == class.school
                && text(r, 1) == grade
                && text(r, 2) == class.class_name
                && r.get(3).and_then(Data::as_f64) == Some(class.dropouts as f64)),
            "{class:?}"
        );
    }
    assert_eq!(value("留守儿童")?, then.special_groups.left_behind as f64);
    Ok(())
}

#[tokio::test]
async fn r23_exports_are_refused_to_teachers_and_bad_periods_say_why() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let teacher = server.token("teacher").await?;
    let r = server
        .get(&format!("/api/v1/reports/ledger.csv?{PERIOD}"), &teacher)
        .await?;
    assert_eq!(r.status, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(r.body.json()["code"], "forbidden");

    let supervisor = server.token("supervisor").await?;
    for query in [
        "from=2026-09-30&to=2026-09-01",
        "from=2026-09-01",
        "from=2026-13-01&to=2026-12-31",
        "from=2000-01-01&to=2026-12-31",
    ] {
        let r = server
            .get(&format!("/api/v1/reports/ledger.xlsx?{query}"), &supervisor)
            .await?;
        assert_eq!(r.status, reqwest::StatusCode::BAD_REQUEST, "{query}");
        assert!(r.is_client_problem(), "{query}");
    }

    // Another district's supervisor sees none of this district's students.
    let outsider = server.token("b-supervisor").await?;
    let body = server
        .get(&format!("/api/v1/reports/ledger.csv?{PERIOD}"), &outsider)
        .await?
        .body
        .0;
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let theirs: Vec<String> = reader
        .records()
        .filter_map(Result::ok)
        .map(|r| r[9].to_owned())
        .collect();
    let ours: Vec<String> = student::Entity::find()
        .filter(student::Column::DistrictId.eq(server.home.district.id))
        .all(&server.state.db.read)
        .await?
        .into_iter()
        .map(|s| s.registration_no)
        .collect();
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|r| !ours.contains(r)));
    Ok(())
}

#[tokio::test]
async fn r09_the_dropout_report_form_prints_the_case_and_its_attempts_and_is_audited()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::SchoolPersuasion).await?;
    let id = CaseId::from(case.id);
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut NoProgress).await?;
    let mut draft = AttemptDraft::new(id, AttemptKind::HomeVisit, AttemptOutcome::Refused);
    draft.guardian_statement = "<script>alert(1)</script>孩子在外打工".into();
    phone.record_attempt(draft)?;
    phone.sync(&mut NoProgress).await?;

    let path = format!("/api/v1/cases/{id}/report-form");
    let form = server.get(&path, &server.token("teacher").await?).await?;
    assert_eq!(form.status, reqwest::StatusCode::OK);
    assert_eq!(
        form.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    let html = form.body.text();
    let pupil = student::Entity::find_by_id(case.student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("student"))?;
    let id_number = server.id_number_of(&pupil)?;
    for expected in [
        "义务教育阶段学生辍学情况报告单",
        pupil.name.as_str(),
        id_number.as_str(),
        "入户家访",
        "&lt;script&gt;alert(1)&lt;/script&gt;孩子在外打工",
        "校长签字",
    ] {
        assert!(html.contains(expected), "the form lacks {expected}");
    }
    assert!(!html.contains("<script>"), "what staff typed is escaped");
    let reads = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("student.read"))
        .filter(audit_entry::Column::EntityId.eq(pupil.id))
        .count(&server.state.db.read)
        .await?;
    assert_eq!(reads, 1, "printing the form is a read of the student (R23)");

    let village = server
        .get(&path, &server.token("village_member").await?)
        .await?;
    assert_eq!(village.status, reqwest::StatusCode::FORBIDDEN);
    let outsider = server.get(&path, &server.token("b-teacher").await?).await?;
    assert_eq!(outsider.status, reqwest::StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn r22_monthly_statistics_count_dropouts_by_reason_grade_class_and_special_group()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let supervisor = server.token("supervisor").await?;
    let r = server
        .get("/api/v1/reports/statistics?month=2026-09", &supervisor)
        .await?;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    let stats = r.body.json();
    assert_eq!(
        (stats["from"].as_str(), stats["to"].as_str()),
        (Some("2026-09-01"), Some("2026-09-30"))
    );

    let end = chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap_or_default();
    let open: Vec<_> = server
        .home
        .cases
        .iter()
        .filter(|c| {
            c.opened_on <= end
                && c.status
                    .parse::<CaseStatus>()
                    .is_ok_and(|s| s.is_ledger_row())
        })
        .collect();
    let dropouts: Vec<_> = open
        .iter()
        .filter(|c| {
            ["reported", "joint_persuasion", "compulsory_return"].contains(&c.status.as_str())
        })
        .collect();
    let enrolled = student::Entity::find()
        .filter(student::Column::DistrictId.eq(server.home.district.id))
        .count(&server.state.db.read)
        .await?;
    assert_eq!(stats["enrolled"], enrolled);
    assert_eq!(stats["open_cases"], open.len());
    assert_eq!(
        stats["new_cases"],
        open.len(),
        "every demo case opened this term"
    );
    assert_eq!(stats["dropouts"], dropouts.len());
    let rate = (dropouts.len() as f64 * 100.0 / enrolled as f64 * 100.0).round() / 100.0;
    assert_eq!(stats["dropout_rate_percent"].as_f64(), Some(rate));
    let sum = |key: &str| -> u64 {
        stats[key]
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0)
    };
    assert_eq!(sum("by_status"), open.len() as u64);
    assert_eq!(sum("by_reason"), dropouts.len() as u64);
    assert_eq!(sum("by_grade"), dropouts.len() as u64);
    let by_class: u64 = stats["by_class"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["dropouts"].as_u64()).sum())
        .unwrap_or(0);
    assert_eq!(by_class, dropouts.len() as u64);
    let mut left_behind = 0;
    for c in &dropouts {
        let s = student::Entity::find_by_id(c.student_id)
            .one(&server.state.db.read)
            .await?
            .ok_or_else(|| anyhow::anyhow!("student"))?;
        left_behind += u64::from(s.left_behind);
    }
    assert_eq!(stats["special_groups"]["left_behind"], left_behind);

    // A school's lead counts the school; a teacher counts nothing; a bad month says so.
    let lead = server
        .get(
            "/api/v1/reports/statistics?month=2026-09",
            &server.token("school_lead").await?,
        )
        .await?
        .body
        .json();
    assert!(lead["open_cases"].as_u64() < stats["open_cases"].as_u64());
    let teacher = server.token("teacher").await?;
    assert_eq!(
        server
            .get("/api/v1/reports/statistics?month=2026-09", &teacher)
            .await?
            .status,
        reqwest::StatusCode::FORBIDDEN
    );
    let bad = server
        .get("/api/v1/reports/statistics?month=2026-13", &supervisor)
        .await?;
    assert!(bad.is_client_problem());
    assert!(bad.body.text().contains("not a month"));
    Ok(())
}
