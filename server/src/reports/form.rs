//! The dropout report form (《义务教育阶段学生辍学情况报告单》, R9) of one case as printable
//! HTML: the student, the family, the reason, every persuasion attempt, and blanks for the
//! signatures and the school's seal. It shows the student's sealed personal data, so reading it
//! is audited like any read of a student (R23).

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use std::net::SocketAddr;
use sync_protocol::cases::{Attempt, CaseSummary};
use sync_protocol::org::Role;
use sync_protocol::students::StudentDetail;
use sync_protocol::{CaseId, Problem};
use tracing::instrument;

use super::labels;
use crate::audit;
use crate::auth::AuthUser;
use crate::db;
use crate::error::{ApiError, Path};
use crate::state::AppState;

/// Who may print the form: the school that files it, the township and the bureau that act on it.
pub const READERS: &[Role] = &[
    Role::Teacher,
    Role::SchoolLead,
    Role::TownshipOfficer,
    Role::Supervisor,
];

pub(super) const STYLE: &str = "
body { font-family: 'Noto Serif CJK SC', 'SimSun', serif; margin: 2em auto; max-width: 48em; }
h1 { text-align: center; font-size: 1.5em; letter-spacing: 0.1em; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
th, td { border: 1px solid #000; padding: 0.35em 0.5em; text-align: left; vertical-align: top; }
th { white-space: nowrap; font-weight: normal; background: #f3f3f3; }
.sign td { height: 4em; }
@media print { body { margin: 0; } th { background: none; } }
";

/// The form as HTML for `case`, its `student` and `attempts`, with the names of its org units.
pub fn render(
    case: &CaseSummary,
    student: &StudentDetail,
    attempts: &[Attempt],
    school: &str,
    township: &str,
    responsible: &str,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "义务教育阶段学生辍学情况报告单 - " (student.name) }
                style { (STYLE) }
            }
            body {
                h1 { "义务教育阶段学生辍学情况报告单" }
                (student_table(case, student, school, township, responsible))
                h2 { "劝返情况" }
                (attempts_table(attempts))
                (signatures())
            }
        }
    }
}

/// The form's first table: the school, the student, the guardians and the case.
fn student_table(
    case: &CaseSummary,
    student: &StudentDetail,
    school: &str,
    township: &str,
    responsible: &str,
) -> Markup {
    let groups = labels::special_groups(student.groups);
    html! {
    table {
        tr { th { "学校" } td colspan="3" { (school) } th { "乡镇（街道）" } td { (township) } }
        tr {
            th { "学生姓名" } td { (student.name) }
            th { "性别" } td { (labels::gender(student.gender)) }
            th { "出生日期" } td { (student.birth_date) }
        }
        tr {
            th { "身份证号" } td colspan="3" { (student.id_number) }
            th { "学籍号" } td { (student.registration_no) }
        }
        tr {
            th { "年级" } td { (student.grade) }
            th { "班级" } td { (student.class_name) }
            th { "特殊群体" } td { (groups) }
        }
        tr { th { "户籍地" } td colspan="5" { (student.household_address) } }
        tr { th { "现居住地" } td colspan="5" { (student.residence_address) } }
        @for g in &student.guardians {
            tr {
                th { "监护人" } td { (g.name) }
                th { "关系" } td { (g.relation) }
                th { "联系电话" } td { (g.phone) }
            }
        }
        tr {
            th { "辍学（立案）日期" } td { (case.opened_on) }
            th { "发现方式" } td { (labels::found_by(case.found_by)) }
            th { "辍学原因" } td { (case.reason.map(labels::reason).unwrap_or("待核实")) }
        }
        tr {
            th { "当前状态" } td { (labels::status(case.status)) }
            th { "反复辍学次数" } td { (case.relapse_count) }
            th { "责任人" } td { (responsible) }
        }
    }
    }
}

/// The attempts at persuasion, one row each.
fn attempts_table(attempts: &[Attempt]) -> Markup {
    html! {
    table {
        tr {
            th { "序号" } th { "日期" } th { "方式" } th { "参与人员" }
            th { "面谈对象" } th { "监护人意见" } th { "结果" }
        }
        @for (n, a) in attempts.iter().enumerate() {
            tr {
                td { (n + 1) }
                td { (crate::calendar::china_date(a.occurred_at)) }
                td { (labels::attempt_kind(a.kind)) }
                td {
                    (a.participants.iter()
                        .map(|p| format!("{}（{}）", p.name, p.unit))
                        .collect::<Vec<_>>()
                        .join("、"))
                }
                td { (a.met_whom) }
                td { (a.guardian_statement) }
                td { (labels::outcome(a.outcome)) }
            }
        }
        @if attempts.is_empty() {
            tr { td colspan="7" { "（无劝返记录）" } }
        }
    }
    }
}

/// The boxes for signatures, the seal and the dates.
fn signatures() -> Markup {
    html! {
    table.sign {
        tr { th { "班主任签字" } td {} th { "控辍保学主管领导签字" } td {} }
        tr { th { "校长签字" } td {} th { "学校（盖章）" } td {} }
        tr { th { "填报日期" } td { "    年    月    日" } th { "区教体局接收日期" } td { "    年    月    日" } }
    }
    }
}

/// The dropout report form of a case in the caller's scope, as printable HTML in Chinese.
#[utoipa::path(get, path = "/api/v1/cases/{id}/report-form", tag = "reports",
    params(("id" = CaseId, Path, description = "case id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the form", content_type = "text/html"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn report_form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Path(id): Path<CaseId>,
) -> Result<Response, ApiError> {
    if !READERS.contains(&user.role) {
        return Err(ApiError::forbidden(
            "the report form is for the school, the township and the bureau",
        ));
    }
    let db = &state.db.read;
    let row = db::cases::find(db, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let (student, guardians) = db::students::find(db, user.scope(), row.student_id)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let names = crate::reports::ledger::unit_and_user_names(db, &row).await?;
    let case = crate::cases::view(&state, db, row.clone()).await?;
    let attempts = db::cases::attempts(db, row.id)
        .await?
        .into_iter()
        .map(|(a, p)| crate::cases::attempt_view(&state.sealer, a, p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let student_id = student.id;
    let student = crate::students::detail(&state.sealer, student, guardians)?;
    audit::record(
        &state.db.write,
        &user,
        Some(peer.ip()),
        audit::Action::ReadStudent,
        Some(student_id),
        serde_json::json!({ "via": "report_form", "case_id": id }),
    )
    .await?;
    let page = render(
        &case,
        &student,
        &attempts,
        &names.school,
        &names.township,
        &names.responsible,
    );
    Ok(html_page(page.into_string()))
}

/// `page` as an HTML answer.
pub(super) fn html_page(page: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        page,
    )
        .into_response()
}
