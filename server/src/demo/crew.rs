//! The demo's staff at work: a class teacher and a lead in every school, an officer in every
//! township and the bureau's supervisor, each signed in on a device of their own, and who goes
//! on whose visits, each with a signing key registered for that device (R21). The accounts of
//! the first school and township are the demo's named ones
//! (`teacher`, `school_lead`, `township_officer`); the others are `teacher-<school code>` and so
//! on, in lower case.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::Signer as _;
use sea_orm::ConnectionTrait;
use sync_protocol::cases::{Department, Participant};
use sync_protocol::org::Role;
use sync_protocol::signing::{self, NewSignature, Vouched};
use sync_protocol::{AttemptId, SignatureId};
use uuid::Uuid;

use super::{DemoSpec, DemoTownship, ROLE_NAMES, SURNAMES};
use crate::auth::AuthUser;
use crate::db::entity::{org_unit, signing_key, user};
use crate::personal_data::Sealer;
use crate::records;

/// The police officer on a joint persuasion, who has no account (R12).
pub(super) const POLICE_OFFICER: &str = "派出所民警";

/// The village committee's head on a joint persuasion, who has no account.
pub(super) const VILLAGE_HEAD: &str = "村委会主任";

/// Who does a step of a story, by what they are to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    /// The class teacher of the case's school.
    Teacher,
    /// The lead of the case's school.
    Lead,
    /// The officer of the case's township.
    Officer,
    /// The bureau's supervisor.
    Supervisor,
}

/// One staff member, signed in, with the key of their device.
#[derive(Debug, Clone)]
pub(super) struct Member {
    /// As the server knows the caller.
    pub(super) user: AuthUser,
    /// Display name.
    pub(super) name: String,
    /// The private key their phone signs attempts with.
    key: ed25519_dalek::SigningKey,
    /// That key's registration.
    key_id: Uuid,
}

impl Member {
    fn of(role: Role, row: &user::Model) -> Self {
        Self {
            user: AuthUser {
                id: row.id,
                role,
                org_unit_id: row.org_unit_id,
                device_id: Uuid::now_v7(),
            },
            name: row.display_name.clone(),
            key: ed25519_dalek::SigningKey::from_bytes(&rand::random()),
            key_id: Uuid::now_v7(),
        }
    }

    /// Registers this member's key for their device, `at`.
    async fn register_key(
        &self,
        db: &impl ConnectionTrait,
        at: DateTime<Utc>,
    ) -> Result<(), sea_orm::DbErr> {
        let row = signing_key::Model {
            id: self.key_id,
            user_id: self.user.id,
            device_id: self.user.device_id,
            public_key: STANDARD.encode(self.key.verifying_key().as_bytes()),
            registered_at: at,
            revoked_at: None,
        };
        crate::db::signing::register(db, row).await
    }

    /// This member's signature, made `at`, of `attempt` of `case` as it is stored now, with its
    /// files, vouching for `vouched` (R21).
    pub(super) async fn signature(
        &self,
        db: &impl ConnectionTrait,
        sealer: &Sealer,
        case: Uuid,
        attempt: AttemptId,
        (vouched, at): (Vec<Vouched>, DateTime<Utc>),
    ) -> anyhow::Result<NewSignature> {
        let (row, people) = crate::db::cases::attempts(db, case)
            .await?
            .into_iter()
            .find(|(a, _)| a.id == attempt.0)
            .ok_or_else(|| anyhow::anyhow!("no attempt {attempt} to sign"))?;
        let held = crate::cases::attempt_view(sealer, row, people)?;
        let files = crate::db::media::of_case(db, case).await?;
        let files = files
            .iter()
            .filter(|m| m.target_id == attempt.0 && m.preview_of.is_none())
            .map(|m| m.sha256.as_str());
        let content_digest = signing::content_digest(&held, files);
        let signed = self.key.sign(&signing::message(attempt, &content_digest));
        Ok(NewSignature {
            id: SignatureId::new(),
            case_id: case.into(),
            attempt_id: attempt,
            key_id: self.key_id.into(),
            content_digest,
            signature: STANDARD.encode(signed.to_bytes()),
            signed_at: at,
            vouched,
        })
    }

    fn participant(&self, unit: &str) -> Participant {
        Participant {
            user_id: Some(self.user.id.into()),
            name: self.name.clone(),
            unit: unit.into(),
            department: None,
        }
    }
}

