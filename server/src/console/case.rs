//! A case page (`/console/cases/{id}`): the whole timeline a supervisor reviews — what is due,
//! every attempt with its notes, participants, place (a link to the coordinates, no map tiles),
//! photos (thumbnails opening full size) and recordings (players that seek: the files are served
//! with byte ranges), the documents, reviews, moves and the conflicts sync kept. The read is the
//! API's (`cases::detail::read`): scoped, 404 outside the scope, audited. The files come through
//! `/console/media/{id}` with the session's cookie, by the API's own download code.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use sync_protocol::detail::{CaseDetail, MediaLink};
use sync_protocol::evidence::{ReviewTarget, Verdict};
use sync_protocol::media::MediaKind;
use sync_protocol::org::Role;
use sync_protocol::{AttemptId, CaseId, UserId};
use uuid::Uuid;

use super::page;
use super::session::ConsoleUser;
use crate::error::ApiError;
use crate::media::MediaState;
use crate::reports::labels;
use crate::state::AppState;

/// `GET /console/cases/{id}`.
pub async fn page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return page::refused(StatusCode::NOT_FOUND, "没有这个案件。");
    };
    match shown(&state, &who, peer, id).await {
        Ok(page) => page,
        Err(ApiError::NotFound(_)) => page::refused(
            StatusCode::NOT_FOUND,
            "没有这个案件，或它不在您的工作范围内。",
        ),
        Err(e) => page::failed(&e),
    }
}

/// What a supervisor's case page adds: the review forms' token and, when a write-off is asked
/// for, what its approval still needs.
struct Reviewing<'a> {
    csrf: &'a str,
    missing: Option<Vec<String>>,
}

/// The pages a case page links to that the user's role may open.
#[derive(Debug, Clone, Copy)]
struct Links {
    /// The report form and the day-5 written report.
    printable: bool,
    /// The ledger check.
    verifiable: bool,
}

async fn shown(
    state: &AppState,
    who: &ConsoleUser,
    peer: SocketAddr,
    id: Uuid,
) -> Result<Response, ApiError> {
    let detail = crate::cases::detail::read(state, &who.user, peer.ip(), CaseId(id)).await?;
    let frame = super::frame(state, &who.user).await?;
    let reviewing = if who.user.role == Role::Supervisor {
        let c = &detail.case;
        let asked = c.closure_reason.is_some() && !c.status.is_ended();
        let missing = if asked {
            Some(super::review::closure_missing(state, &who.user, id).await?)
        } else {
            None
        };
        Some(Reviewing {
            csrf: &who.csrf,
            missing,
        })
    } else {
        None
    };
    let links = Links {
        printable: crate::reports::form::READERS.contains(&who.user.role),
        verifiable: crate::chain::routes::VERIFIERS.contains(&who.user.role),
    };
    let body = render(&detail, reviewing.as_ref(), links);
    let title = detail.case.student_name.as_str();
    let layout = page::layout(title, Some((&frame, &who.csrf)), body);
    Ok(page::answer(StatusCode::OK, layout))
}

/// Photo types a browser shows by itself (no script inside), opened in the page rather than saved.
const SHOWN_INLINE: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif"];

/// `GET /console/media/{id}`: the original, with byte ranges; a photo opens in the browser, any
/// other file is saved.
pub async fn original(
    State(state): State<MediaState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Response {
    let mut response =
        match crate::media::download::original(&state, &who.user, peer, &headers, id).await {
            Ok(response) => response,
            Err(e) => return e.into_response(),
        };
    let out = response.headers_mut();
    let photo = out
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| SHOWN_INLINE.contains(&t));
    let inline = out
        .get(header::CONTENT_DISPOSITION)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| d.strip_prefix("attachment"))
        .and_then(|rest| HeaderValue::from_str(&format!("inline{rest}")).ok());
    if let (true, Some(inline)) = (photo, inline) {
        out.insert(header::CONTENT_DISPOSITION, inline);
    }
    response
}

