//! Creating ledger records directly: org units, users, students, cases and attempts. The demo
//! district, the admin commands and the tests' fixtures all go through these functions.

use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use sync_protocol::cases::{CaseStatus, FoundBy, ReasonCategory};
use sync_protocol::org::{OrgUnitKind, Role};
use sync_protocol::students::{Gender, Guardian, SpecialGroups};
use sync_protocol::sync::{EntityKind, FieldStamps, NewAttempt};
use uuid::Uuid;

use crate::auth::password;
use crate::db;
use crate::db::changes::{ChangeSet, RecordScope};
use crate::db::entity::{case, guardian, org_unit, student, user};
use crate::personal_data::Sealer;
use crate::students::seal_context;

/// The longest name, code or username the records take (in characters).
pub const MAX_NAME_CHARS: usize = 64;

/// Why an org unit or an account cannot be created as asked: the rule, in English; a caller
/// that speaks to people puts it in their words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The unit's parent is not of the kind its kind goes under.
    #[error("a {} must be under a {parent}", .kind.as_str())]
    WrongParent {
        /// The unit's kind.
        kind: OrgUnitKind,
        /// The kind it goes under.
        parent: &'static str,
    },
    /// Another unit has the code.
    #[error("another org unit has that code")]
    CodeTaken,
    /// Another account has the username.
    #[error("another account has that username")]
    UsernameTaken,
    /// A name, code or username is empty or longer than [`MAX_NAME_CHARS`].
    #[error("names, codes and usernames need 1 to {MAX_NAME_CHARS} characters")]
    BadName,
    /// The role does not belong to the unit's kind.
    #[error("a {} belongs to a {}", .role.as_str(), .kind.as_str())]
    WrongUnitForRole {
        /// The role asked for.
        role: Role,
        /// The kind of unit it belongs to.
        kind: OrgUnitKind,
    },
    /// A record named is not in the administrator's district.
    #[error("no such record in the district")]
    NotInDistrict,
}

/// Whether each of `names` has 1 to [`MAX_NAME_CHARS`] characters (surrounding spaces aside).
fn well_named(names: &[&str]) -> Result<(), Refusal> {
    let fits = |n: &&str| (1..=MAX_NAME_CHARS).contains(&n.trim().chars().count());
    if names.iter().all(fits) {
        Ok(())
    } else {
        Err(Refusal::BadName)
    }
}

/// Creates an org unit under `parent` (none only for a district).
pub async fn org_unit(
    db: &impl ConnectionTrait,
    kind: OrgUnitKind,
    name: &str,
    code: &str,
    parent: Option<&org_unit::Model>,
) -> anyhow::Result<org_unit::Model> {
    let expected_parent = match kind {
        OrgUnitKind::District => None,
        OrgUnitKind::Township => Some(OrgUnitKind::District),
        OrgUnitKind::Village | OrgUnitKind::School => Some(OrgUnitKind::Township),
    };
    let parent_kind = parent
        .map(|p| p.kind.parse::<OrgUnitKind>())
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if parent_kind != expected_parent {
        let parent = expected_parent.map_or("nothing", OrgUnitKind::as_str);
        return Err(Refusal::WrongParent { kind, parent }.into());
    }
    well_named(&[name, code])?;
    if db::org::unit_by_code(db, code).await?.is_some() {
        return Err(Refusal::CodeTaken.into());
    }
    let id = Uuid::now_v7();
    let row = org_unit::Model {
        id,
        parent_id: parent.map(|p| p.id),
        kind: kind.as_str().to_owned(),
        name: name.trim().to_owned(),
        code: code.trim().to_owned(),
        district_id: parent.map_or(id, |p| p.district_id),
        township_id: if kind == OrgUnitKind::Township {
            Some(id)
        } else {
            parent.and_then(|p| p.township_id)
        },
        created_at: Utc::now(),
        lat: None,
        lon: None,
    };
    Ok(db::org::insert_unit(db, row).await?)
}

/// The org unit with `code`.
pub async fn org_unit_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> anyhow::Result<org_unit::Model> {
    db::org::unit_by_code(db, code)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no org unit with code `{code}`"))
}

