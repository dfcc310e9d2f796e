//! Typed record ids. Every record carries a UUID (clients make v7 ids, so a resent outbox entry
//! names the same record); a newtype per kind keeps a case id from being passed as a student id.

/// Declares a `#[serde(transparent)]` UUID newtype with the conversions every id needs.
macro_rules! new_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

new_id!(
    /// An org unit: district, township, village or school.
    OrgUnitId
);
new_id!(
    /// A user account.
    UserId
);
new_id!(
    /// A phone or browser that a user signs in from, named by the client.
    DeviceId
);
new_id!(
    /// A student.
    StudentId
);
new_id!(
    /// A case: one ledger row (台账) for one student's episode.
    CaseId
);
new_id!(
    /// One persuasion attempt on a case.
    AttemptId
);
new_id!(
    /// A typed evidence document on a case.
    DocumentId
);
new_id!(
    /// A supervisor's review of an attempt or a closure request.
    ReviewId
);
new_id!(
    /// One mutation made on a device; a resend carries the same id.
    MutationId
);
new_id!(
    /// A conflict record: a value that lost a concurrent edit.
    ConflictId
);
new_id!(
    /// A stored media object (photo, recording, scan) linked to an attempt or document.
    MediaId
);
new_id!(
    /// A phone's signing key, registered for one account on one device.
    SigningKeyId
);
new_id!(
    /// A participant's signature of an attempt.
    SignatureId
);
new_id!(
    /// A plausibility flag on an attempt or its file.
    FlagId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_bare_uuid_strings() {
        let id = CaseId::new();
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, format!("\"{}\"", id.0));
        let back: CaseId = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, id);
    }

    #[test]
    fn new_ids_are_time_ordered() {
        let a = AttemptId::new();
        let b = AttemptId::new();
        assert!(a < b, "v7 ids made later sort later");
    }
}
