//! Creating ledger records directly: org units, users, students, cases and attempts. The demo
//! district, the admin commands and the tests' fixtures all go through these functions.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
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
    anyhow::ensure!(
        parent_kind == expected_parent,
        "a {} must be under {}, not {}",
        kind.as_str(),
        expected_parent.map_or("nothing", OrgUnitKind::as_str),
        parent_kind.map_or("nothing", OrgUnitKind::as_str),
    );
    let id = Uuid::now_v7();
    let row = org_unit::ActiveModel {
        id: Set(id),
        parent_id: Set(parent.map(|p| p.id)),
        kind: Set(kind.as_str().to_owned()),
        name: Set(name.to_owned()),
        code: Set(code.to_owned()),
        district_id: Set(parent.map_or(id, |p| p.district_id)),
        township_id: Set(if kind == OrgUnitKind::Township {
            Some(id)
        } else {
            parent.and_then(|p| p.township_id)
        }),
        created_at: Set(Utc::now()),
    };
    Ok(row.insert(db).await?)
}

/// The org unit with `code`.
pub async fn org_unit_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> anyhow::Result<org_unit::Model> {
    org_unit::Entity::find()
        .filter(org_unit::Column::Code.eq(code))
        .one(db)
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
    anyhow::ensure!(
        unit.kind == role.org_unit_kind().as_str(),
        "a {} belongs to a {}, but `{}` is a {}",
        role.as_str(),
        role.org_unit_kind().as_str(),
        unit.code,
        unit.kind
    );
    anyhow::ensure!(
        password_plain.chars().count() >= 8,
        "a password needs at least 8 characters"
    );
    let now = Utc::now();
    let row = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(username.to_owned()),
        display_name: Set(display_name.to_owned()),
        role: Set(role.as_str().to_owned()),
        org_unit_id: Set(unit.id),
        password_hash: Set(password::hash(password_plain)?),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(row.insert(db).await?)
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
    let row = student::ActiveModel {
        id: Set(id),
        name: Set(new.name),
        gender: Set(new.gender.as_str().to_owned()),
        birth_date: Set(new.birth_date),
        id_number_enc: Set(sealer.seal(&new.id_number, &seal_context("students", "id_number", id))),
        id_number_lookup: Set(sealer.id_number_lookup(&new.id_number)),
        registration_no: Set(new.registration_no),
        school_id: Set(school.id),
        village_id: Set(village.id),
        township_id: Set(township),
        district_id: Set(village.district_id),
        grade: Set(new.grade),
        class_name: Set(new.class_name),
        household_address_enc: Set(sealer.seal(
            &new.household_address,
            &seal_context("students", "household_address", id),
        )),
        residence_address_enc: Set(sealer.seal(
            &new.residence_address,
            &seal_context("students", "residence_address", id),
        )),
        left_behind: Set(new.groups.left_behind),
        orphan: Set(new.groups.orphan),
        disabled: Set(new.groups.disabled),
        poor_household: Set(new.groups.poor_household),
        migrant: Set(new.groups.migrant),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let row = row.insert(db).await?;
    for (position, g) in (0..).zip(new.guardians) {
        let gid = Uuid::now_v7();
        guardian::ActiveModel {
            id: Set(gid),
            student_id: Set(id),
            position: Set(position),
            name: Set(g.name),
            relation: Set(g.relation),
            phone_enc: Set(sealer.seal(&g.phone, &seal_context("guardians", "phone", gid))),
        }
        .insert(db)
        .await?;
    }
    Ok(row)
}

/// A case to open.
#[derive(Debug, Clone)]
pub struct NewCase {
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
) -> anyhow::Result<case::Model> {
    let now = Utc::now();
    let row = case::ActiveModel {
        id: Set(Uuid::now_v7()),
        student_id: Set(student.id),
        school_id: Set(student.school_id),
        village_id: Set(student.village_id),
        township_id: Set(student.township_id),
        district_id: Set(student.district_id),
        status: Set(new.status.as_str().to_owned()),
        found_by: Set(new.found_by.as_str().to_owned()),
        reason: Set(new.reason.map(|r| r.as_str().to_owned())),
        responsible_user_id: Set(new.responsible_user_id),
        opened_on: Set(new.opened_on),
        relapse_count: Set(new.relapse_count),
        closure_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        field_stamps: Set("{}".into()),
    };
    let row = row.insert(db).await?;
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
