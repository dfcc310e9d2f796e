//! A demo district: townships, villages, schools, one user per role, students and cases in every
//! status with their attempts, so a new user sees real-looking data at once. The tests build
//! their fixtures with the same loader.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sync_protocol::AttemptId;
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, Department, FoundBy, GeoPoint, Participant,
    ReasonCategory,
};
use sync_protocol::org::{OrgUnitKind, Role};
use sync_protocol::students::{Gender, Guardian, SpecialGroups};
use sync_protocol::sync::NewAttempt;

use crate::db::changes::ChangeSet;
use crate::db::entity::{case, org_unit, user};
use crate::records::{self, NewCase, NewStudent};
use crate::state::AppState;

/// What to build.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// The district's name.
    pub district_name: String,
    /// The district's code; every other code starts with it.
    pub code: String,
    /// Put before every username (empty for the main demo).
    pub username_prefix: String,
    /// The password of every demo user.
    pub password: String,
    /// How many students.
    pub students: usize,
    /// Seed of the random choices, so a demo is the same every time.
    pub seed: u64,
}

impl DemoSpec {
    /// The demo a new user loads with `--demo`.
    pub fn standard() -> Self {
        Self {
            district_name: "示范区".into(),
            code: "DEMO".into(),
            username_prefix: String::new(),
            password: "demo-pass-2026".into(),
            students: 300,
            seed: 2026,
        }
    }
}

/// A township with its villages and schools.
#[derive(Debug, Clone)]
pub struct DemoTownship {
    /// The township.
    pub unit: org_unit::Model,
    /// Its villages.
    pub villages: Vec<org_unit::Model>,
    /// Its schools.
    pub schools: Vec<org_unit::Model>,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The district.
    pub district: org_unit::Model,
    /// Its townships.
    pub townships: Vec<DemoTownship>,
    /// One user per role, in `Role::ALL` order; local units are the first of their kind.
    pub users: Vec<(Role, user::Model)>,
    /// Every case.
    pub cases: Vec<case::Model>,
}

const TOWNSHIPS: [&str; 3] = ["青山镇", "白水乡", "石桥街道"];
const VILLAGES: [&str; 3] = ["上坝村", "中寨村", "下河社区"];
const SCHOOLS: [&str; 2] = ["中心小学", "初级中学"];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "朱", "胡",
];
const GIVEN: &[&str] = &[
    "小明", "丽", "强", "芳", "杰", "婷", "浩", "敏", "磊", "静", "俊", "雪", "宇", "欣", "涛",
];
const ROLE_NAMES: [(Role, &str); 6] = [
    (Role::Teacher, "班主任"),
    (Role::SchoolLead, "教务主任"),
    (Role::VillageMember, "村委委员"),
    (Role::TownshipOfficer, "乡镇专干"),
    (Role::Supervisor, "教体局督导"),
    (Role::Admin, "系统管理员"),
];

