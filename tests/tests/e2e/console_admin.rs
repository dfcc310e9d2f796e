//! The console's administration pages (issue 19): the district's administrator adds an account,
//! gives it a new password and disables it, adds org units and loads a holiday schedule; each
//! change is checked by the same rules as the commands and the API, audited, and refused to
//! every other role and to a form without its token.

use reqwest::StatusCode;
use tests::TestServer;

use super::console::{Browser, Page, hidden};

/// Posts `form` (with owned values) to `path`.
async fn post(browser: &mut Browser, path: &str, form: &[(&str, String)]) -> anyhow::Result<Page> {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(path, &pairs).await
}

/// Whether `username` signs in to the console with `password`.
async fn signs_in(server: &TestServer, username: &str, password: &str) -> anyhow::Result<bool> {
    let mut browser = Browser::new(server)?;
    let page = browser.sign_in(username, password).await?;
    Ok(page.status == StatusCode::SEE_OTHER && page.location.as_deref() == Some("/console"))
}

/// How many audit entries record `action`.
async fn audited(server: &TestServer, action: &str) -> anyhow::Result<u64> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
    use server::db::entity::audit_entry;
    Ok(audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(action))
        .count(&server.state.db.read)
        .await?)
}

#[tokio::test]
async fn console_admin_adds_an_account_resets_its_password_and_disables_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let school = server.home.townships[0].schools[0].id.to_string();
    let township = server.home.townships[0].unit.id.to_string();
    let mut admin = Browser::new(&server)?;
    admin.sign_in("admin", tests::PASSWORD).await?;
    let page = admin.get("/console/admin/accounts").await?;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("账号管理"), "{}", page.body);
    assert!(
        page.body.contains("href=\"/console/admin\""),
        "the header links administration"
    );
    let token = hidden(&page.body, "csrf")?;
    let add = |username: &'static str, role: &'static str, unit: String, password: &'static str| {
        vec![
            ("csrf", token.clone()),
            ("username", username.to_owned()),
            ("display_name", "新来的老师".to_owned()),
            ("role", role.to_owned()),
            ("org_unit", unit),
            ("password", password.to_owned()),
        ]
    };

    // Added, the account signs in; the addition is audited.
    let form = add("new-teacher", "teacher", school.clone(), "first-pass-1");
    let added = post(&mut admin, "/console/admin/accounts", &form).await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert!(signs_in(&server, "new-teacher", "first-pass-1").await?);
    assert_eq!(audited(&server, "account.add").await?, 1);

    // The rules refuse, in Chinese: a short password, a taken name, a role in the wrong unit.
    for (form, status, words) in [
        (
            add("short", "teacher", school.clone(), "short"),
            StatusCode::BAD_REQUEST,
            "密码至少需要 8 个字符",
        ),
        (
            add("new-teacher", "teacher", school.clone(), "first-pass-1"),
            StatusCode::CONFLICT,
            "该用户名已被使用",
        ),
        (
            add("misplaced", "teacher", township.clone(), "first-pass-1"),
            StatusCode::BAD_REQUEST,
            "班主任须属于学校",
        ),
    ] {
        let refused = post(&mut admin, "/console/admin/accounts", &form).await?;
        assert_eq!(refused.status, status, "{}", refused.body);
        assert!(refused.body.contains(words), "{}", refused.body);
    }

    // A new password ends the old one; disabled, the account cannot sign in.
    let account = server::db::users::by_username(&server.state.db.read, "new-teacher")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the account was not stored"))?;
    let path = format!("/console/admin/accounts/{}", account.id);
    let reset = admin
        .post(
            &format!("{path}/password"),
            &[("csrf", &token), ("password", "second-pass-2")],
        )
        .await?;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    assert!(!signs_in(&server, "new-teacher", "first-pass-1").await?);
    assert!(signs_in(&server, "new-teacher", "second-pass-2").await?);
    assert_eq!(audited(&server, "account.reset_password").await?, 1);
    let off = admin
        .post(
            &format!("{path}/disabled"),
            &[("csrf", &token), ("disabled", "1")],
        )
        .await?;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert!(!signs_in(&server, "new-teacher", "second-pass-2").await?);
    let listed = admin.get("/console/admin/accounts").await?;
    assert!(listed.body.contains("已停用"));

    // Another district's account is not the administrator's; a form without its token and
    // every other role are refused.
    let stranger = server::db::users::by_username(&server.state.db.read, "b-teacher")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account in the other district"))?;
    let foreign = admin
        .post(
            &format!("/console/admin/accounts/{}/password", stranger.id),
            &[("csrf", &token), ("password", "taken-over-3")],
        )
        .await?;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let forged = admin
        .post(&format!("{path}/disabled"), &[("disabled", "0")])
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let page = supervisor.get("/console/admin/accounts").await?;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("只有系统管理员"), "{}", page.body);
    let today = supervisor.get("/console").await?;
    let their_token = hidden(&today.body, "csrf")?;
    let refused = supervisor
        .post(
            &format!("{path}/disabled"),
            &[("csrf", &their_token), ("disabled", "0")],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!signs_in(&server, "new-teacher", "second-pass-2").await?);
    Ok(())
}