/// `GET /console/media/{id}/thumbnail`.
pub async fn thumbnail(
    State(state): State<MediaState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    Path(id): Path<Uuid>,
) -> Response {
    crate::media::download::thumbnail(&state, &who.user, peer, id)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The case page, with the `links` the user may follow.
fn render(d: &CaseDetail, review: Option<&Reviewing<'_>>, links: Links) -> Markup {
    let c = &d.case;
    html! {
        h1 { (c.student_name) " " small { (labels::status(c.status)) } }
        section {
            p {
                "立案日期 " (c.opened_on)
                " · 发现途径 " (labels::found_by(c.found_by))
                " · 原因 " (c.reason.map_or("未填写", labels::reason))
                @if let Some(reason) = c.closure_reason { " · 申请核销：" (labels::closure(reason)) }
                @if c.relapse_count > 0 { " · 反复辍学 " (c.relapse_count) " 次" }
            }
            p.files {
                @if links.printable {
                    a href=(format!("/console/cases/{}/report-form", c.id)) { "辍学报告表（打印）" }
                    a href=(format!("/console/cases/{}/bureau-report", c.id)) { "第5日书面报告（打印）" }
                }
                @if links.verifiable {
                    a href=(format!("/console/cases/{}/verify", c.id)) { "核验台账完整性" }
                }
            }
        }
        (closure(d, review))
        section {
            h2 { "待办" }
            @if c.due.is_empty() { p { "当前没有待办事项。" } }
            ul { @for item in &c.due { li { (item.hint) " （" (item.rule) "）" @if let Some(day) = item.due_on { " 期限 " (day) } } } }
        }
        (attempts(d, review))
        (documents(d, review))
        section {
            h2 { "状态变更" }
            ul { @for m in &d.moves { li { (page::china_time(m.moved_at)) " " (labels::status(m.from)) " → " (labels::status(m.to)) } } }
        }
        @if !d.conflicts.is_empty() {
            section {
                h2 { "同步冲突（已保留被覆盖的值）" }
                ul { @for c in &d.conflicts { li { (c.field) "：" (c.losing_user_name.as_deref().unwrap_or("某设备")) " 的修改未被采用" } } }
            }
        }
    }
}

/// The write-off request and its checklist, with the approval form, for a supervisor.
fn closure(d: &CaseDetail, review: Option<&Reviewing<'_>>) -> Markup {
    let c = &d.case;
    html! {
        @if let (Some(reason), Some(r)) = (c.closure_reason, review) {
            @if let Some(missing) = &r.missing {
                section.closure {
                    h2 { "核销审批：" (labels::closure(reason)) }
                    @if missing.is_empty() {
                        p { "核销材料齐全，可以审批。" }
                    } @else {
                        p.error { "材料不全，尚不能批准。尚缺：" }
                        ul.missing { @for item in missing { li { (item) } } }
                    }
                    (review_form(c.id.0, ReviewTarget::Closure, c.id.0, r.csrf))
                }
            }
        }
    }
}

/// The attempts, each with its files, its latest review and, for a supervisor, a review form.
fn attempts(d: &CaseDetail, review: Option<&Reviewing<'_>>) -> Markup {
    html! {
        section.timeline {
            h2 { "劝返记录（" (d.attempts.len()) "次）" }
            @for a in &d.attempts {
                article.attempt id=(format!("attempt-{}", a.id)) {
                    h3 { (page::china_time(a.occurred_at)) " · " (labels::attempt_kind(a.kind)) " · " (labels::outcome(a.outcome)) }
                    p { "参与人员：" @for (i, p) in a.participants.iter().enumerate() { @if i > 0 { "、" } (p.name) "（" (p.unit) "）" } }
                    @if !a.met_whom.is_empty() { p { "见到：" (a.met_whom) } }
                    @if !a.guardian_statement.is_empty() { p { "监护人表示：" (a.guardian_statement) } }
                    @if !a.next_step.is_empty() { p { "下一步：" (a.next_step) } }
                    @if !a.notes.is_empty() { p { "备注：" (a.notes) } }
                    @if let Some(at) = a.location { p { "位置：" a href=(format!("geo:{},{}", at.lat, at.lon)) { (format!("{:.5}, {:.5}", at.lat, at.lon)) } } }
                    (files(&d.media, a.id.0))
                    (confirmations(d, a.id))
                    (super::flags::on_attempt(&d.flags, a.id, review.map(|r| r.csrf)))
                    p.verdict { (verdict(d, a.id.0)) }
                    @if let Some(r) = review { (review_form(d.case.id.0, ReviewTarget::Attempt, a.id.0, r.csrf)) }
                }
            }
        }
    }
}

/// Who of attempt `id`'s participants has confirmed it as it stands (R21).
fn confirmations(d: &CaseDetail, id: AttemptId) -> Markup {
    let signers: HashMap<UserId, &str> = d
        .signatures
        .iter()
        .map(|s| (s.user_id, s.user_name.as_str()))
        .collect();
    let Some(standing) = d.confirmations.iter().find(|c| c.attempt_id == id) else {
        return html! {};
    };
    html! {
        p.signatures {
            "签字确认："
            @for (i, p) in standing.participants.iter().enumerate() {
                @if i > 0 { "；" }
                @let words = labels::confirmation(p, &signers);
                @if p.confirmation.holds() { span { (words) } } @else { span.error { (words) } }
            }
        }
    }
}

/// The documents, each with its files, its latest review and, for a supervisor, a review form.
fn documents(d: &CaseDetail, review: Option<&Reviewing<'_>>) -> Markup {
    html! {
        section {
            h2 { "文书（" (d.documents.len()) "份）" }
            @for doc in &d.documents {
                article id=(format!("document-{}", doc.id)) {
                    h3 { (doc.title) " " small { (labels::document_type(doc.doc_type)) } }
                    p { @if let Some(on) = doc.issued_on { (on) " " } (doc.issued_by) }
                    (files(&d.media, doc.id.0))
                    p.verdict { (verdict(d, doc.id.0)) }
                    @if let Some(r) = review { (review_form(d.case.id.0, ReviewTarget::Document, doc.id.0, r.csrf)) }
                }
            }
        }
    }
}

/// A review form of the record `target_id` of case `case`.
fn review_form(case: Uuid, target: ReviewTarget, target_id: Uuid, csrf: &str) -> Markup {
    html! {
        form.review method="post" action=(format!("/console/cases/{case}/reviews")) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="target" value=(target.as_str());
            input type="hidden" name="target_id" value=(target_id);
            select name="verdict" aria-label="审核结论" {
                option value="approved" { "通过" }
                option value="rejected" { "驳回" }
                option value="more_evidence" { "需补充材料" }
            }
            input name="reason" aria-label="理由" placeholder="理由（驳回或补充材料时必填）";
            button type="submit" { "提交审核" }
        }
    }
}

