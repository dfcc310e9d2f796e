//! The school's written report to the bureau on day 5 of an unexcused absence (R5; seed 003:
//! "学校控辍保学领导小组以书面报告形式（含集体家访资料、照片）报教育局"): the student, the days of
//! absence, every attempt so far with who took part and what the guardian said, the photos of
//! the visits as thumbnails, what the family and the township were told in writing, and blanks
//! for the signature and the seal. Printable HTML in Chinese; the school's lead files it, and it
//! becomes a `bureau_report` document of the case with the HTML as its file, so the bureau reads
//! exactly what was filed. No sealed personal data is on it (no ID number, address or phone).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, html};
use sync_protocol::cases::{Attempt, CaseSummary};
use sync_protocol::evidence::DocumentType;
use sync_protocol::media::MediaKind;
use sync_protocol::org::Role;
use sync_protocol::reports::FiledReport;
use sync_protocol::sync::{Change, NewDocument};
use sync_protocol::{CaseId, DocumentId, Problem};
use tracing::instrument;

use super::form::{READERS, STYLE, html_page};
use super::labels;
use crate::auth::AuthUser;
use crate::calendar::china_date;
use crate::cases::history;
use crate::db;
use crate::db::entity::case;
use crate::error::{ApiError, Json, Path};
use crate::media::MediaState;
use crate::media::generated::{self, Generated};
use crate::state::AppState;

/// Who files the report: the school's control-dropout lead signs it (seed 003: 主管领导, 校长).
const FILERS: &[Role] = &[Role::SchoolLead];

/// Photos shown on the report, at most: the visits' evidence, not the whole album.
const MAX_PHOTOS: usize = 12;

/// The report's title.
const TITLE: &str = "学生无故不到校情况书面报告";

/// A photo of a visit, as its thumbnail.
struct Photo {
    /// The day of its attempt.
    on: NaiveDate,
    /// The kind of its attempt, in words.
    kind: &'static str,
    /// The JPEG thumbnail.
    jpeg: bytes::Bytes,
}

/// What the report says of one case.
struct Report<'a> {
    case: &'a CaseSummary,
    student: &'a db::entity::student::Model,
    attempts: &'a [Attempt],
    photos: &'a [Photo],
    /// The written notices of R4 and the day each was recorded, if it was.
    notices: [(&'static str, Option<NaiveDate>); 2],
    names: &'a super::ledger::CaseNames,
    today: NaiveDate,
}

fn render(r: &Report) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (TITLE) " - " (r.student.name) }
                style { (STYLE) ".photos img { width: 10em; margin: 0.3em; } figure { display: inline-block; margin: 0; text-align: center; }" }
            }
            body {
                h1 { (TITLE) }
                p { "区教育体育局（基础教育股）：" }
                p {
                    "我校学生" (r.student.name) "自" (r.case.opened_on)
                    "起无故不到校，经班主任、教务处及村委会集体家访劝返，至今未返校。现将有关情况报告如下："
                }
                (student_table(r))
                h2 { "一、劝返及家访情况" }
                (attempts_table(r.attempts))
                h2 { "二、集体家访照片" }
                (photos(r.photos))
                h2 { "三、书面告知情况" }
                ul {
                    @for (what, on) in &r.notices {
                        li { (what) "：" (on.map_or("尚未书面告知".to_owned(), |d| format!("已于{d}书面告知"))) }
                    }
                }
                h2 { "四、下一步" }
                p { "请乡镇（街道）司法部门向监护人发放相关司法文书，敦促其保证学生尽早复学；学校继续落实专人劝返。" }
                table.sign {
                    tr { th { "控辍保学领导小组组长（校长）签字" } td {} th { "学校（盖章）" } td {} }
                    tr { th { "报告日期" } td { (r.today) } th { "区教体局接收日期" } td { "    年    月    日" } }
                }
            }
        }
    }
}

/// The student and the case.
fn student_table(r: &Report) -> Markup {
    let gender = r
        .student
        .gender
        .parse()
        .map(labels::gender)
        .unwrap_or_default();
    html! {
    table {
        tr { th { "学校" } td { (r.names.school) } th { "乡镇（街道）" } td { (r.names.township) } }
        tr { th { "学生姓名" } td { (r.student.name) } th { "性别" } td { (gender) } }
        tr { th { "年级" } td { (r.student.grade) } th { "班级" } td { (r.student.class_name) } }
        tr { th { "学籍号" } td { (r.student.registration_no) } th { "首次无故不到校日期" } td { (r.case.opened_on) } }
        tr {
            th { "当前状态" } td { (labels::status(r.case.status)) }
            th { "责任人" } td { (r.names.responsible) }
        }
    }
    }
}

/// Every attempt so far: who took part, whom they met, what the guardian said.
fn attempts_table(attempts: &[Attempt]) -> Markup {
    html! {
    table {
        tr {
            th { "日期" } th { "方式" } th { "参与人员" } th { "面谈对象" }
            th { "监护人意见" } th { "结果" } th { "下一步" }
        }
        @for a in attempts {
            tr {
                td { (china_date(a.occurred_at)) }
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
                td { (a.next_step) }
            }
        }
        @if attempts.is_empty() {
            tr { td colspan="7" { "（无劝返记录）" } }
        }
    }
    }
}