#[tokio::test]
async fn console_admin_adds_org_units_and_loads_a_holiday_schedule() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let district = server.home.district.id.to_string();
    let mut admin = Browser::new(&server)?;
    admin.sign_in("admin", tests::PASSWORD).await?;
    let page = admin.get("/console/admin/units").await?;
    assert_eq!(page.status, StatusCode::OK);
    let token = hidden(&page.body, "csrf")?;
    let unit = |kind: &'static str, name: &'static str, code: &'static str, parent: String| {
        vec![
            ("csrf", token.clone()),
            ("kind", kind.to_owned()),
            ("name", name.to_owned()),
            ("code", code.to_owned()),
            ("parent", parent),
        ]
    };
    let units = "/console/admin/units";
    let form = unit("township", "新河镇", "NEW-T", district.clone());
    let township = post(&mut admin, units, &form).await?;
    assert_eq!(township.status, StatusCode::SEE_OTHER, "{}", township.body);
    let new_township = server::db::org::unit_by_code(&server.state.db.read, "NEW-T")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the township was not stored"))?;
    let form = unit("school", "新河小学", "NEW-S", new_township.id.to_string());
    let school = post(&mut admin, units, &form).await?;
    assert_eq!(school.status, StatusCode::SEE_OTHER, "{}", school.body);
    let form = unit("school", "错位小学", "BAD-S", district.clone());
    let misplaced = post(&mut admin, units, &form).await?;
    assert_eq!(misplaced.status, StatusCode::BAD_REQUEST);
    assert!(
        misplaced.body.contains("上级单位不符"),
        "{}",
        misplaced.body
    );
    let form = unit("village", "新河村", "NEW-S", new_township.id.to_string());
    let taken = post(&mut admin, units, &form).await?;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(taken.body.contains("该机构代码已被使用"), "{}", taken.body);
    let listed = admin.get("/console/admin/units").await?;
    assert!(listed.body.contains("新河镇") && listed.body.contains("新河小学"));
    assert_eq!(audited(&server, "org_unit.add").await?, 2);

    // A year's schedule from the form: the holidays one range a line, the working days.
    let calendar = |holidays: &str, working: &str| {
        vec![
            ("csrf", token.clone()),
            ("year", "2031".to_owned()),
            ("source", "国办发明电〔2030〕7号".to_owned()),
            ("holidays", holidays.to_owned()),
            ("working_days", working.to_owned()),
        ]
    };
    for (form, status, words) in [
        (
            calendar(
                "2031-01-01\n2031-10-01 2031-10-07",
                "2031-09-28\n2031-10-11",
            ),
            StatusCode::SEE_OTHER,
            "",
        ),
        (
            calendar("2031-01-01", "2031-10-08"),
            StatusCode::BAD_REQUEST,
            "安排不成立",
        ),
        (
            calendar("元旦", ""),
            StatusCode::BAD_REQUEST,
            "「元旦」不是日期",
        ),
    ] {
        let loaded = post(&mut admin, "/console/admin/calendars", &form).await?;
        assert_eq!(loaded.status, status, "{}", loaded.body);
        assert!(loaded.body.contains(words), "{}", loaded.body);
    }
    let calendars = admin.get("/console/admin/calendars").await?;
    assert!(
        calendars.body.contains("2031 年：国办发明电〔2030〕7号"),
        "{}",
        calendars.body
    );
    let held = server.state.calendar().await?;
    let october = chrono::NaiveDate::from_ymd_opt(2031, 10, 3).unwrap_or_default();
    assert!(
        !held.is_working_day(october)?,
        "a holiday of the loaded schedule"
    );

    let mut lead = Browser::new(&server)?;
    lead.sign_in("school_lead", tests::PASSWORD).await?;
    for path in ["/console/admin/units", "/console/admin/calendars"] {
        assert_eq!(
            lead.get(path).await?.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    Ok(())
}
