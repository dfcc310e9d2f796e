//! The web console over plain HTTP (issue 19): sign-in with a strict, HTTP-only cookie, forms
//! refused without their token, the Today page scoped as the API is, sign-out ending the session.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tests::TestServer;

/// A browser without JavaScript: follows nothing by itself, keeps the cookies it is given.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

/// An answer: status, where it points, the `Set-Cookie` lines, the headers and the body (as
/// text, and as bytes for a download).
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<String>,
    set_cookies: Vec<String>,
    headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
    bytes: Vec<u8>,
}

impl Page {
    /// The header `name` as text, empty when absent.
    fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl Browser {
    pub(crate) fn new(server: &TestServer) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            base: server.url.clone(),
            cookies: Vec::new(),
        })
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<Page> {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let request = if jar.is_empty() {
            request
        } else {
            request.header(COOKIE, jar.join("; "))
        };
        let answer = request.send().await?;
        let set_cookies: Vec<String> = answer
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for line in &set_cookies {
            let Some((name, rest)) = line.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default().to_owned();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value));
            }
        }
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await?.to_vec();
        Ok(Page {
            status,
            location: headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            set_cookies,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            headers,
            bytes,
        })
    }

    pub(crate) async fn get(&mut self, path: &str) -> anyhow::Result<Page> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Page> {
        let request = self.http.post(format!("{}{path}", self.base));
        self.send(with_form(request, form)).await
    }

    /// Signs in as `username` through the form, answering the last page.
    pub(crate) async fn sign_in(&mut self, username: &str, password: &str) -> anyhow::Result<Page> {
        let form = self.get("/console/login").await?;
        let token = hidden(&form.body, "csrf")?;
        self.post(
            "/console/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &token),
            ],
        )
        .await
    }
}

/// `request` with `form` as its `application/x-www-form-urlencoded` body.
fn with_form(request: reqwest::RequestBuilder, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    request
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body.join("&"))
}

/// The value of the hidden field `name` in `html`.
pub(crate) fn hidden(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .ok_or_else(|| anyhow::anyhow!("no hidden `{name}` in {html}"))?;
    let end = html[start..]
        .find('"')
        .ok_or_else(|| anyhow::anyhow!("unterminated `{name}`"))?;
    Ok(html[start..start + end].to_owned())
}

#[tokio::test]
async fn console_sign_in_is_a_strict_http_only_cookie_and_forms_need_their_token()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut browser = Browser::new(&server)?;
    let first = browser.get("/console").await?;
    assert_eq!(
        (first.status, first.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );

    // Without the form's token (another site posting) nothing is checked.
    let forged = browser
        .post(
            "/console/login",
            &[("username", "teacher"), ("password", tests::PASSWORD)],
        )
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(browser.cookies.iter().all(|(n, _)| n != "kbx_console"));

    let wrong = browser.sign_in("teacher", "not-the-password").await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("用户名或密码错误"), "{}", wrong.body);

    let signed_in = browser.sign_in("teacher", tests::PASSWORD).await?;
    assert_eq!(
        (signed_in.status, signed_in.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console"))
    );
    let session = signed_in
        .set_cookies
        .iter()
        .find(|c| c.starts_with("kbx_console="))
        .ok_or_else(|| anyhow::anyhow!("no session cookie: {:?}", signed_in.set_cookies))?;
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(part), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP here: {session}");

    // Behind an HTTPS proxy the cookie is Secure.
    let form = browser.get("/console/login").await?;
    let token = hidden(&form.body, "csrf")?;
    let proxied = browser
        .send(with_form(
            browser
                .http
                .post(format!("{}/console/login", server.url))
                .header("x-forwarded-proto", "https"),
            &[
                ("username", "teacher"),
                ("password", tests::PASSWORD),
                ("csrf", token.as_str()),
            ],
        ))
        .await?;
    assert!(
        proxied
            .set_cookies
            .iter()
            .any(|c| c.starts_with("kbx_console=") && c.contains("; Secure")),
        "{:?}",
        proxied.set_cookies
    );

    // Sign-out is a form too: without its token it is refused and the session stays.
    let today = browser.get("/console").await?;
    assert_eq!(today.status, StatusCode::OK);
    let refused = browser.post("/console/logout", &[]).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/console").await?.status, StatusCode::OK);
    let kept: Vec<(String, String)> = browser.cookies.clone();
    let token = hidden(&today.body, "csrf")?;
    let out = browser.post("/console/logout", &[("csrf", &token)]).await?;
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    // The old cookie, presented again, opens nothing.
    browser.cookies = kept;
    let after = browser.get("/console").await?;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    Ok(())
}

