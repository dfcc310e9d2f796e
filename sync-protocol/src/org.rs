//! Roles and the org tree: district → township → village, schools under a township.

use serde::{Deserialize, Serialize};

/// What a user may do and which part of the org tree they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Class teacher (班主任): sees their school.
    Teacher,
    /// The school's control-dropout lead (控辍保学主管领导): sees their school.
    SchoolLead,
    /// Village committee member (村委会): sees their village.
    VillageMember,
    /// Township officer (乡镇): sees the township.
    TownshipOfficer,
    /// Bureau supervisor (区教体局): sees the district.
    Supervisor,
    /// Administrator: manages accounts and calendars; sees the district.
    Admin,
}

impl Role {
    /// Every role, in order of reach.
    pub const ALL: [Role; 6] = [
        Role::Teacher,
        Role::SchoolLead,
        Role::VillageMember,
        Role::TownshipOfficer,
        Role::Supervisor,
        Role::Admin,
    ];

    /// The stored and wire name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::SchoolLead => "school_lead",
            Self::VillageMember => "village_member",
            Self::TownshipOfficer => "township_officer",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }

    /// The kind of org unit a user of this role must belong to.
    pub fn org_unit_kind(self) -> OrgUnitKind {
        match self {
            Self::Teacher | Self::SchoolLead => OrgUnitKind::School,
            Self::VillageMember => OrgUnitKind::Village,
            Self::TownshipOfficer => OrgUnitKind::Township,
            Self::Supervisor | Self::Admin => OrgUnitKind::District,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// A level of the org tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgUnitKind {
    /// District or county (区/县): the bureau's level.
    District,
    /// Township or street (乡/镇/街道).
    Township,
    /// Village or community (村/社区).
    Village,
    /// A school, under a township.
    School,
}

impl OrgUnitKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Township => "township",
            Self::Village => "village",
            Self::School => "school",
        }
    }
}

impl std::str::FromStr for OrgUnitKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::District, Self::Township, Self::Village, Self::School]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown org unit kind `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
