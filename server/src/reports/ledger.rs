//! The ledger (台账) as rows: one per case, with the columns the seeds name, read a page at a
//! time so an export of a whole district never holds it in memory.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::cases::CaseStatus;
use uuid::Uuid;

use super::labels;
use crate::calendar::china_date;
use crate::cases::{due, history, measures, parse_stored};
use crate::db::entity::{case, plausibility_flag, student};
use crate::db::{self, Scope};
use crate::state::AppState;

/// The columns of the ledger, in order (the header row).
pub const COLUMNS: [&str; 26] = [
    "序号",
    "学校",
    "乡镇（街道）",
    "村（社区）",
    "学生姓名",
    "性别",
    "出生日期",
    "年级",
    "班级",
    "学籍号",
    "特殊群体",
    "发现方式",
    "立案日期",
    "辍学原因",
    "当前状态",
    "责任人",
    "学校劝返次数",
    "联合劝返次数",
    "最近劝返日期",
    "签字确认",
    "存疑提示",
    "反复辍学次数",
    "劝返措施类型及进度",
    "核销原因",
    "销号日期",
    "下一步",
];

/// How wide each column is in the workbook, in characters (the header's order).
pub const WIDTHS: [f64; 26] = [
    6.0, 18.0, 14.0, 12.0, 10.0, 6.0, 12.0, 6.0, 8.0, 22.0, 14.0, 12.0, 12.0, 16.0, 14.0, 10.0,
    8.0, 8.0, 12.0, 18.0, 30.0, 8.0, 36.0, 22.0, 12.0, 40.0,
];

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Number(u32),
    /// A day (a real date in the workbook), or an empty cell.
    Date(Option<NaiveDate>),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Number(n) => write!(f, "{n}"),
            Self::Date(Some(day)) => write!(f, "{day}"),
            Self::Date(None) => Ok(()),
        }
    }
}

/// Which cases a ledger holds: those in the caller's scope, under an org unit if given, that were
/// open at some time in the period (opened by its end, not closed before its start).
#[derive(Debug, Clone, Copy)]
pub struct LedgerFilter {
    /// An org unit (district, township, village or school) the cases belong to.
    pub org_unit: Option<Uuid>,
    /// The period's first day.
    pub from: NaiveDate,
    /// The period's last day.
    pub to: NaiveDate,
}

impl LedgerFilter {
    /// Whether `case`, closed on `closed_on` if at all, was open at some time in the period.
    pub fn holds(&self, case: &case::Model, closed_on: Option<NaiveDate>) -> bool {
        case.opened_on <= self.to && closed_on.is_none_or(|day| day >= self.from)
    }
}

/// The day `case` was closed, if it is: its move to `closed`, or (for a row closed before moves
/// were recorded) the day it last changed.
pub fn closed_on(case: &case::Model, history: &history::CaseHistory) -> Option<NaiveDate> {
    (history.status == CaseStatus::Closed).then(|| {
        history
            .entered(CaseStatus::Closed)
            .unwrap_or_else(|| china_date(case.updated_at))
    })
}

/// Cases read per query.
pub const PAGE: u64 = 500;

/// The next page of cases after `after` for `filter` in `scope`, by id (unfiltered by period:
/// that needs each case's closing day, see [`rows`]).
pub async fn case_page(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &LedgerFilter,
    after: Option<Uuid>,
) -> Result<Vec<case::Model>, DbErr> {
    let walk = db::cases::Walk {
        unit: filter.org_unit,
        opened_by: Some(filter.to),
        rows: db::cases::Rows::Ledger,
    };
    db::cases::page(db, scope, walk, after, PAGE).await
}

/// The names one case's documents show: its school, its township, its responsible person.
#[derive(Debug, Clone, Default)]
pub struct CaseNames {
    /// The school.
    pub school: String,
    /// The township of residence.
    pub township: String,
    /// The responsible person (专人).
    pub responsible: String,
}

/// The names of `c`'s school, township and responsible person.
pub async fn unit_and_user_names(
    db: &impl ConnectionTrait,
    c: &case::Model,
) -> Result<CaseNames, DbErr> {
    let mut units = db::org::unit_names(db, vec![c.school_id, c.township_id]).await?;
    let mut people = db::org::user_names(db, c.responsible_user_id.into_iter().collect()).await?;
    Ok(CaseNames {
        school: units.remove(&c.school_id).unwrap_or_default(),
        township: units.remove(&c.township_id).unwrap_or_default(),
        responsible: c
            .responsible_user_id
            .and_then(|u| people.remove(&u))
            .unwrap_or_default(),
    })
}