/// Creates a user with `role` in `unit`, whose kind must fit the role.
pub async fn user(
    db: &impl ConnectionTrait,
    username: &str,
    display_name: &str,
    role: Role,
    unit: &org_unit::Model,
    password_plain: &str,
) -> anyhow::Result<user::Model> {
    let kind = role.org_unit_kind();
    if unit.kind != kind.as_str() {
        return Err(Refusal::WrongUnitForRole { role, kind }.into());
    }
    well_named(&[username, display_name])?;
    password::long_enough(password_plain)?;
    if db::users::by_username(db, username).await?.is_some() {
        return Err(Refusal::UsernameTaken.into());
    }
    let now = Utc::now();
    let row = user::Model {
        id: Uuid::now_v7(),
        username: username.trim().to_owned(),
        display_name: display_name.trim().to_owned(),
        role: role.as_str().to_owned(),
        org_unit_id: unit.id,
        password_hash: password::hash(password_plain)?,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    Ok(db::users::insert(db, row).await?)
}

/// A student to create.
#[derive(Debug, Clone)]
pub struct NewStudent {
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Gender,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// National ID number (sealed when stored).
    pub id_number: String,
    /// Student registration number.
    pub registration_no: String,
    /// Grade 1–9.
    pub grade: i32,
    /// Class.
    pub class_name: String,
    /// Household-registration address (sealed).
    pub household_address: String,
    /// Residence address (sealed).
    pub residence_address: String,
    /// Guardians (phones sealed).
    pub guardians: Vec<Guardian>,
    /// Special groups.
    pub groups: SpecialGroups,
}

/// Creates a student of `school` living in `village`, sealing the personal data.
pub async fn student(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    school: &org_unit::Model,
    village: &org_unit::Model,
    new: NewStudent,
) -> anyhow::Result<student::Model> {
    anyhow::ensure!(
        school.kind == OrgUnitKind::School.as_str(),
        "`{}` is not a school",
        school.code
    );
    anyhow::ensure!(
        village.kind == OrgUnitKind::Village.as_str(),
        "`{}` is not a village",
        village.code
    );
    let township = village
        .township_id
        .ok_or_else(|| anyhow::anyhow!("village `{}` has no township", village.code))?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let row = student::Model {
        id,
        name: new.name,
        gender: new.gender.as_str().to_owned(),
        birth_date: new.birth_date,
        id_number_enc: sealer.seal(&new.id_number, &seal_context("students", "id_number", id)),
        id_number_lookup: sealer.id_number_lookup(&new.id_number),
        registration_no: new.registration_no,
        school_id: school.id,
        village_id: village.id,
        township_id: township,
        district_id: village.district_id,
        grade: new.grade,
        class_name: new.class_name,
        household_address_enc: sealer.seal(
            &new.household_address,
            &seal_context("students", "household_address", id),
        ),
        residence_address_enc: sealer.seal(
            &new.residence_address,
            &seal_context("students", "residence_address", id),
        ),
        left_behind: new.groups.left_behind,
        orphan: new.groups.orphan,
        disabled: new.groups.disabled,
        poor_household: new.groups.poor_household,
        migrant: new.groups.migrant,
        created_at: now,
        updated_at: now,
    };
    let guardians = (0..).zip(new.guardians).map(|(position, g)| {
        let gid = Uuid::now_v7();
        guardian::Model {
            id: gid,
            student_id: id,
            position,
            name: g.name,
            relation: g.relation,
            phone_enc: sealer.seal(&g.phone, &seal_context("guardians", "phone", gid)),
        }
    });
    Ok(db::students::insert(db, row, guardians.collect()).await?)
}

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// Its id (made by the phone that reported it, or here).
    pub id: Uuid,
    /// Where it stands.
    pub status: CaseStatus,
    /// How it was found.
    pub found_by: FoundBy,
    /// The reason category, if known.
    pub reason: Option<ReasonCategory>,
    /// The responsible person.
    pub responsible_user_id: Option<Uuid>,
    /// The day it was opened.
    pub opened_on: NaiveDate,
    /// Relapses so far.
    pub relapse_count: i32,
}

/// Opens a case for `student`, scoped like the student.
pub async fn case(
    db: &impl ConnectionTrait,
    changes: &mut ChangeSet,
    student: &student::Model,
    new: NewCase,
) -> Result<case::Model, sea_orm::DbErr> {
    let now = Utc::now();
    let row = case::Model {
        id: new.id,
        student_id: student.id,
        school_id: student.school_id,
        village_id: student.village_id,
        township_id: student.township_id,
        district_id: student.district_id,
        status: new.status.as_str().to_owned(),
        found_by: new.found_by.as_str().to_owned(),
        reason: new.reason.map(|r| r.as_str().to_owned()),
        responsible_user_id: new.responsible_user_id,
        opened_on: new.opened_on,
        relapse_count: new.relapse_count,
        closure_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
        field_stamps: "{}".into(),
    };
    let row = db::cases::insert(db, row).await?;
    changes.upsert(EntityKind::Case, row.id, RecordScope::from(&row), true);
    Ok(row)
}

/// Records an attempt on `case` by `author` (server-written: no field clock, so any later
/// phone edit simply applies).
pub async fn attempt(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    changes: &mut ChangeSet,
    case: &case::Model,
    new: NewAttempt,
    author: Uuid,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        new.case_id.0 == case.id,
        "attempt {} is not of case {}",
        new.id,
        case.id
    );
    db::attempts::insert(db, sealer, &new, author, &FieldStamps::new(), Utc::now()).await?;
    changes.upsert(EntityKind::Attempt, new.id.0, RecordScope::from(case), true);
    Ok(())
}