/// Everyone who works the demo's cases.
#[derive(Debug, Clone)]
pub(super) struct Crew {
    teachers: HashMap<Uuid, Member>,
    leads: HashMap<Uuid, Member>,
    officers: HashMap<Uuid, Member>,
    supervisor: Member,
}

impl Crew {
    /// The crew of the district of `townships`: the named `users` where they work, and an
    /// account made for every other school and township.
    pub(super) async fn hire(
        db: &impl ConnectionTrait,
        spec: &DemoSpec,
        users: &[(Role, user::Model)],
        townships: &[DemoTownship],
    ) -> anyhow::Result<Self> {
        let named = |role: Role| {
            users
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, u)| Member::of(role, u))
                .ok_or_else(|| anyhow::anyhow!("the demo has no {}", role.as_str()))
        };
        let mut crew = Self {
            teachers: HashMap::new(),
            leads: HashMap::new(),
            officers: HashMap::new(),
            supervisor: named(Role::Supervisor)?,
        };
        let mut hired = users.len();
        for township in townships {
            let officer = match named(Role::TownshipOfficer)? {
                o if o.user.org_unit_id == township.unit.id => o,
                _ => hire(db, spec, Role::TownshipOfficer, &township.unit, &mut hired).await?,
            };
            crew.officers.insert(township.unit.id, officer);
            for school in &township.schools {
                for role in [Role::Teacher, Role::SchoolLead] {
                    let member = match named(role)? {
                        m if m.user.org_unit_id == school.id => m,
                        _ => hire(db, spec, role, school, &mut hired).await?,
                    };
                    let staff = match role {
                        Role::Teacher => &mut crew.teachers,
                        _ => &mut crew.leads,
                    };
                    staff.insert(school.id, member);
                }
            }
        }
        let now = Utc::now();
        let everyone = crew.teachers.values().chain(crew.leads.values());
        for member in everyone.chain(crew.officers.values()) {
            member.register_key(db, now).await?;
        }
        crew.supervisor.register_key(db, now).await?;
        Ok(crew)
    }

    /// `who` for a case of `school` in `township`.
    pub(super) fn member(&self, who: Who, school: Uuid, township: Uuid) -> anyhow::Result<&Member> {
        let found = match who {
            Who::Teacher => self.teachers.get(&school),
            Who::Lead => self.leads.get(&school),
            Who::Officer => self.officers.get(&township),
            Who::Supervisor => Some(&self.supervisor),
        };
        found.ok_or_else(|| anyhow::anyhow!("no {who:?} for school {school}"))
    }

    /// Who goes on an attempt `who` makes: the school's staff alone; the township's officer with
    /// a police officer and the village committee's head (R12).
    pub(super) fn team(&self, who: Who, school: Uuid, township: Uuid) -> Vec<Participant> {
        let Ok(member) = self.member(who, school, township) else {
            return Vec::new();
        };
        match who {
            Who::Officer => vec![
                member.participant("乡镇"),
                Participant {
                    user_id: None,
                    name: POLICE_OFFICER.into(),
                    unit: "公安".into(),
                    department: Some(Department::Police),
                },
                Participant {
                    user_id: None,
                    name: VILLAGE_HEAD.into(),
                    unit: "村委会".into(),
                    department: None,
                },
            ],
            Who::Supervisor => vec![member.participant("教体局")],
            Who::Teacher | Who::Lead => vec![member.participant("学校")],
        }
    }
}

/// Makes the account of `role` for `unit`, the `hired`-th of the district.
async fn hire(
    db: &impl ConnectionTrait,
    spec: &DemoSpec,
    role: Role,
    unit: &org_unit::Model,
    hired: &mut usize,
) -> anyhow::Result<Member> {
    let title = ROLE_NAMES
        .iter()
        .find(|(r, _)| *r == role)
        .map_or("", |(_, t)| *t);
    let username = format!(
        "{}{}-{}",
        spec.username_prefix,
        role.as_str(),
        unit.code.to_lowercase()
    );
    let display = format!("{}{title}", SURNAMES[*hired % SURNAMES.len()]);
    *hired += 1;
    let row = records::user(db, &username, &display, role, unit, &spec.password).await?;
    Ok(Member::of(role, &row))
}