fn corrupt(e: anyhow::Error) -> DbErr {
    DbErr::Custom(e.to_string())
}

/// The ledger rows of `cases` that fall in `filter`'s period, numbered from `first`.
pub async fn rows(
    state: &AppState,
    db: &impl ConnectionTrait,
    filter: &LedgerFilter,
    cases: &[case::Model],
    first: u32,
) -> Result<Vec<Vec<Cell>>, DbErr> {
    let names = Names::read(db, cases).await?;
    let mut histories = history::load(db, &state.sealer, cases, state.config.leaving_age).await?;
    let calendar = state.calendar().await.map_err(|e| corrupt(e.into()))?;
    let mut out = Vec::with_capacity(cases.len());
    for c in cases {
        let Some(h) = histories.remove(&c.id) else {
            continue;
        };
        let closed_on = closed_on(c, &h);
        if !filter.holds(c, closed_on) {
            continue;
        }
        let next = due::due_or_calendar_missing(&h, &calendar)
            .into_iter()
            .next()
            .map(|d| d.hint)
            .unwrap_or_default();
        let n = first + u32::try_from(out.len()).unwrap_or(u32::MAX);
        out.push(row(n, c, &h, closed_on, next, &names)?);
    }
    Ok(out)
}

/// What the rows of a page name beside their cases, read once for the page.
struct Names {
    students: HashMap<Uuid, student::Model>,
    units: HashMap<Uuid, String>,
    people: HashMap<Uuid, String>,
    /// The open plausibility flags of each case, in words with their counts.
    flags: HashMap<Uuid, String>,
}

impl Names {
    /// The students, org units, responsible people and open flags of `cases`.
    async fn read(db: &impl ConnectionTrait, cases: &[case::Model]) -> Result<Self, DbErr> {
        let students = db::students::by_id(db, cases.iter().map(|c| c.student_id)).await?;
        let units = cases
            .iter()
            .flat_map(|c| [c.school_id, c.village_id, c.township_id]);
        let units = db::org::unit_names(db, units.collect()).await?;
        let people = cases.iter().filter_map(|c| c.responsible_user_id);
        let people = db::org::user_names(db, people.collect()).await?;
        let flags = db::flags::of_cases(db, cases.iter().map(|c| c.id).collect()).await?;
        Ok(Self {
            students,
            units,
            people,
            flags: open_flags(flags),
        })
    }
}

/// Row `n`: case `c` with its history `h`, the day it closed and the next step due.
fn row(
    n: u32,
    c: &case::Model,
    h: &history::CaseHistory,
    closed_on: Option<NaiveDate>,
    next: String,
    names: &Names,
) -> Result<Vec<Cell>, DbErr> {
    let student = names.students.get(&c.student_id);
    let text = |s: &str| Cell::Text(s.to_owned());
    let unit = |id: &Uuid| Cell::Text(names.units.get(id).cloned().unwrap_or_default());
    // Counted as the rules count them, so the sheet and the next step's hint agree: school
    // attempts of this episode (R8), joint attempts since the report (R12).
    let (school, joint) = (h.school_attempts(), h.joint_attempts());
    Ok(vec![
        Cell::Number(n),
        unit(&c.school_id),
        unit(&c.township_id),
        unit(&c.village_id),
        Cell::Text(student.map(|s| s.name.clone()).unwrap_or_default()),
        match student {
            Some(s) => text(labels::gender(parse_stored(&s.gender).map_err(corrupt)?)),
            None => text(""),
        },
        Cell::Date(student.map(|s| s.birth_date)),
        Cell::Number(student.map_or(0, |s| u32::try_from(s.grade).unwrap_or(0))),
        Cell::Text(student.map(|s| s.class_name.clone()).unwrap_or_default()),
        Cell::Text(
            student
                .map(|s| s.registration_no.clone())
                .unwrap_or_default(),
        ),
        Cell::Text(
            student
                .map(|s| labels::special_groups(crate::db::students::groups(s)))
                .unwrap_or_default(),
        ),
        text(labels::found_by(
            parse_stored(&c.found_by).map_err(corrupt)?,
        )),
        Cell::Date(Some(c.opened_on)),
        text(h.reason.map(labels::reason).unwrap_or("")),
        text(labels::status(h.status)),
        Cell::Text(
            c.responsible_user_id
                .and_then(|u| names.people.get(&u).cloned())
                .unwrap_or_default(),
        ),
        Cell::Number(school),
        Cell::Number(joint),
        Cell::Date(h.attempts.iter().map(|a| a.on).max()),
        Cell::Text(signed_text(h)),
        Cell::Text(names.flags.get(&c.id).cloned().unwrap_or_default()),
        Cell::Number(u32::try_from(c.relapse_count).unwrap_or(0)),
        Cell::Text(measures::progress(h).map(measure_text).unwrap_or_default()),
        Cell::Text(closure_text(h)),
        Cell::Date(closed_on),
        Cell::Text(next),
    ])
}