/// The check digit of an 18-digit national ID number (ISO 7064 MOD 11-2).
fn id_check_digit(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

fn student_for(rng: &mut StdRng, index: usize, grade: i32, year: i32) -> NewStudent {
    let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let given = GIVEN[rng.random_range(0..GIVEN.len())];
    let birth = NaiveDate::from_ymd_opt(
        year - 6 - grade,
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .unwrap_or_default();
    let first17 = format!("530102{}{:03}", birth.format("%Y%m%d"), index % 1000);
    let phone = |rng: &mut StdRng| format!("13{:09}", rng.random_range(0..1_000_000_000u32));
    NewStudent {
        name: format!("{surname}{given}"),
        gender: if rng.random_bool(0.5) {
            Gender::Male
        } else {
            Gender::Female
        },
        birth_date: birth,
        id_number: format!("{first17}{}", id_check_digit(&first17)),
        registration_no: format!("G{first17}"),
        grade,
        class_name: format!("{}班", rng.random_range(1..=4)),
        household_address: format!(
            "{}组{}号",
            rng.random_range(1..=9),
            rng.random_range(1..=99)
        ),
        residence_address: format!(
            "{}组{}号",
            rng.random_range(1..=9),
            rng.random_range(1..=99)
        ),
        guardians: vec![
            Guardian {
                name: format!("{surname}父"),
                relation: "父亲".into(),
                phone: phone(rng),
            },
            Guardian {
                name: format!("{surname}母"),
                relation: "母亲".into(),
                phone: phone(rng),
            },
        ],
        groups: SpecialGroups {
            left_behind: rng.random_bool(0.3),
            orphan: rng.random_bool(0.03),
            disabled: rng.random_bool(0.05),
            poor_household: rng.random_bool(0.2),
            migrant: rng.random_bool(0.1),
        },
    }
}

/// How many school and joint attempts a case in `status` has had.
fn attempts_for(status: CaseStatus) -> (usize, usize) {
    match status {
        CaseStatus::Absent | CaseStatus::AbsenceEnded | CaseStatus::Excused => (1, 0),
        CaseStatus::Suspected => (1, 0),
        CaseStatus::SchoolPersuasion => (2, 0),
        CaseStatus::Reported => (3, 0),
        CaseStatus::JointPersuasion => (3, 1),
        CaseStatus::CompulsoryReturn
        | CaseStatus::Deferred
        | CaseStatus::Returned
        | CaseStatus::VocationalSchool
        | CaseStatus::FollowUp
        | CaseStatus::Closed => (3, 3),
    }
}

/// Whether the demo district with `code` is already loaded.
pub async fn is_loaded(state: &AppState, code: &str) -> anyhow::Result<bool> {
    Ok(records::org_unit_by_code(&state.db.read, code)
        .await
        .is_ok())
}

/// The year the demo's school term and cases are in.
const YEAR: i32 = 2026;

/// Builds the demo district in one transaction.
pub async fn load(state: &AppState, spec: &DemoSpec) -> anyhow::Result<Demo> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let txn = state.db.write.begin().await?;
    let (district, townships) = org_units(&txn, spec).await?;
    let users = staff(&txn, spec, &district, &townships[0]).await?;
    let (teacher, officer) = (&users[0].1, &users[3].1);
    let mut cases = Vec::new();
    let mut changes = ChangeSet::default();
    for i in 0..spec.students {
        let township = &townships[i % townships.len()];
        let slot = i / townships.len();
        let school = &township.schools[slot % township.schools.len()];
        let village = &township.villages[slot % township.villages.len()];
        let grade = i32::try_from(1 + (i % 9)).unwrap_or(1);
        let student = records::student(
            &txn,
            &state.sealer,
            school,
            village,
            student_for(&mut rng, i, grade, YEAR),
        )
        .await?;
        if i % 5 >= 2 {
            continue;
        }
        let status = CaseStatus::ALL[cases.len() % CaseStatus::ALL.len()];
        let new = case_for(&mut rng, i, status, teacher);
        let opened_on = new.opened_on;
        let case = records::case(&txn, &mut changes, &student, new).await?;
        let (school_attempts, joint_attempts) = attempts_for(status);
        let start = Utc.from_utc_datetime(&opened_on.and_hms_opt(9, 0, 0).unwrap_or_default());
        let count = school_attempts + joint_attempts;
        for n in 0..count {
            let (kind, author, participants) = if n >= school_attempts {
                (AttemptKind::JointPersuasion, officer, joint_team(officer))
            } else if n == 0 {
                (AttemptKind::PhoneCall, teacher, school_team(teacher))
            } else {
                (AttemptKind::HomeVisit, teacher, school_team(teacher))
            };
            let outcome = if status == CaseStatus::Returned && n + 1 == count {
                AttemptOutcome::AgreedToReturn
            } else {
                AttemptOutcome::ALL[1 + n % 3]
            };
            let attempt = NewAttempt {
                id: AttemptId::new(),
                case_id: case.id.into(),
                kind,
                occurred_at: start + Duration::days(i64::try_from(2 * n).unwrap_or(0)),
                location: Some(GeoPoint {
                    lat: 25.04 + rng.random_range(-0.2..0.2),
                    lon: 102.71 + rng.random_range(-0.2..0.2),
                    accuracy_m: Some(15.0),
                }),
                participants,
                met_whom: "监护人".into(),
                guardian_statement: "家长表示孩子不愿上学，会再做工作。".into(),
                outcome,
                next_step: "三日内再次家访".into(),
                notes: String::new(),
            };
            records::attempt(&txn, &state.sealer, &mut changes, &case, attempt, author.id).await?;
        }
        cases.push(case);
    }
    changes.append(&txn).await?;
    txn.commit().await?;
    Ok(Demo {
        district,
        townships,
        users,
        cases,
    })
}

/// The district of `spec` with its townships, each with its villages and schools.
async fn org_units(
    db: &impl ConnectionTrait,
    spec: &DemoSpec,
) -> anyhow::Result<(org_unit::Model, Vec<DemoTownship>)> {
    let district = records::org_unit(
        db,
        OrgUnitKind::District,
        &spec.district_name,
        &spec.code,
        None,
    )
    .await?;
    let mut townships = Vec::new();
    for (t, township_name) in TOWNSHIPS.iter().enumerate() {
        let code = format!("{}-T{}", spec.code, t + 1);
        let unit = records::org_unit(
            db,
            OrgUnitKind::Township,
            township_name,
            &code,
            Some(&district),
        )
        .await?;
        let mut villages = Vec::new();
        for (v, name) in VILLAGES.iter().enumerate() {
            villages.push(
                records::org_unit(
                    db,
                    OrgUnitKind::Village,
                    name,
                    &format!("{code}-V{}", v + 1),
                    Some(&unit),
                )
                .await?,
            );
        }
        let mut schools = Vec::new();
        for (s, name) in SCHOOLS.iter().enumerate() {
            let full = format!(
                "{}{name}",
                township_name
                    .trim_end_matches(['镇', '乡'])
                    .trim_end_matches("街道")
            );
            schools.push(
                records::org_unit(
                    db,
                    OrgUnitKind::School,
                    &full,
                    &format!("{code}-S{}", s + 1),
                    Some(&unit),
                )
                .await?,
            );
        }
        townships.push(DemoTownship {
            unit,
            villages,
            schools,
        });
    }
    Ok((district, townships))
}

/// One user per role, in the first township's first school and village, the township or the
/// district, by what the role belongs to.
async fn staff(
    db: &impl ConnectionTrait,
    spec: &DemoSpec,
    district: &org_unit::Model,
    first: &DemoTownship,
) -> anyhow::Result<Vec<(Role, user::Model)>> {
    let mut users = Vec::new();
    for (role, title) in ROLE_NAMES {
        let unit = match role.org_unit_kind() {
            OrgUnitKind::School => &first.schools[0],
            OrgUnitKind::Village => &first.villages[0],
            OrgUnitKind::Township => &first.unit,
            OrgUnitKind::District => district,
        };
        let username = format!("{}{}", spec.username_prefix, role.as_str());
        let display = format!("{}{title}", SURNAMES[users.len() % SURNAMES.len()]);
        users.push((
            role,
            records::user(db, &username, &display, role, unit, &spec.password).await?,
        ));
    }
    Ok(users)
}

/// The case of the `index`-th student, in `status`, with `teacher` responsible.
fn case_for(rng: &mut StdRng, index: usize, status: CaseStatus, teacher: &user::Model) -> NewCase {
    // An absence is days old, not months: it has ended or become a case by then (R1–R5).
    let opened_on = if status == CaseStatus::Absent {
        crate::calendar::china_date(Utc::now()) - Duration::days(rng.random_range(0..3))
    } else {
        NaiveDate::from_ymd_opt(YEAR, 9, 1).unwrap_or_default()
            + Duration::days(rng.random_range(0..60))
    };
    NewCase {
        id: uuid::Uuid::now_v7(),
        status,
        found_by: FoundBy::ALL[index % FoundBy::ALL.len()],
        reason: (status != CaseStatus::Absent)
            .then(|| ReasonCategory::ALL[rng.random_range(0..ReasonCategory::ALL.len())]),
        responsible_user_id: Some(teacher.id),
        opened_on,
        relapse_count: i32::from(status == CaseStatus::FollowUp && rng.random_bool(0.3)),
    }
}

/// Who goes on a school's attempt: the teacher.
fn school_team(teacher: &user::Model) -> Vec<Participant> {
    vec![Participant {
        user_id: Some(teacher.id.into()),
        name: teacher.display_name.clone(),
        unit: "学校".into(),
        department: None,
    }]
}

/// Who goes on a joint persuasion: the township officer, a police officer and the village
/// committee's head.
fn joint_team(officer: &user::Model) -> Vec<Participant> {
    vec![
        Participant {
            user_id: Some(officer.id.into()),
            name: officer.display_name.clone(),
            unit: "乡镇".into(),
            department: None,
        },
        Participant {
            user_id: None,
            name: "派出所民警".into(),
            unit: "公安".into(),
            department: Some(Department::Police),
        },
        Participant {
            user_id: None,
            name: "村委会主任".into(),
            unit: "村委会".into(),
            department: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_check_digit_matches_a_published_example() {
        // GB 11643-1999's worked example: 11010519491231002X.
        assert_eq!(id_check_digit("11010519491231002"), 'X');
    }
}