#[tokio::test]
async fn r18_console_today_shows_the_users_scope_and_the_write_offs_waiting() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let own = &server.home.townships[0].schools[0].name;
    let elsewhere = &server.home.townships[1].schools[0].name;

    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let today = teacher.get("/console").await?;
    assert_eq!(today.status, StatusCode::OK);
    assert!(today.body.contains("今日待办"), "{}", today.body);
    assert!(today.body.contains(own.as_str()), "{own} missing");
    assert!(
        !today.body.contains(elsewhere.as_str()),
        "{elsewhere} shown to a teacher"
    );

    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let district = supervisor.get("/console").await?;
    for school in [own, elsewhere] {
        assert!(district.body.contains(school.as_str()), "{school} missing");
    }
    // The chart is drawn on the server.
    assert!(district.body.contains("<svg"), "no chart");
    assert!(
        district.body.contains("没有等待审批的核销申请"),
        "{}",
        district.body
    );

    // R18: a write-off the township asks for waits on the bureau's Today, named.
    let asked = write_off_asked(&server).await?;
    let student = student_of(&server, asked).await?;
    let waiting = supervisor.get("/console").await?;
    assert!(
        waiting.body.contains(&format!("{student}</a> · ")) && waiting.body.contains("申请核销"),
        "{}",
        waiting.body
    );
    Ok(())
}

/// R18: the home teacher's first case reset to joint persuasion, with the township asking to
/// write it off as missing or dead (no papers yet).
async fn write_off_asked(server: &TestServer) -> anyhow::Result<uuid::Uuid> {
    let case = server
        .school_case_at(sync_protocol::cases::CaseStatus::JointPersuasion)
        .await?;
    let ask = [sync_protocol::sync::CaseField::ClosureReason(
        sync_protocol::cases::ClosureReason::MissingOrDead,
    )];
    let township = server.token("township_officer").await?;
    let asked = server.patch_case(&township, case.id.into(), &ask).await?;
    anyhow::ensure!(asked.status == StatusCode::OK, "{}", asked.body.text());
    Ok(case.id)
}

/// The name of the student of case `id`, as the supervisor reads it over the API.
async fn student_of(server: &TestServer, id: uuid::Uuid) -> anyhow::Result<String> {
    let supervisor = server.token("supervisor").await?;
    let detail = server
        .get(&format!("/api/v1/cases/{id}"), &supervisor)
        .await?;
    let name = detail.body.json()["student_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(!name.is_empty(), "no student name: {}", detail.body.text());
    Ok(name)
}

/// The first table body of a page (the rows, not the filter form).
fn rows(html: &str) -> &str {
    let body = html.split_once("<tbody>").map_or("", |(_, rest)| rest);
    body.split_once("</tbody>").map_or(body, |(rows, _)| rows)
}

#[tokio::test]
async fn console_cases_are_filtered_searched_and_scoped() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let own = &server.home.townships[0].schools[0].name;
    let elsewhere = &server.home.townships[1].schools[0].name;
    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let list = teacher.get("/console/cases").await?;
    assert_eq!(list.status, StatusCode::OK);
    assert!(rows(&list.body).contains(own.as_str()), "{}", list.body);
    assert!(
        !list.body.contains(elsewhere.as_str()),
        "another school shown to a teacher"
    );

    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let reported = supervisor.get("/console/cases?status=reported").await?;
    let reported_rows = rows(&reported.body);
    assert!(reported_rows.contains("已报告"), "{}", reported.body);
    assert!(!reported_rows.contains("联合劝返"), "{reported_rows}");

    // Searching by a student's name finds their row.
    let student = student_of(&server, server.home.cases[3].id).await?;
    let query: String = student.bytes().map(|b| format!("%{b:02X}")).collect();
    let found = supervisor.get(&format!("/console/cases?q={query}")).await?;
    assert!(
        rows(&found.body).contains(student.as_str()),
        "{}",
        found.body
    );

    let bad = supervisor.get("/console/cases?status=nonsense").await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("「nonsense」不是有效的状态"),
        "{}",
        bad.body
    );
    Ok(())
}

/// The case ids a console list page links to, sorted.
fn listed(html: &str) -> Vec<String> {
    let mut ids = uuids_after(rows(html), "href=\"/console/cases/");
    ids.sort();
    ids
}

