//! A demo district: townships, villages, schools, one account per role and the staff of every
//! other school and township (`crew`), students, and cases in every status, each played through
//! the rules from its reported absence (`story`), so a new user sees real-looking data at once
//! and every case's history is one the rules allow. The tests build their fixtures with the same
//! loader.

mod crew;
mod story;

use chrono::{Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sync_protocol::cases::{CaseStatus, FoundBy, ReasonCategory};
use sync_protocol::org::{OrgUnitKind, Role};
use sync_protocol::students::{Gender, Guardian, SpecialGroups};

use crate::db::entity::{case, org_unit, student, user};
use crate::records::{self, NewStudent};
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

/// Whether the demo district with `code` is already loaded.
pub async fn is_loaded(state: &AppState, code: &str) -> anyhow::Result<bool> {
    Ok(records::org_unit_by_code(&state.db.read, code)
        .await
        .is_ok())
}

/// The year the demo's school term and cases are in.
const YEAR: i32 = 2026;

/// Builds the demo district in one transaction: its units, staff and students, then each case
/// by its story (`demo/story.rs`), played through the push's code on the days it happened.
pub async fn load(state: &AppState, spec: &DemoSpec) -> anyhow::Result<Demo> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let txn = state.db.write.begin().await?;
    let (district, townships) = org_units(&txn, spec).await?;
    let users = staff(&txn, spec, &district, &townships[0]).await?;
    let crew = crew::Crew::hire(&txn, spec, &users, &townships).await?;
    let today = crate::calendar::china_date(Utc::now());
    let mut scripts = Vec::new();
    for i in 0..spec.students {
        let township = &townships[i % townships.len()];
        let slot = i / townships.len();
        let school = &township.schools[slot % township.schools.len()];
        let village = &township.villages[slot % township.villages.len()];
        let status = (i % 5 < 2).then(|| CaseStatus::ALL[scripts.len() % CaseStatus::ALL.len()]);
        // The special measures are for children of 12 and over (R20).
        let special = status.is_some_and(|s| {
            matches!(
                s,
                CaseStatus::CompulsoryReturn | CaseStatus::VocationalSchool
            )
        });
        let grade = i32::try_from(1 + (i % 9))
            .unwrap_or(1)
            .max(if special { 7 } else { 1 });
        let student = records::student(
            &txn,
            &state.sealer,
            school,
            village,
            student_for(&mut rng, i, grade, YEAR),
        )
        .await?;
        if let Some(status) = status {
            let casting = casting(&mut rng, i, status, &student, today);
            scripts.push(story::Script::of(casting, &crew));
        }
    }
    let mut cases = Vec::with_capacity(scripts.len());
    for script in &scripts {
        cases.push(script.play(state, &txn, &crew).await?);
    }
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
            let code = format!("{code}-V{}", v + 1);
            let mut village =
                records::org_unit(db, OrgUnitKind::Village, name, &code, Some(&unit)).await?;
            // Each village's centre lies within 2 km of where the stories' visits are made.
            let centre = (25.04 + 0.004 * v as f64, 102.71);
            crate::db::flags::set_centre(db, village.id, centre).await?;
            (village.lat, village.lon) = (Some(centre.0), Some(centre.1));
            villages.push(village);
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

/// How the case of the `index`-th student, ending in `status`, starts: an absence of the last
/// days is still open or ended; every other case opened in the autumn term, early enough for its
/// story to have ended by `today`.
fn casting(
    rng: &mut StdRng,
    index: usize,
    status: CaseStatus,
    student: &student::Model,
    today: NaiveDate,
) -> story::Casting {
    let opened = match status {
        CaseStatus::Absent => today - Duration::days(rng.random_range(0..3)),
        CaseStatus::AbsenceEnded | CaseStatus::Excused => {
            today - Duration::days(rng.random_range(3..10))
        }
        _ => {
            let autumn = NaiveDate::from_ymd_opt(YEAR, 9, 1).unwrap_or_default()
                + Duration::days(rng.random_range(0..50));
            autumn.min(today - Duration::days(45))
        }
    };
    let reason = match status {
        CaseStatus::CompulsoryReturn | CaseStatus::VocationalSchool => {
            ReasonCategory::AversionToSchool
        }
        CaseStatus::Deferred => ReasonCategory::Illness,
        _ => ReasonCategory::ALL[rng.random_range(0..ReasonCategory::ALL.len())],
    };
    story::Casting {
        student: student.id,
        school: student.school_id,
        township: student.township_id,
        status,
        found_by: FoundBy::ALL[index % FoundBy::ALL.len()],
        reason,
        opened,
    }
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
