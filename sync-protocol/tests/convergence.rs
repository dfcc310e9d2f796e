//! Property: any interleaving of the devices' mutation streams, with any duplication, converges
//! to the same state under the merge rules (the rules the server and the phone both apply).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus, Participant, ReasonCategory};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::merge::{
    AttemptFields, CaseFields, Mergeable, apply_case_update, merge_scalars, unite_participants,
};
use sync_protocol::sync::{AttemptField, CaseField, Change, FieldStamps, Mutation, NewAttempt};
use sync_protocol::{AttemptId, CaseId, DeviceId, MutationId, UserId};

/// A minimal replica: one case and its attempts, with idempotent application.
#[derive(Default)]
struct Replica {
    seen: HashSet<MutationId>,
    case: Option<(CaseFields, FieldStamps, i64)>,
    attempts: BTreeMap<AttemptId, (AttemptFields, FieldStamps, i64)>,
    /// (record, field, losing value): what the conflict records hold.
    lost: BTreeSet<(String, String, String)>,
    /// Every value written, by record.
    written: Vec<Written>,
}

/// A value a mutation wrote, with the mutation's stamp.
enum Written {
    Case(CaseField, HlcStamp),
    Attempt(AttemptId, AttemptField, HlcStamp),
}

impl Replica {
    fn new() -> Self {
        let case = CaseFields {
            status: CaseStatus::Suspected,
            reason: None,
            responsible_user_id: None,
            relapse_count: 0,
            closure_reason: None,
        };
        Self {
            case: Some((case, FieldStamps::new(), 1)),
            ..Self::default()
        }
    }

    fn apply(&mut self, m: &Mutation) {
        if !self.seen.insert(m.id) {
            return;
        }
        match &m.change {
            Change::UpdateCase { fields, .. } => {
                let (case, stamps, version) = self.case.as_mut().expect("case");
                if let Ok(losses) =
                    apply_case_update(case, stamps, m.base_version, m.hlc, fields, *version + 1)
                {
                    *version += 1;
                    self.lost.extend(
                        losses.into_iter().map(|l| {
                            ("case".into(), l.field.to_owned(), format!("{:?}", l.losing))
                        }),
                    );
                    self.written
                        .extend(fields.iter().cloned().map(|f| Written::Case(f, m.hlc)));
                }
            }
            Change::CreateAttempt { attempt } => {
                let fields = vec![
                    AttemptField::MetWhom(attempt.met_whom.clone()),
                    AttemptField::Outcome(attempt.outcome),
                    AttemptField::Notes(attempt.notes.clone()),
                ];
                let entry = self.attempts.entry(attempt.id).or_insert_with(|| {
                    let fields = AttemptFields {
                        met_whom: String::new(),
                        guardian_statement: String::new(),
                        outcome: AttemptOutcome::Undecided,
                        next_step: String::new(),
                        notes: String::new(),
                        location: None,
                        participants: attempt.participants.clone(),
                        initial_participants: attempt.participants.len(),
                    };
                    (fields, FieldStamps::new(), 0)
                });
                entry.2 += 1;
                let losses = merge_scalars(&mut entry.0, &mut entry.1, 0, m.hlc, &fields, entry.2);
                unite_participants(&mut entry.0, &attempt.participants);
                self.lost.extend(losses.into_iter().map(|l| {
                    (
                        attempt.id.to_string(),
                        l.field.to_owned(),
                        format!("{:?}", l.losing),
                    )
                }));
                self.written.extend(
                    fields
                        .into_iter()
                        .map(|f| Written::Attempt(attempt.id, f, m.hlc)),
                );
            }
            Change::UpdateAttempt {
                attempt_id,
                fields,
                add_participants,
            } => {
                if let Some(entry) = self.attempts.get_mut(attempt_id) {
                    entry.2 += 1;
                    let losses = merge_scalars(
                        &mut entry.0,
                        &mut entry.1,
                        m.base_version,
                        m.hlc,
                        fields,
                        entry.2,
                    );
                    unite_participants(&mut entry.0, add_participants);
                    self.lost.extend(losses.into_iter().map(|l| {
                        (
                            attempt_id.to_string(),
                            l.field.to_owned(),
                            format!("{:?}", l.losing),
                        )
                    }));
                    self.written.extend(
                        fields
                            .iter()
                            .cloned()
                            .map(|f| Written::Attempt(*attempt_id, f, m.hlc)),
                    );
                }
            }
            _ => unreachable!("not generated"),
        }
    }

    /// The state that must converge: values and participants (versions are local counters).
    fn state(&self) -> String {
        let (case, ..) = self.case.as_ref().expect("case");
        let attempts: Vec<_> = self.attempts.iter().map(|(id, (f, ..))| (id, f)).collect();
        format!("{case:?}\n{attempts:?}")
    }

    /// Where, what and when a written value went: (record, field, value, current value, stamp).
    fn describe(
        &self,
        written: &Written,
    ) -> (String, &'static str, String, Option<String>, HlcStamp) {
        let (case, ..) = self.case.as_ref().expect("case");
        match written {
            Written::Case(f, hlc) => (
                "case".to_owned(),
                CaseFields::name(f),
                format!("{f:?}"),
                case.current(f).map(|c| format!("{c:?}")),
                *hlc,
            ),
            Written::Attempt(id, f, hlc) => {
                let current = self
                    .attempts
                    .get(id)
                    .and_then(|(a, ..)| a.current(f))
                    .map(|c| format!("{c:?}"));
                (
                    id.to_string(),
                    AttemptFields::name(f),
                    format!("{f:?}"),
                    current,
                    *hlc,
                )
            }
        }
    }