#[tokio::test]
async fn r22_console_cases_filter_by_reason_township_special_group_and_overdue()
-> anyhow::Result<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::{case, student};
    let server = TestServer::start().await?;
    let db = &server.state.db.write;
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;

    // One case of religion as its reason, one pupil left behind: each filter finds it alone.
    let marked = &server.home.cases[2];
    case::Entity::update_many()
        .col_expr(case::Column::Reason, Expr::value("guardian_neglect"))
        .exec(db)
        .await?;
    case::Entity::update_many()
        .col_expr(case::Column::Reason, Expr::value("religion"))
        .filter(case::Column::Id.eq(marked.id))
        .exec(db)
        .await?;
    student::Entity::update_many()
        .col_expr(student::Column::LeftBehind, Expr::value(false))
        .exec(db)
        .await?;
    student::Entity::update_many()
        .col_expr(student::Column::LeftBehind, Expr::value(true))
        .filter(student::Column::Id.eq(marked.student_id))
        .exec(db)
        .await?;
    for query in ["reason=religion", "group=left_behind"] {
        let page = supervisor.get(&format!("/console/cases?{query}")).await?;
        assert_eq!(listed(&page.body), [marked.id.to_string()], "{query}");
    }
    let bad = supervisor.get("/console/cases?group=tall").await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("「tall」不是有效的特殊群体"),
        "{}",
        bad.body
    );

    // A township shows its schools' rows and no other township's.
    let township = &server.home.townships[1];
    let page = supervisor
        .get(&format!("/console/cases?township={}", township.unit.id))
        .await?;
    let mut expected: Vec<String> = server
        .home
        .cases
        .iter()
        .filter(|c| c.township_id == township.unit.id)
        .map(|c| c.id.to_string())
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(listed(&page.body), expected);

    // Overdue: exactly the rows the API's due list calls overdue.
    let bearer = server.token("supervisor").await?;
    let due = server
        .get("/api/v1/cases/due?overdue=true&limit=500", &bearer)
        .await?
        .body
        .json();
    let mut overdue: Vec<String> = due["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["case_id"].as_str().map(str::to_owned))
        .collect();
    overdue.sort();
    assert!(!overdue.is_empty(), "the fixtures have nothing overdue");
    let page = supervisor.get("/console/cases?overdue=1").await?;
    assert_eq!(listed(&page.body), overdue);
    Ok(())
}

/// The number in "（共 N 条" on a review queue page.
fn waiting_total(html: &str) -> anyhow::Result<u64> {
    let (_, rest) = html
        .split_once("（共 ")
        .ok_or_else(|| anyhow::anyhow!("no total on the queue: {html}"))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Ok(digits.parse()?)
}

#[tokio::test]
async fn r21_the_review_queue_puts_the_longest_waiting_first_and_empties_as_reviewed()
-> anyhow::Result<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::attempt;
    let server = TestServer::start().await?;
    let write_off = write_off_asked(&server).await?;
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let queue = supervisor.get("/console/reviews").await?;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(
        queue
            .body
            .contains(&format!("/console/cases/{write_off}\"")),
        "the write-off waiting is listed: {}",
        queue.body
    );

    // The last attempt listed, made the oldest, comes first with its age.
    let last = uuids_after(rows(&queue.body), "#attempt-")
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no attempt waits: {}", queue.body))?;
    let recorded = attempt::Entity::find_by_id(last.parse::<uuid::Uuid>()?)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no attempt {last}"))?;
    let case = recorded.case_id;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(400);
    attempt::Entity::update_many()
        .col_expr(attempt::Column::CreatedAt, Expr::value(long_ago))
        .filter(attempt::Column::Id.eq(recorded.id))
        .exec(&server.state.db.write)
        .await?;
    let queue = supervisor.get("/console/reviews").await?;
    let first = format!("/console/cases/{case}#attempt-{}", recorded.id);
    let listed = uuids_after(rows(&queue.body), "#attempt-");
    assert_eq!(listed.first(), Some(&last), "{}", queue.body);
    assert!(queue.body.contains(&first));
    assert!(queue.body.contains("400 天"), "its age is shown");
    let total = waiting_total(&queue.body)?;

    // Reviewed, it leaves the queue.
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    let token = hidden(&page.body, "csrf")?;
    let target = recorded.id.to_string();
    let form = attempt_review(&token, &target, "approved", "");
    let approved = supervisor
        .post(&format!("/console/cases/{case}/reviews"), &form)
        .await?;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let queue = supervisor.get("/console/reviews").await?;
    assert_eq!(waiting_total(&queue.body)?, total - 1);
    assert!(!queue.body.contains(&first));

    // A teacher's queue holds their own school's evidence only.
    let own: Vec<String> = server.school_cases().map(|c| c.id.to_string()).collect();
    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let queue = teacher.get("/console/reviews").await?;
    let cases = uuids_after(rows(&queue.body), "href=\"/console/cases/");
    assert!(!cases.is_empty(), "{}", queue.body);
    assert!(cases.iter().all(|c| own.contains(c)), "{cases:?}");
    Ok(())
}