/// The photos as thumbnails embedded in the page, so the filed file stands alone.
fn photos(photos: &[Photo]) -> Markup {
    let engine = base64::engine::general_purpose::STANDARD;
    html! {
    @if photos.is_empty() {
        p { "（无照片）" }
    } @else {
        div.photos {
            @for p in photos {
                figure {
                    img src=(format!("data:image/jpeg;base64,{}", engine.encode(&p.jpeg))) alt=(p.kind);
                    figcaption { (p.on) " " (p.kind) }
                }
            }
        }
    }
    }
}

/// The report of case `id` in the caller's scope, with the case row.
async fn build(
    state: &AppState,
    user: &AuthUser,
    id: CaseId,
) -> Result<(case::Model, String, String), ApiError> {
    if !READERS.contains(&user.role) {
        return Err(ApiError::forbidden(
            "the written report is for the school, the township and the bureau",
        ));
    }
    let db = &state.db.read;
    let row = db::cases::find(db, user.scope(), id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let student = db::students::by_id(db, [row.student_id])
        .await?
        .remove(&row.student_id)
        .ok_or_else(|| ApiError::not_found("case"))?;
    let names = super::ledger::unit_and_user_names(db, &row).await?;
    let case = crate::cases::view(state, db, row.clone()).await?;
    let attempts = db::cases::attempts(db, row.id)
        .await?
        .into_iter()
        .map(|(a, p)| crate::cases::attempt_view(&state.sealer, a, p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let history = history::load(
        db,
        &state.sealer,
        std::slice::from_ref(&row),
        state.config.leaving_age,
    )
    .await?
    .remove(&row.id)
    .ok_or_else(|| anyhow::anyhow!("no history for case {}", row.id))?;
    let notice = |t| history.first_document(t).map(|d| d.on);
    let media = axum::extract::FromRef::from_ref(state);
    let report = Report {
        case: &case,
        student: &student,
        photos: &visit_photos(&media, &attempts, row.id).await?,
        attempts: &attempts,
        notices: [
            (
                "书面告知乡镇（街道）和村委会（社区）",
                notice(DocumentType::TownshipNotice),
            ),
            (
                "辍学通报书面告知家长（家长签字确认）",
                notice(DocumentType::DropoutNotice),
            ),
        ],
        names: &names,
        today: china_date(chrono::Utc::now()),
    };
    let file_name = format!("书面报告-{}-{}.html", student.name, report.today);
    Ok((row, render(&report).into_string(), file_name))
}

/// The thumbnails of the photos of `attempts` of case `case_id`, oldest attempt first, at most
/// [`MAX_PHOTOS`]; previews and photos that do not decode are left out.
async fn visit_photos(
    media: &MediaState,
    attempts: &[Attempt],
    case_id: uuid::Uuid,
) -> Result<Vec<Photo>, ApiError> {
    let objects = db::media::of_case(&media.db.read, case_id).await?;
    let mut out = Vec::new();
    for a in attempts {
        let of_attempt = objects.iter().filter(|m| {
            m.target_id == a.id.0 && m.kind == MediaKind::Photo.as_str() && m.preview_of.is_none()
        });
        for m in of_attempt {
            if out.len() == MAX_PHOTOS {
                return Ok(out);
            }
            if let Some(jpeg) = crate::media::derive::thumbnail(media, &m.sha256).await? {
                out.push(Photo {
                    on: china_date(a.occurred_at),
                    kind: labels::attempt_kind(a.kind),
                    jpeg,
                });
            }
        }
    }
    Ok(out)
}

/// The day-5 written report to the bureau of a case in the caller's scope, as printable HTML in
/// Chinese (R5), as it would be filed now.
#[utoipa::path(get, path = "/api/v1/cases/{id}/bureau-report", tag = "reports",
    params(("id" = CaseId, Path, description = "case id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the report", content_type = "text/html"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn bureau_report(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CaseId>,
) -> Result<Response, ApiError> {
    let (_, page, _) = build(&state, &user, id).await?;
    Ok(html_page(page))
}

/// Files the day-5 written report of a case (R5): the school's lead generates it, and it becomes
/// a `bureau_report` document of the case with the HTML as its file, which meets the due item.
#[utoipa::path(post, path = "/api/v1/cases/{id}/bureau-report", tag = "reports",
    params(("id" = CaseId, Path, description = "case id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "filed: the document and its file", body = FiledReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn file_bureau_report(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CaseId>,
) -> Result<(StatusCode, Json<FiledReport>), ApiError> {
    if !FILERS.contains(&user.role) {
        return Err(ApiError::forbidden(
            "the school's control-dropout lead files the written report",
        ));
    }
    let (row, page, file_name) = build(&state, &user, id).await?;
    let names = super::ledger::unit_and_user_names(&state.db.read, &row).await?;
    let document_id = DocumentId::new();
    let document = NewDocument {
        id: document_id,
        case_id: id,
        doc_type: DocumentType::BureauReport,
        title: TITLE.to_owned(),
        issued_by: names.school,
        issued_on: Some(china_date(chrono::Utc::now())),
        notes: String::new(),
    };
    crate::cases::edits::apply(&state, &user, 0, Change::CreateDocument { document }).await?;
    let file = Generated {
        bytes: page.into(),
        content_type: "text/html; charset=utf-8",
        file_name,
        kind: MediaKind::Document,
    };
    let media = axum::extract::FromRef::from_ref(&state);
    let stored = generated::keep(&media, &row, ("document", document_id.0), user.id, file).await?;
    Ok((
        StatusCode::CREATED,
        Json(FiledReport {
            document_id,
            media_id: stored.id.into(),
            sha256: stored.sha256,
            size: u64::try_from(stored.size).unwrap_or(0),
        }),
    ))
}