    /// Every value ever written is the current value of its field, kept in a conflict record, or
    /// replaced by a later edit of the same device (a user changing their own mind).
    fn nothing_lost(&self) -> Result<(), String> {
        let all: Vec<_> = self.written.iter().map(|w| self.describe(w)).collect();
        for (record, name, value, current, hlc) in &all {
            let superseded_by_self = all.iter().any(|(r, n, _, _, h)| {
                r == record && n == name && h.device == hlc.device && h > hlc
            });
            if current.as_ref() != Some(value)
                && !superseded_by_self
                && !self
                    .lost
                    .contains(&(record.clone(), (*name).to_owned(), value.clone()))
            {
                return Err(format!(
                    "{record}.{name} = {value} was overwritten and not kept"
                ));
            }
        }
        Ok(())
    }
}

/// What one device does offline: edits the case, records attempts, edits attempts it knows.
/// Its clock only moves forward, as a device's hybrid logical clock does.
fn device_stream(
    device: DeviceId,
    case_id: CaseId,
    seeds: Vec<(u8, u8, i64)>,
    shared: Vec<AttemptId>,
) -> Vec<Mutation> {
    let mut out = Vec::new();
    let mut mine = Vec::new();
    let mut clock = 0i64;
    for (n, (op, value, millis)) in seeds.into_iter().enumerate() {
        clock = clock.max(millis);
        let millis = clock;
        let hlc = HlcStamp {
            millis,
            counter: u32::try_from(n).unwrap_or(0),
            device,
        };
        let change = match op % 4 {
            0 => Change::UpdateCase {
                case_id,
                fields: vec![CaseField::Reason(
                    ReasonCategory::ALL[usize::from(value) % ReasonCategory::ALL.len()],
                )],
            },
            1 => Change::UpdateCase {
                case_id,
                fields: vec![CaseField::ResponsibleUserId(UserId(uuid::Uuid::from_u128(
                    u128::from(value % 3),
                )))],
            },
            2 => {
                let id = AttemptId::new();
                mine.push(id);
                Change::CreateAttempt {
                    attempt: NewAttempt {
                        id,
                        case_id,
                        kind: AttemptKind::HomeVisit,
                        occurred_at: Utc
                            .timestamp_opt(millis / 1000, 0)
                            .single()
                            .unwrap_or_default(),
                        location: None,
                        participants: vec![Participant {
                            user_id: None,
                            name: format!("p{}", value % 3),
                            unit: "学校".into(),
                            department: None,
                        }],
                        met_whom: "监护人".into(),
                        guardian_statement: String::new(),
                        outcome: AttemptOutcome::Undecided,
                        next_step: String::new(),
                        notes: format!("n{value}"),
                    },
                }
            }
            _ => {
                // Edit an attempt everyone knows (created before the streams began), or one of mine.
                let pool: Vec<AttemptId> = shared.iter().chain(&mine).copied().collect();
                let attempt_id = pool[usize::from(value) % pool.len()];
                Change::UpdateAttempt {
                    attempt_id,
                    fields: vec![
                        AttemptField::Notes(format!("e{}", value % 4)),
                        AttemptField::Outcome(AttemptOutcome::ALL[usize::from(value) % 4]),
                    ],
                    add_participants: vec![Participant {
                        user_id: None,
                        name: format!("q{}", value % 3),
                        unit: "村委会".into(),
                        department: None,
                    }],
                }
            }
        };
        out.push(Mutation {
            id: MutationId::new(),
            base_version: 0,
            hlc,
            change,
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_with_duplicates_converges(
        streams in proptest::collection::vec(proptest::collection::vec((any::<u8>(), any::<u8>(), 1_000i64..1_050), 1..8), 2..5),
        schedule in proptest::collection::vec(any::<u16>(), 0..120),
        duplicates in proptest::collection::vec(any::<u16>(), 0..30),
    ) {
        let case_id = CaseId::new();
        // Attempts created before the devices went offline, known to all of them.
        let setup_device = DeviceId::new();
        let setup = device_stream(setup_device, case_id, vec![(2, 0, 900), (2, 1, 901)], Vec::new());
        let shared: Vec<AttemptId> = setup.iter().filter_map(|m| match &m.change {
            Change::CreateAttempt { attempt } => Some(attempt.id),
            _ => None,
        }).collect();
        let streams: Vec<Vec<Mutation>> = streams
            .into_iter()
            .map(|seeds| device_stream(DeviceId::new(), case_id, seeds, shared.clone()))
            .collect();

        // Reference order: each stream in turn.
        let mut reference = Replica::new();
        for m in setup.iter().chain(streams.iter().flatten()) {
            reference.apply(m);
        }

        // Another order: interleave the streams by the schedule (keeping each device's own order),
        // and resend some mutations again later.
        let mut other = Replica::new();
        for m in &setup {
            other.apply(m);
        }
        let mut next = vec![0usize; streams.len()];
        let mut sent: Vec<&Mutation> = Vec::new();
        let mut picks = schedule.iter().chain(std::iter::repeat(&0));
        while next.iter().zip(&streams).any(|(n, s)| *n < s.len()) {
            let open: Vec<usize> = (0..streams.len()).filter(|i| next[*i] < streams[*i].len()).collect();
            let pick = open[usize::from(*picks.next().unwrap_or(&0)) % open.len()];
            let m = &streams[pick][next[pick]];
            next[pick] += 1;
            other.apply(m);
            sent.push(m);
            for d in &duplicates {
                if usize::from(*d) % (sent.len() + 7) == 0 {
                    other.apply(sent[usize::from(*d) % sent.len()]);
                }
            }
        }
        for m in sent.iter().rev() {
            other.apply(m);
        }
        prop_assert_eq!(reference.state(), other.state());
        prop_assert_eq!(reference.nothing_lost(), Ok(()));
        prop_assert_eq!(other.nothing_lost(), Ok(()));
    }
}