#[tokio::test]
async fn r21_console_shows_a_flag_in_the_queue_and_on_its_attempt_and_dismisses_it()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server
        .school_cases()
        .next()
        .map(|c| sync_protocol::CaseId(c.id))
        .ok_or_else(|| anyhow::anyhow!("a case in the teacher's school"))?;
    let mut late = tests::sample_attempt(case, "补录的电话");
    late.occurred_at = chrono::Utc::now() - chrono::Duration::days(6);
    let attempt = late.id;
    let teacher = server.token("teacher").await?;
    let change = sync_protocol::sync::Change::CreateAttempt { attempt: late };
    server.push_one(&teacher, change).await?;

    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let queue = supervisor.get("/console/reviews").await?;
    let anchor = format!("/console/cases/{case}#attempt-{attempt}\">劝返记录补录过晚");
    assert!(queue.body.contains(&anchor), "{}", queue.body);
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    assert!(page.body.contains("存疑提示：劝返记录补录过晚"));
    let action = page
        .body
        .split("action=\"/console/flags/")
        .nth(1)
        .and_then(|rest| rest.split_once('"'))
        .map(|(path, _)| format!("/console/flags/{path}"))
        .ok_or_else(|| anyhow::anyhow!("a dismissal form: {}", page.body))?;
    let token = hidden(&page.body, "csrf")?;
    let blank = supervisor
        .post(&action, &[("csrf", token.as_str()), ("reason", "")])
        .await?;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.body.contains("请写明理由"));
    let forged = supervisor.post(&action, &[("reason", "补录")]).await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let form = [("csrf", token.as_str()), ("reason", "山区无信号，回校补录")];
    let dismissed = supervisor.post(&action, &form).await?;
    assert_eq!(
        dismissed.status,
        StatusCode::SEE_OTHER,
        "{}",
        dismissed.body
    );
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    assert!(
        page.body
            .contains("已排除）：劝返记录补录过晚。排除理由：山区无信号，回校补录")
    );
    let queue = supervisor.get("/console/reviews").await?;
    assert!(
        !queue.body.contains(&anchor),
        "a dismissed flag leaves the queue"
    );

    // A teacher sees the flag on their case but no dismissal form.
    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let theirs = teacher.get(&format!("/console/cases/{case}")).await?;
    assert!(theirs.body.contains("劝返记录补录过晚"));
    assert!(!theirs.body.contains("/console/flags/"));
    Ok(())
}

/// A fixture case of the home district with a recording, and the recording's id.
async fn recorded_case(server: &TestServer) -> anyhow::Result<(uuid::Uuid, uuid::Uuid)> {
    case_with(server, "audio").await
}

/// A fixture case of the home district with a `kind` file, and the file's id.
async fn case_with(server: &TestServer, kind: &str) -> anyhow::Result<(uuid::Uuid, uuid::Uuid)> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::media_object;
    let ids: Vec<uuid::Uuid> = server.home.cases.iter().map(|c| c.id).collect();
    let file = media_object::Entity::find()
        .filter(media_object::Column::CaseId.is_in(ids))
        .filter(media_object::Column::Kind.eq(kind))
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no fixture case has a {kind} file"))?;
    Ok((file.case_id, file.id))
}

#[tokio::test]
async fn r23_a_case_page_is_scoped_audited_and_its_recordings_seek() -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
    use server::db::entity::audit_entry;
    let server = TestServer::start().await?;
    let (case, audio) = recorded_case(&server).await?;
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let reads = || {
        audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.eq("case.read"))
            .filter(audit_entry::Column::EntityId.eq(case))
            .count(&server.state.db.read)
    };
    let before = reads().await?;
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("劝返记录"), "{}", page.body);
    let player = format!("<audio controls preload=\"metadata\" src=\"/console/media/{audio}\"");
    assert!(page.body.contains(&player), "{}", page.body);
    assert!(
        page.body.contains("签字确认："),
        "R21: who confirmed each attempt"
    );
    assert_eq!(reads().await?, before + 1, "the read is audited");

    // The recording is served with byte ranges through the session's cookie.
    let ranged = supervisor
        .send(
            supervisor
                .http
                .get(format!("{}/console/media/{audio}", server.url))
                .header(reqwest::header::RANGE, "bytes=0-9"),
        )
        .await?;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);

    // A teacher of another school gets no page, and no file, of it.
    let other_school = server
        .home
        .cases
        .iter()
        .find(|c| c.id == case)
        .is_some_and(|c| c.school_id != server.home.townships[0].schools[0].id);
    anyhow::ensure!(
        other_school,
        "the recorded fixture case is in the teacher's school"
    );
    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let refused = teacher.get(&format!("/console/cases/{case}")).await?;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(refused.body.contains("不在您的工作范围内"));
    let file = teacher.get(&format!("/console/media/{audio}")).await?;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn r21_a_photo_opens_in_the_browser_and_a_recording_is_saved() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (case, photo) = case_with(&server, "photo").await?;
    let (_, audio) = recorded_case(&server).await?;
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    let thumbnail =
        format!("<a href=\"/console/media/{photo}\"><img src=\"/console/media/{photo}/thumbnail\"");
    assert!(page.body.contains(&thumbnail), "{}", page.body);
    let small = supervisor
        .get(&format!("/console/media/{photo}/thumbnail"))
        .await?;
    assert_eq!(small.status, StatusCode::OK);
    assert_eq!(small.header(reqwest::header::CONTENT_TYPE), "image/jpeg");
    let full = supervisor.get(&format!("/console/media/{photo}")).await?;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.header(reqwest::header::CONTENT_TYPE), "image/jpeg");
    let shown = full.header(reqwest::header::CONTENT_DISPOSITION);
    assert!(shown.starts_with("inline;"), "{shown}");
    image::load_from_memory(&full.bytes)?;
    let saved = supervisor.get(&format!("/console/media/{audio}")).await?;
    let disposition = saved.header(reqwest::header::CONTENT_DISPOSITION);
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    Ok(())
}

