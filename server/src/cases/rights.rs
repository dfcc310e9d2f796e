//! Who writes what of a case's records, beyond the scope every write is checked against
//! (docs/case-workflow.md, "Who writes what"). Status moves and closure requests have their own
//! role tables in [`super::machine`].

use sync_protocol::cases::Participant;
use sync_protocol::org::Role;
use uuid::Uuid;

/// Whether `role` records attempts and documents: everyone who works cases, not an administrator
/// (accounts and calendars only).
pub fn records_evidence(role: Role) -> bool {
    role != Role::Admin
}

/// Whether `role` reports an absence (opens a case, R1): the class teacher at the morning roll
/// call, or the school's lead.
pub fn reports_absence(role: Role) -> bool {
    matches!(role, Role::Teacher | Role::SchoolLead)
}

/// Whether `role` changes the fields of a ledger row (reason, responsible person, status,
/// closure reason): the school, the township and the bureau. A village committee member records
/// attempts and documents only.
pub fn edits_cases(role: Role) -> bool {
    !matches!(role, Role::VillageMember | Role::Admin)
}

/// Whether `caller` may change an attempt written by `author` with `participants`: its author, or
/// a staff member listed on it (they were there). Everyone else records their own attempt; a
/// supervisor reviews instead of editing.
pub fn edits_attempt(caller: Uuid, author: Uuid, participants: &[Participant]) -> bool {
    caller == author
        || participants
            .iter()
            .any(|p| p.user_id.is_some_and(|id| id.0 == caller))
}

/// Whether `caller` may change a document recorded by `author`: only its author.
pub fn edits_document(caller: Uuid, author: Uuid) -> bool {
    caller == author
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_edited_by_its_author_and_the_staff_listed_on_it() {
        let (author, there, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let listed = [Participant {
            user_id: Some(there.into()),
            name: "校长".into(),
            unit: "学校".into(),
            department: None,
        }];
        assert!(edits_attempt(author, author, &listed));
        assert!(edits_attempt(there, author, &listed));
        assert!(!edits_attempt(other, author, &listed));
    }
}
