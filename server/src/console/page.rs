//! The console's page frame: the layout every page shares (title, navigation, sign-out), its
//! stylesheet (shipped in the binary, readable at 360 px wide), the sign-in form, and the pages
//! that say something went wrong. Everything a user reads is in Simplified Chinese.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::ApiError;

/// The stylesheet: system fonts, no web fonts or CDN; narrow screens stack everything.
const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;
 color:#1f2933;background:#f5f7fa;line-height:1.5}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;
 background:#1d4e89;color:#fff}
header a{color:#fff;text-decoration:none}
header .who{margin-left:auto;font-size:.9rem}
header form{display:inline}
header button{background:none;border:1px solid #fff;color:#fff;border-radius:4px;padding:.1rem .5rem}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
section{background:#fff;border-radius:6px;padding:.8rem 1rem;margin-bottom:1rem;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #e4e7eb;vertical-align:top}
.tiles{display:flex;flex-wrap:wrap;gap:.8rem}
.tile{flex:1 1 10rem;background:#fff;border-radius:6px;padding:.6rem .8rem;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
.tile b{display:block;font-size:1.6rem}
a.tile{color:inherit;text-decoration:none}
.overdue{color:#b42318;font-weight:600}
.error{color:#b42318}
form.login{max-width:22rem;margin:3rem auto;background:#fff;padding:1.2rem;border-radius:6px}
form.login label{display:block;margin:.6rem 0 .2rem}
form.login input{width:100%;padding:.4rem;font-size:1rem}
form.login button{margin-top:1rem;width:100%;padding:.5rem;font-size:1rem;background:#1d4e89;
 color:#fff;border:0;border-radius:4px}
svg text{font-size:12px}
article{border-top:1px solid #e4e7eb;padding:.4rem 0}
article h3{font-size:1rem;margin:.2rem 0}
article p{margin:.15rem 0}
.files{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.files img{max-width:160px;height:auto;border-radius:4px}
audio,video{max-width:100%}
form.review{display:flex;flex-wrap:wrap;gap:.4rem;margin:.3rem 0}
form.review input{flex:1 1 12rem;padding:.25rem}
.verdict{color:#52606d;font-size:.9rem}
ul.missing{color:#b42318}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin-bottom:1rem}
form.filters input,form.filters select{padding:.3rem;font-size:1rem;max-width:100%}
nav.sub{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin-bottom:.8rem}
form.admin label{display:block;margin:.5rem 0}
form.admin input,form.admin textarea{display:block;width:100%;max-width:32rem;padding:.3rem;font-size:1rem}
@media (max-width:40rem){table,tbody,tr,td,th{display:block}thead{display:none}
 td{border:0;padding:.1rem 0}tr{border-bottom:1px solid #e4e7eb;padding:.4rem 0}}
";

/// The signed-in part of the header: who, and whether to link to administration.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The user's name and role.
    pub who: String,
    /// Whether the user administers the district.
    pub admin: bool,
}

/// A page: `title`, the signed-in frame around `body` if `frame` is given (who, and the
/// sign-out form with the session's token).
pub fn layout(title: &str, frame: Option<(&Frame, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 控辍保学工作台" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/console" { strong { "控辍保学工作台" } }
                    @if let Some((frame, csrf)) = frame {
                        a href="/console" { "今日待办" }
                        a href="/console/cases" { "案件" }
                        a href="/console/reviews" { "待审核" }
                        a href="/console/reports" { "报表" }
                        @if frame.admin { a href="/console/admin" { "管理" } }
                        span.who { (frame.who) }
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "退出登录" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form, with its form `token` and what went wrong last time, if anything.
pub fn login(token: &str, error: Option<&str>) -> Markup {
    layout(
        "登录",
        None,
        html! {
            form.login method="post" action="/console/login" {
                h1 { "登录" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                input type="hidden" name="csrf" value=(token);
                label for="username" { "用户名" }
                input #username name="username" autocomplete="username" required;
                label for="password" { "密码" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "登录" }
            }
        },
    )
}

/// `markup` as an HTML answer with `status`.
pub fn answer(status: StatusCode, markup: Markup) -> Response {
    (status, axum::response::Html(markup.into_string())).into_response()
}

/// A page refusing the request with `status`, saying `why`.
pub fn refused(status: StatusCode, why: &str) -> Response {
    let body = html! { section { h1 { "无法完成" } p.error { (why) } p { a href="/console" { "返回工作台" } } } };
    answer(status, layout("无法完成", None, body))
}

/// The page saying why the API's code refused `error`, in general words (a 500 is logged).
pub fn refusal(error: &ApiError) -> Response {
    match error {
        ApiError::Forbidden(_) => refused(StatusCode::FORBIDDEN, "您的角色不能查看或办理此项。"),
        ApiError::NotFound(_) => {
            refused(StatusCode::NOT_FOUND, "没有找到，或它不在您的工作范围内。")
        }
        ApiError::Malformed { .. } | ApiError::Invalid { .. } => refused(
            StatusCode::BAD_REQUEST,
            "请求有误，请检查填写的内容（如月份）后重试。",
        ),
        other => failed(other),
    }
}

/// A page for a failure of the server's own, logged with its cause.
pub fn failed(error: &ApiError) -> Response {
    tracing::error!(error = %error, "console page failed");
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "服务器出错，请稍后再试；问题已记录。",
    )
}

/// `at` in China's time, to the minute.
pub fn china_time(at: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::FixedOffset::east_opt(crate::calendar::CHINA_OFFSET_SECS) {
        Some(china) => at
            .with_timezone(&china)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