#[tokio::test]
async fn r22_the_console_downloads_the_ledger_and_statistics_and_prints_a_cases_forms()
-> anyhow::Result<()> {
    use calamine::{Reader as _, Xlsx};
    let server = TestServer::start().await?;
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let reports = supervisor.get("/console/reports").await?;
    assert!(
        reports
            .body
            .contains("action=\"/console/reports/ledger.xlsx\""),
        "{}",
        reports.body
    );

    // The workbooks open, with their titles.
    for (path, sheet, title) in [
        ("ledger.xlsx", None, "控辍保学台账"),
        ("statistics.xlsx", Some("统计表"), "控辍保学统计表"),
    ] {
        let file = supervisor
            .get(&format!("/console/reports/{path}?month={month}"))
            .await?;
        assert_eq!(file.status, StatusCode::OK, "{path}: {}", file.body);
        assert!(
            file.header(reqwest::header::CONTENT_DISPOSITION)
                .starts_with("attachment")
        );
        let mut book = Xlsx::new(std::io::Cursor::new(file.bytes.clone()))?;
        let name = match sheet {
            Some(name) => name.to_owned(),
            None => book.sheet_names().first().cloned().unwrap_or_default(),
        };
        let range = book.worksheet_range(&name)?;
        let first = range
            .get((0, 0))
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(first.contains(title), "{path}: {first}");
    }
    let csv = supervisor.get("/console/reports/ledger.csv").await?;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("立案日期"));
    let bad = supervisor
        .get("/console/reports/ledger.xlsx?month=2026-13")
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("请检查填写的内容"), "{}", bad.body);

    // A case's forms, printable, from its page.
    let case = server.home.cases[0].id;
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    for form in ["report-form", "bureau-report"] {
        let link = format!("/console/cases/{case}/{form}");
        assert!(page.body.contains(&link), "{}", page.body);
        let printed = supervisor.get(&link).await?;
        assert_eq!(printed.status, StatusCode::OK, "{form}: {}", printed.body);
        assert!(
            printed
                .header(reqwest::header::CONTENT_TYPE)
                .starts_with("text/html")
        );
    }

    // A teacher exports nothing, and prints no other school's form.
    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let refused = teacher
        .get(&format!("/console/reports/ledger.xlsx?month={month}"))
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("您的角色不能"), "{}", refused.body);
    let elsewhere = server
        .home
        .cases
        .iter()
        .find(|c| c.school_id != server.home.townships[0].schools[0].id)
        .ok_or_else(|| anyhow::anyhow!("no case of another school"))?;
    let hidden_form = teacher
        .get(&format!("/console/cases/{}/report-form", elsewhere.id))
        .await?;
    assert_eq!(hidden_form.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn console_ledger_check_says_intact_and_names_a_tampered_record() -> anyhow::Result<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use server::db::entity::attempt;
    let server = TestServer::start().await?;
    let (case, _) = recorded_case(&server).await?;
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let path = format!("/console/cases/{case}/verify");
    let page = supervisor.get(&format!("/console/cases/{case}")).await?;
    assert!(page.body.contains(&path), "{}", page.body);
    let intact = supervisor.get(&path).await?;
    assert_eq!(intact.status, StatusCode::OK);
    assert!(intact.body.contains("台账完整"), "{}", intact.body);

    // A note rewritten in the database, behind the ledger's back, is named.
    attempt::Entity::update_many()
        .col_expr(attempt::Column::Notes, Expr::value("改过的记录"))
        .filter(attempt::Column::CaseId.eq(case))
        .exec(&server.state.db.write)
        .await?;
    let tampered = supervisor.get(&path).await?;
    assert!(tampered.body.contains("台账异常"), "{}", tampered.body);
    assert!(
        tampered.body.contains("<td>劝返记录</td>"),
        "{}",
        tampered.body
    );

    let mut lead = Browser::new(&server)?;
    lead.sign_in("school_lead", tests::PASSWORD).await?;
    let refused = lead.get(&path).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn r18_r21_console_reviews_approve_reject_and_refuse_an_incomplete_write_off()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (case, _) = recorded_case(&server).await?;
    let mut supervisor = Browser::new(&server)?;
    supervisor.sign_in("supervisor", tests::PASSWORD).await?;
    let path = format!("/console/cases/{case}");
    let page = supervisor.get(&path).await?;
    let token = hidden(&page.body, "csrf")?;
    let attempts = uuids_after(&page.body, "id=\"attempt-");
    anyhow::ensure!(
        attempts.len() >= 2,
        "the case has two attempts: {attempts:?}"
    );
    let reviews = format!("{path}/reviews");
    let (first, second) = (attempts[0].as_str(), attempts[1].as_str());

    // A rejection needs its reason, said in Chinese.
    let form = attempt_review(&token, first, "rejected", "");
    let unexplained = supervisor.post(&reviews, &form).await?;
    assert_eq!(unexplained.status, StatusCode::BAD_REQUEST);
    assert!(
        unexplained.body.contains("请写明理由"),
        "{}",
        unexplained.body
    );
    let form = attempt_review(&token, first, "rejected", "照片与地点不符");
    let rejected = supervisor.post(&reviews, &form).await?;
    assert_eq!(rejected.status, StatusCode::SEE_OTHER, "{}", rejected.body);
    let form = attempt_review(&token, second, "approved", "");
    let approved = supervisor.post(&reviews, &form).await?;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let after = supervisor.get(&path).await?;
    assert!(
        after.body.contains("已驳回：照片与地点不符"),
        "{}",
        after.body
    );
    assert!(after.body.contains("已审核通过"));

    // R18: a write-off asked for without its papers shows what is missing and is refused.
    let asked = write_off_asked(&server).await?;
    let closure_page = supervisor.get(&format!("/console/cases/{asked}")).await?;
    assert!(
        closure_page.body.contains("材料不全，尚不能批准"),
        "{}",
        closure_page.body
    );
    assert!(
        closure_page.body.contains("公安部门证明"),
        "{}",
        closure_page.body
    );
    let asked_id = asked.to_string();
    let approve = [
        ("csrf", token.as_str()),
        ("target", "closure"),
        ("target_id", asked_id.as_str()),
        ("verdict", "approved"),
    ];
    let refused = supervisor
        .post(&format!("/console/cases/{asked}/reviews"), &approve)
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("核销条件尚未满足，尚缺") && refused.body.contains("公安部门证明")
    );

    // A teacher sees no review form and may not review; a form without its token is refused.
    let mut teacher = Browser::new(&server)?;
    teacher.sign_in("teacher", tests::PASSWORD).await?;
    let theirs = teacher.get(&format!("/console/cases/{asked_id}")).await?;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("class=\"review\""));
    let teacher_token = hidden(&theirs.body, "csrf")?;
    let approve = [
        ("csrf", teacher_token.as_str()),
        ("target", "closure"),
        ("target_id", asked_id.as_str()),
        ("verdict", "approved"),
    ];
    let forbidden = teacher
        .post(&format!("/console/cases/{asked_id}/reviews"), &approve)
        .await?;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(forbidden.body.contains("只有教育局督导可以审核"));
    let forged = supervisor
        .post(
            &reviews,
            &[
                ("target", "attempt"),
                ("target_id", second),
                ("verdict", "approved"),
            ],
        )
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    Ok(())
}

