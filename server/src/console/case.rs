//! A case page (`/console/cases/{id}`): the whole timeline a supervisor reviews — what is due,
//! every attempt with its notes, participants, place (a link to the coordinates, no map tiles),
//! photos (thumbnails opening full size) and recordings (players that seek: the files are served
//! with byte ranges), the documents, reviews, moves and the conflicts sync kept. The read is the
//! API's (`cases::detail::read`): scoped, 404 outside the scope, audited. The files come through
//! `/console/media/{id}` with the session's cookie, by the API's own download code.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use sync_protocol::CaseId;
use sync_protocol::detail::{CaseDetail, MediaLink};
use sync_protocol::evidence::Verdict;
use sync_protocol::media::MediaKind;
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
    let detail = crate::cases::detail::read(&state, &who.user, peer.ip(), CaseId(id)).await;
    match detail {
        Ok(detail) => match super::frame(&state, &who.user).await {
            Ok(frame) => {
                let title = detail.case.student_name.clone();
                let body = render(&detail);
                page::answer(
                    StatusCode::OK,
                    page::layout(&title, Some((&frame, &who.csrf)), body),
                )
            }
            Err(e) => page::failed(&e),
        },
        Err(ApiError::NotFound(_)) => page::refused(
            StatusCode::NOT_FOUND,
            "没有这个案件，或它不在您的工作范围内。",
        ),
        Err(e) => page::failed(&e),
    }
}

/// `GET /console/media/{id}`: the original, with byte ranges.
pub async fn original(
    State(state): State<MediaState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    who: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Response {
    crate::media::download::original(&state, &who.user, peer, &headers, id)
        .await
        .unwrap_or_else(IntoResponse::into_response)
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

fn render(d: &CaseDetail) -> Markup {
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
        }
        section {
            h2 { "待办" }
            @if c.due.is_empty() { p { "当前没有待办事项。" } }
            ul { @for item in &c.due { li { (item.hint) " （" (item.rule) "）" @if let Some(day) = item.due_on { " 期限 " (day) } } } }
        }
        section.timeline {
            h2 { "劝返记录（" (d.attempts.len()) "次）" }
            @for a in &d.attempts {
                article.attempt {
                    h3 { (china_time(a.occurred_at)) " · " (labels::attempt_kind(a.kind)) " · " (labels::outcome(a.outcome)) }
                    p { "参与人员：" @for (i, p) in a.participants.iter().enumerate() { @if i > 0 { "、" } (p.name) "（" (p.unit) "）" } }
                    @if !a.met_whom.is_empty() { p { "见到：" (a.met_whom) } }
                    @if !a.guardian_statement.is_empty() { p { "监护人表示：" (a.guardian_statement) } }
                    @if !a.next_step.is_empty() { p { "下一步：" (a.next_step) } }
                    @if !a.notes.is_empty() { p { "备注：" (a.notes) } }
                    @if let Some(at) = a.location { p { "位置：" a href=(format!("geo:{},{}", at.lat, at.lon)) { (format!("{:.5}, {:.5}", at.lat, at.lon)) } } }
                    (files(&d.media, a.id.0))
                }
            }
        }
        section {
            h2 { "文书（" (d.documents.len()) "份）" }
            @for doc in &d.documents {
                article {
                    h3 { (doc.title) " " small { (doc.doc_type.as_str()) } }
                    p { @if let Some(on) = doc.issued_on { (on) " " } (doc.issued_by) " · " (verdict(d, doc.id.0)) }
                    (files(&d.media, doc.id.0))
                }
            }
        }
        section {
            h2 { "状态变更" }
            ul { @for m in &d.moves { li { (china_time(m.moved_at)) " " (labels::status(m.from)) " → " (labels::status(m.to)) } } }
        }
        @if !d.conflicts.is_empty() {
            section {
                h2 { "同步冲突（已保留被覆盖的值）" }
                ul { @for c in &d.conflicts { li { (c.field) "：" (c.losing_user_name.as_deref().unwrap_or("某设备")) " 的修改未被采用" } } }
            }
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

/// `at` in China's time, to the minute.
fn china_time(at: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::FixedOffset::east_opt(crate::calendar::CHINA_OFFSET_SECS) {
        Some(china) => at
            .with_timezone(&china)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