/// The open flags of each case in words, each kind once with its count, e.g.
/// "照片与其他劝返记录重复×2；劝返记录补录过晚×1".
fn open_flags(flags: Vec<plausibility_flag::Model>) -> HashMap<Uuid, String> {
    let mut counted: HashMap<Uuid, std::collections::BTreeMap<&'static str, u32>> = HashMap::new();
    for f in flags.iter().filter(|f| f.dismissed_at.is_none()) {
        if let Ok(kind) = f.kind.parse() {
            *counted
                .entry(f.case_id)
                .or_default()
                .entry(labels::flag(kind))
                .or_default() += 1;
        }
    }
    counted
        .into_iter()
        .map(|(case, kinds)| {
            let words: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}×{n}")).collect();
            (case, words.join("；"))
        })
        .collect()
}

/// How many of the row's attempts every participant confirmed as they stand (R21), how many
/// nobody signed, and who has not signed or signed before the record changed, e.g.
/// "4/6次全员签字；1次无人签字；张校长未签字、王老师签字后记录被修改"; empty without attempts.
fn signed_text(h: &history::CaseHistory) -> String {
    if h.attempts.is_empty() {
        return String::new();
    }
    let confirmed = h.attempts.iter().filter(|a| a.confirmed).count();
    let mut words = vec![format!("{confirmed}/{}次全员签字", h.attempts.len())];
    let unsigned = h.attempts.iter().filter(|a| a.standing.is_empty()).count();
    if unsigned > 0 {
        words.push(format!("{unsigned}次无人签字"));
    }
    let nobody = HashMap::new();
    let pending: std::collections::BTreeSet<String> = h
        .attempts
        .iter()
        .flat_map(|a| &a.standing)
        .filter(|p| !p.confirmation.holds())
        .map(|p| labels::confirmation(p, &nobody))
        .collect();
    if !pending.is_empty() {
        words.push(pending.into_iter().collect::<Vec<_>>().join("、"));
    }
    words.join("；")
}

/// R20's measure and its progress, in words ("标明劝返措施类型和进度").
fn measure_text(p: measures::Progress) -> String {
    match p.measure {
        measures::Measure::VocationalSchool => format!("引导至中职学校就读（{}起）", p.since),
        measures::Measure::CompulsoryReturn => {
            let mut done: Vec<String> = p
                .steps
                .iter()
                .map(|(stage, day)| format!("{}{day}", labels::judicial_stage(*stage)))
                .collect();
            if done.is_empty() {
                done.push("尚未启动司法程序".into());
            }
            let (taught, last) = p.teaching;
            let teaching = match last {
                Some(day) => format!("送教{taught}次（最近{day}）"),
                None => "尚未送教".into(),
            };
            format!("强制劝返（{}起）：{}；{teaching}", p.since, done.join("，"))
        }
    }
}

/// The closure (or deferral) reason in words; a deferred row written off says it left
/// over-age (超龄离校标注, R15–R17).
fn closure_text(h: &history::CaseHistory) -> String {
    let Some(reason) = h.closure_reason else {
        return String::new();
    };
    let words = labels::closure(reason);
    if h.status == CaseStatus::Closed && reason.defers() {
        format!("{words}（超龄离校）")
    } else {
        words.to_owned()
    }
}