/// The review form of attempt `target_id` with `token`, `verdict` and `reason`.
fn attempt_review<'a>(
    token: &'a str,
    target_id: &'a str,
    verdict: &'a str,
    reason: &'a str,
) -> [(&'static str, &'a str); 5] {
    [
        ("csrf", token),
        ("target", "attempt"),
        ("target_id", target_id),
        ("verdict", verdict),
        ("reason", reason),
    ]
}

/// Whether the page in `browser` fits its window's width (no sideways scrolling).
async fn fits_width(browser: &fantoccini::Client) -> anyhow::Result<serde_json::Value> {
    Ok(browser
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            Vec::new(),
        )
        .await?)
}

/// The ids that follow each `marker` in `html`, in order.
fn uuids_after(html: &str, marker: &str) -> Vec<String> {
    html.match_indices(marker)
        .filter_map(|(i, _)| html.get(i + marker.len()..i + marker.len() + 36))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver); .ci/run installs them and runs ignored tests"]
async fn console_in_chromium_signs_in_shows_today_and_fits_a_phone() -> anyhow::Result<()> {
    use chrono::Datelike as _;
    use fantoccini::Locator;
    let server = TestServer::start().await?;
    let chromium = tests::browser::Chromium::start(1280, 900).await?;
    let browser = &chromium.client;
    browser.goto(&format!("{}/console", server.url)).await?;
    assert_eq!(browser.current_url().await?.path(), "/console/login");
    chromium.screenshot("login").await?;
    sign_in_from_form(browser, "supervisor").await?;
    let heading = browser
        .wait()
        .for_element(Locator::XPath("//h1[contains(., '今日待办')]"))
        .await?;
    assert!(heading.text().await?.contains("今日待办"));
    let chart = browser.find(Locator::Css("svg[role=img]")).await?;
    assert!(chart.attr("aria-label").await?.is_some());
    chromium.screenshot("today").await?;

    // At a phone's width the page wraps instead of scrolling sideways.
    browser.set_window_size(360, 800).await?;
    assert_eq!(fits_width(browser).await?, serde_json::Value::Bool(true));
    chromium.screenshot("today-phone").await?;
    browser.set_window_size(1280, 900).await?;

    // The case list, filtered from its form.
    browser
        .find(Locator::Css("header a[href='/console/cases']"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .for_element(Locator::Css("form.filters"))
        .await?;
    browser
        .find(Locator::Css(
            "select[name=status] option[value=joint_persuasion]",
        ))
        .await?
        .click()
        .await?;
    browser
        .find(Locator::Css("form.filters button"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .for_element(Locator::Css(
            "select[name=status] option[value=joint_persuasion][selected]",
        ))
        .await?;
    let shown = browser
        .find(Locator::Css("table.cases tbody"))
        .await?
        .text()
        .await?;
    assert!(shown.contains("联合劝返"), "{shown}");
    chromium.screenshot("cases").await?;

    // A case page with a recording: the player loads it and seeks.
    let (case, _) = recorded_case(&server).await?;
    browser
        .goto(&format!("{}/console/cases/{case}", server.url))
        .await?;
    browser.wait().for_element(Locator::Css("audio")).await?;
    let seeked = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const a = document.querySelector('audio');
             const seek = () => { a.onseeked = () => done(a.currentTime); a.currentTime = 0.5; };
             if (a.readyState >= 1) { seek(); } else { a.onloadedmetadata = seek; a.load(); }",
            Vec::new(),
        )
        .await?;
    let at = seeked.as_f64().unwrap_or_default();
    assert!((0.4..0.6).contains(&at), "the player sought to {seeked}");
    chromium.screenshot("case").await?;
    browser.set_window_size(360, 800).await?;
    assert_eq!(fits_width(browser).await?, serde_json::Value::Bool(true));
    chromium.screenshot("case-phone").await?;
    browser.set_window_size(1280, 900).await?;

    // Reviews from the page's own forms: one attempt rejected with a reason, another approved.
    let forms = browser
        .find_all(Locator::Css("article.attempt form.review"))
        .await?;
    anyhow::ensure!(forms.len() >= 2, "two attempts to review");
    forms[0]
        .find(Locator::Css("select[name=verdict] option[value=rejected]"))
        .await?
        .click()
        .await?;
    forms[0]
        .find(Locator::Css("input[name=reason]"))
        .await?
        .send_keys("录音听不清")
        .await?;
    forms[0].find(Locator::Css("button")).await?.click().await?;
    browser
        .wait()
        .for_element(Locator::XPath("//p[contains(., '已驳回：录音听不清')]"))
        .await?;
    let forms = browser
        .find_all(Locator::Css("article.attempt form.review"))
        .await?;
    forms[1].find(Locator::Css("button")).await?.click().await?;
    browser
        .wait()
        .for_element(Locator::XPath("//p[contains(., '已审核通过')]"))
        .await?;

    // R18: a write-off asked for without its papers: the checklist says what is missing, and
    // approving it is refused with the same list.
    let asked = write_off_asked(&server).await?;
    browser
        .goto(&format!("{}/console/cases/{asked}", server.url))
        .await?;
    let missing = browser
        .wait()
        .for_element(Locator::Css("section.closure ul.missing"))
        .await?
        .text()
        .await?;
    assert!(missing.contains("公安部门证明"), "{missing}");
    chromium.screenshot("write-off").await?;
    browser
        .find(Locator::Css("section.closure form.review button"))
        .await?
        .click()
        .await?;
    let refusal = browser
        .wait()
        .for_element(Locator::XPath("//p[contains(., '核销条件尚未满足')]"))
        .await?
        .text()
        .await?;
    assert!(refusal.contains("公安部门证明"), "{refusal}");

    // A visit photo's thumbnail opens the photo itself in the browser.
    let (pictured, _) = case_with(&server, "photo").await?;
    browser
        .goto(&format!("{}/console/cases/{pictured}", server.url))
        .await?;
    browser
        .wait()
        .for_element(Locator::Css(".files a img"))
        .await?
        .click()
        .await?;
    let opened = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const check = () => {
               const img = document.images[0];
               if (location.pathname.startsWith('/console/media/') && img && img.complete) {
                 done(img.naturalWidth);
               } else { setTimeout(check, 50); }
             };
             check();",
            Vec::new(),
        )
        .await?;
    assert!(
        opened.as_u64().unwrap_or_default() > 0,
        "the photo shows: {opened}"
    );

    // The ledger workbook downloads from the reports page and opens.
    browser.goto(&format!("{}/console", server.url)).await?;
    browser
        .find(Locator::Css("header a[href='/console/reports']"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .for_element(Locator::Css(
            "form[action='/console/reports/ledger.xlsx'] button",
        ))
        .await?
        .click()
        .await?;
    let today = chrono::Utc::now().date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .map_or(today, |next| next - chrono::Duration::days(1));
    let book = chromium
        .downloaded(&format!("ledger-{first}-{last}.xlsx"))
        .await?;
    let mut book: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(book))?;
    let sheet = calamine::Reader::sheet_names(&book)
        .first()
        .cloned()
        .unwrap_or_default();
    let range = calamine::Reader::worksheet_range(&mut book, &sheet)?;
    let title = range
        .get((0, 0))
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(title.contains("控辍保学台账"), "{title}");

    // A review form stripped of its token is refused, and nothing is reviewed.
    browser
        .goto(&format!("{}/console/cases/{case}", server.url))
        .await?;
    let form = browser
        .wait()
        .for_element(Locator::Css("article.attempt form.review"))
        .await?;
    browser
        .execute(
            "document.querySelector('article.attempt form.review input[name=csrf]').remove();",
            Vec::new(),
        )
        .await?;
    form.find(Locator::Css("button")).await?.click().await?;
    browser
        .wait()
        .for_element(Locator::XPath("//p[contains(., '缺少或错误的安全令牌')]"))
        .await?;

    // Signing out from the page's own form ends the session.
    browser.goto(&format!("{}/console", server.url)).await?;
    browser
        .find(Locator::Css("header form button"))
        .await?
        .click()
        .await?;
    browser
        .wait()
        .for_element(Locator::Css("form.login"))
        .await?;
    browser.goto(&format!("{}/console", server.url)).await?;
    assert_eq!(browser.current_url().await?.path(), "/console/login");

    // A teacher: another school's case page is a 404, their own case has no review action.
    sign_in_from_form(browser, "teacher").await?;
    browser.wait().for_element(Locator::Css("header")).await?;
    browser
        .goto(&format!("{}/console/cases/{case}", server.url))
        .await?;
    browser
        .wait()
        .for_element(Locator::XPath("//p[contains(., '不在您的工作范围内')]"))
        .await?;
    let status = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(location.href).then(r => done(r.status));",
            Vec::new(),
        )
        .await?;
    assert_eq!(status, serde_json::json!(404));
    browser
        .goto(&format!("{}/console/cases/{asked}", server.url))
        .await?;
    browser
        .wait()
        .for_element(Locator::Css("section.timeline"))
        .await?;
    let review_forms = browser.find_all(Locator::Css("form.review")).await?;
    assert!(review_forms.is_empty(), "a teacher is offered a review");
    chromium.client.clone().close().await?;
    Ok(())
}

/// Signs `username` in through the console's sign-in form, which the browser shows.
async fn sign_in_from_form(browser: &fantoccini::Client, username: &str) -> anyhow::Result<()> {
    use fantoccini::Locator;
    let field = browser
        .wait()
        .for_element(Locator::Css("#username"))
        .await?;
    field.send_keys(username).await?;
    browser
        .find(Locator::Css("#password"))
        .await?
        .send_keys(tests::PASSWORD)
        .await?;
    browser
        .find(Locator::Css("form.login button"))
        .await?
        .click()
        .await?;
    Ok(())
}