/// The latest review of the record `id`, in words.
fn verdict(d: &CaseDetail, id: Uuid) -> String {
    match d.reviews.iter().rev().find(|r| r.target_id == id) {
        None => "待审核".into(),
        Some(r) => match r.verdict {
            Verdict::Approved => "已审核通过".into(),
            Verdict::Rejected => format!("已驳回：{}", r.reason),
            Verdict::MoreEvidence => format!("需补充材料：{}", r.reason),
        },
    }
}

/// The files kept as evidence of the record `target`: photos as thumbnails opening full size,
/// recordings and videos as players, anything else as a download.
fn files(media: &[MediaLink], target: Uuid) -> Markup {
    let of: Vec<&MediaLink> = media
        .iter()
        .filter(|m| m.media.target_id == target && m.media.preview_of.is_none())
        .collect();
    html! {
        @if !of.is_empty() {
            div.files {
                @for m in of {
                    @let url = format!("/console/media/{}", m.media.id);
                    @match m.media.kind {
                        MediaKind::Photo => a href=(url) { img src=(format!("{url}/thumbnail")) alt=(m.media.file_name) loading="lazy"; },
                        MediaKind::Audio => audio controls preload="metadata" src=(url) {},
                        MediaKind::Video => video controls preload="metadata" src=(url) {},
                        _ => a href=(url) { (m.media.file_name) },
                    }
                }
            }
        }
    }
}
