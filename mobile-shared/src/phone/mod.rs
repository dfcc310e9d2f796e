//! [`Phone`]: the typed API an app (or `fieldctl`, or a test) drives. Recording and reading work
//! offline against the local store; `sync` talks to the server.
//!
//! Local calls are short blocking SQLite calls and are plain methods; calls that reach the server
//! are `async` and their futures are `Send`. There is no global state: two `Phone`s over two
//! directories are two independent phones.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::Connection;
use sync_protocol::auth::{Me, TokenPair};
use sync_protocol::cases::{Attempt, CaseSummary, DueItem, Participant};
use sync_protocol::detail::{CaseDetail, MediaLink};
use sync_protocol::evidence::{Document, Review};
use sync_protocol::org::Role;
use sync_protocol::sync::{
    AttemptField, CaseField, Change, Conflict, DocumentField, Mutation, NewAttempt, NewDocument,
};
use sync_protocol::{AttemptId, CaseId, DeviceId, DocumentId, MutationId};

mod error;
mod evidence;
mod roll;
mod signing;

pub use error::PhoneError;

use crate::api::Client;
use crate::clock::Clock;
use crate::drafts::{AttemptDraft, DocumentDraft};
use crate::media;
use crate::outbox::{self, Pending, Rejected};
use crate::store::meta::{self, Key};
use crate::store::records;
use crate::store::{Store, StoreError};
use crate::sync::{
    Engine, RetryPolicy, SyncError, SyncEvent, SyncOptions, SyncProgress, SyncReport,
};

/// One phone: its store, its device id and, when signed in, its session.
pub struct Phone {
    store: Store,
    device_id: DeviceId,
    client: Option<Client>,
    clock: Clock,
    options: SyncOptions,
    dir: PathBuf,
    photo_long_side: Option<u32>,
}

impl std::fmt::Debug for Phone {
    /// Shows the device and whether a session is held, never the tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("device_id", &self.device_id)
            .field("signed_in", &self.client.is_some())
            .field("clock", &self.clock)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One thing due on a case held here (see [`Phone::next_steps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStep {
    /// The case.
    pub case_id: CaseId,
    /// The student's name.
    pub student_name: String,
    /// What is due, by whom, by when, with its hint in Chinese.
    pub item: DueItem,
    /// Whether its day has passed.
    pub overdue: bool,
}

/// What a phone still has to send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Left {
    /// Mutations in the outbox.
    pub mutations: usize,
    /// Files in the media queue (partly sent ones included).
    pub files: usize,
    /// Bytes of those files the server does not have yet.
    pub bytes: u64,
}

impl Left {
    /// Whether nothing is left to send.
    pub fn is_empty(&self) -> bool {
        self.mutations == 0 && self.files == 0
    }

    /// Whether this is less than `before`: something went up in between.
    fn is_less_than(&self, before: &Left) -> bool {
        self.mutations < before.mutations || self.files < before.files || self.bytes < before.bytes
    }
}

impl Phone {
    /// Opens the phone whose data lives in `dir` (`<dir>/phone.sqlite`), creating the store and
    /// a device id on first open. A saved session is resumed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, PhoneError> {
        let store = Store::open(dir.as_ref())?;
        let (device_id, server, session) = store.write(|tx| {
            Ok::<_, StoreError>((
                meta::device_id(tx)?,
                meta::get::<String>(tx, Key::ServerUrl)?,
                meta::get::<TokenPair>(tx, Key::Session)?,
            ))
        })?;
        let client = server
            .zip(session)
            .map(|(server, session)| Client::with_session(server, device_id, session));
        Ok(Self {
            store,
            device_id,
            client,
            clock: Clock::default(),
            options: SyncOptions::default(),
            dir: dir.as_ref().to_owned(),
            photo_long_side: None,
        })
    }

    /// This phone's device id (made on first open, kept for good).
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The server this phone signs in to, once it has.
    pub fn server_url(&self) -> Result<Option<String>, PhoneError> {
        Ok(self.store.read(|c| meta::get(c, Key::ServerUrl))?)
    }

    /// The account whose data the phone holds (kept after sign-out), if any.
    pub fn account(&self) -> Result<Option<Me>, PhoneError> {
        Ok(self.store.read(|c| meta::get(c, Key::Account))?)
    }

    /// Whether a session is held (it may still have expired on the server).
    pub fn is_signed_in(&self) -> bool {
        self.client.is_some()
    }

    /// Sets how far this phone's clock is off the real time. Every clock stamp and local time
    /// reads the system time plus this offset.
    pub fn set_clock_offset(&mut self, offset: chrono::Duration) {
        self.clock = Clock { offset };
    }

    /// How syncs run from now on.
    pub fn set_sync_options(&mut self, options: SyncOptions) {
        self.options = options;
    }

    /// How syncs retry transient failures from now on.
    pub fn set_retry_policy(&mut self, retry: RetryPolicy) {
        self.options.retry = retry;
    }

    /// Signs in. Signing in as the account (and server) whose data the phone holds keeps it; a
    /// different one starts from an empty store, which is refused while the other account's
    /// changes wait in the outbox or its files in the media queue.
    pub async fn login(
        &mut self,
        server_url: &str,
        username: &str,
        password: &str,
    ) -> Result<Me, PhoneError> {
        let server_url = server_url.trim_end_matches('/');
        let mut client = Client::new(server_url, self.device_id);
        let me = client.login(username, password).await?.user.clone();
        let session = client.session();
        let outcome = self.store.write(|tx| {
            let owner: Option<Me> = meta::get(tx, Key::Account)?;
            let owner_server: Option<String> = meta::get(tx, Key::ServerUrl)?;
            let same = owner.as_ref().is_some_and(|o| o.id == me.id)
                && owner_server.as_deref() == Some(server_url);
            if !same {
                let pending = outbox::count(tx)? + media::queue::totals(tx)?.files;
                if let Some(owner) = owner.filter(|_| pending > 0) {
                    return Ok(Err(PhoneError::OtherAccountPending {
                        owner: owner.username,
                        pending,
                    }));
                }
                records::clear(tx)?;
                media::queue::clear(tx)?;
            }
            meta::set(tx, Key::ServerUrl, server_url)?;
            meta::set(tx, Key::Account, &me)?;
            meta::save_session(tx, session)?;
            Ok::<_, StoreError>(Ok(!same))
        })?;
        let switched = match outcome {
            Ok(switched) => switched,
            Err(refusal) => {
                // The new session is of no use: end it rather than leave it open on the server.
                let _ended = client.logout().await;
                return Err(refusal);
            }
        };
        if switched {
            // The last account's prepared files (none waits to be sent) go with its data.
            let _gone = std::fs::remove_dir_all(self.media_dir());
        }
        self.client = Some(client);
        Ok(me)
    }

    /// Ends the session on the server and forgets it here. The local data stays (a sign-in as the
    /// same account picks it up again). The session is forgotten even if the server could not
    /// be told; that failure is still returned.
    pub async fn logout(&mut self) -> Result<(), PhoneError> {
        let mut client = self.client.take().ok_or(PhoneError::NotSignedIn)?;
        let result = client.logout().await;
        self.store.write(|tx| meta::save_session(tx, None))?;
        Ok(result?)
    }

    /// Builds a mutation of `change` on a record at `base_version` (read inside the
    /// transaction), applies it locally and queues it, all at once.
    fn queue(
        &self,
        change: Change,
        base_version: impl FnOnce(&Connection) -> Result<i64, PhoneError>,
    ) -> Result<MutationId, PhoneError> {
        let now = self.clock.now();
        self.store.write(|tx| {
            let mutation = Mutation {
                id: MutationId::new(),
                base_version: base_version(tx)?,
                hlc: meta::tick(tx, now.timestamp_millis())?,
                change,
            };
            outbox::enqueue(tx, &mutation, now)?;
            Ok(mutation.id)
        })
    }

    /// Records a persuasion attempt on a case held here. It shows at once and is pushed on the
    /// next sync.
    pub fn record_attempt(&self, draft: AttemptDraft) -> Result<AttemptId, PhoneError> {
        let id = AttemptId::new();
        let attempt = NewAttempt {
            id,
            case_id: draft.case_id,
            kind: draft.kind,
            occurred_at: draft.occurred_at.unwrap_or_else(|| self.clock.now()),
            location: draft.location,
            participants: draft.participants,
            met_whom: draft.met_whom,
            guardian_statement: draft.guardian_statement,
            outcome: draft.outcome,
            next_step: draft.next_step,
            notes: draft.notes,
        };
        let case_id = draft.case_id;
        self.queue(Change::CreateAttempt { attempt }, |tx| {
            records::view::<CaseSummary>(tx, case_id.0)?.ok_or(PhoneError::UnknownCase(case_id))?;
            Ok(0)
        })?;
        Ok(id)
    }

    /// Changes an attempt held here, on the version held here: `fields`, and participants added
    /// (never removed; one listed already is kept once). Its author and the staff listed on it
    /// may; the server refuses anyone else.
    pub fn edit_attempt(
        &self,
        attempt_id: AttemptId,
        fields: Vec<AttemptField>,
        add_participants: Vec<Participant>,
    ) -> Result<MutationId, PhoneError> {
        let change = Change::UpdateAttempt {
            attempt_id,
            fields,
            add_participants,
        };
        self.queue(change, |tx| {
            let attempt = records::view::<Attempt>(tx, attempt_id.0)?
                .ok_or(PhoneError::UnknownAttempt(attempt_id))?;
            Ok(attempt.version)
        })
    }

    /// Changes fields of a case held here, on the version held here. An illegal status move is
    /// refused at once ([`PhoneError::Refused`]), with the case machine's words.
    pub fn edit_case(
        &self,
        case_id: CaseId,
        fields: Vec<CaseField>,
    ) -> Result<MutationId, PhoneError> {
        self.queue(Change::UpdateCase { case_id, fields }, |tx| {
            let case = records::view::<CaseSummary>(tx, case_id.0)?
                .ok_or(PhoneError::UnknownCase(case_id))?;
            Ok(case.version)
        })
    }

    /// Records an evidence document's metadata on a case held here.
    pub fn record_document(&self, draft: DocumentDraft) -> Result<DocumentId, PhoneError> {
        let id = DocumentId::new();
        let case_id = draft.case_id;
        let document = NewDocument {
            id,
            case_id,
            doc_type: draft.doc_type,
            title: draft.title,
            issued_by: draft.issued_by,
            issued_on: draft.issued_on,
            notes: draft.notes,
        };
        self.queue(Change::CreateDocument { document }, |tx| {
            records::view::<CaseSummary>(tx, case_id.0)?.ok_or(PhoneError::UnknownCase(case_id))?;
            Ok(0)
        })?;
        Ok(id)
    }

    /// Changes a document's metadata.
    pub fn edit_document(
        &self,
        document_id: DocumentId,
        fields: Vec<DocumentField>,
    ) -> Result<MutationId, PhoneError> {
        self.queue(
            Change::UpdateDocument {
                document_id,
                fields,
            },
            |tx| {
                let document = records::view::<Document>(tx, document_id.0)?
                    .ok_or(PhoneError::UnknownDocument(document_id))?;
                Ok(document.version)
            },
        )
    }

    /// Every case held here, with local edits applied.
    pub fn cases(&self) -> Result<Vec<CaseSummary>, PhoneError> {
        Ok(self.store.read(records::cases)?)
    }

    /// What the rules ask of `role` next on the cases held here, as the server computed it at the
    /// last pull: each item with its case, whether it is overdue on `today` (the phone's date),
    /// earliest deadline first, items without a deadline last. The list a worker sees offline.
    pub fn next_steps(&self, role: Role, today: NaiveDate) -> Result<Vec<NextStep>, PhoneError> {
        let mut steps: Vec<NextStep> = self
            .cases()?
            .into_iter()
            .flat_map(|case| {
                let due: Vec<DueItem> =
                    case.due.iter().filter(|d| d.who == role).cloned().collect();
                due.into_iter().map(move |item| NextStep {
                    overdue: item.due_on.is_some_and(|day| day < today),
                    case_id: case.id,
                    student_name: case.student_name.clone(),
                    item,
                })
            })
            .collect();
        steps.sort_by_key(|s| (s.item.due_on.is_none(), s.item.due_on));
        Ok(steps)
    }

    /// One case held here with its attempts (local ones included), evidence files, documents,
    /// reviews, conflicts and signatures (local ones included), oldest first, and how each
    /// attempt's participants stand (R21) over the files held here, those still in the media
    /// queue included; not its moves, which are not synced.
    pub fn case(&self, id: CaseId) -> Result<Option<CaseDetail>, PhoneError> {
        Ok(self.store.read(|conn| {
            let Some(case) = records::view::<CaseSummary>(conn, id.0)? else {
                return Ok::<_, StoreError>(None);
            };
            let mut conflicts = records::conflicts(conn)?;
            conflicts.retain(|c| c.case_id == id);
            conflicts.reverse();
            let detail = CaseDetail {
                case: case.value,
                attempts: records::attempts(conn, id)?,
                media: records::media(conn, id)?
                    .into_iter()
                    .map(MediaLink::of)
                    .collect(),
                documents: records::documents(conn, id)?,
                reviews: records::reviews(conn, id)?,
                moves: Vec::new(),
                conflicts,
                signatures: records::signatures(conn, id)?,
                confirmations: Vec::new(),
                flags: Vec::new(),
            };
            Ok(Some(signing::confirmed(detail, &media::queue::all(conn)?)))
        })?)
    }

    /// A case's documents held here, oldest first.
    pub fn documents(&self, case_id: CaseId) -> Result<Vec<Document>, PhoneError> {
        Ok(self.store.read(|conn| records::documents(conn, case_id))?)
    }

    /// A case's reviews held here, oldest first.
    pub fn reviews(&self, case_id: CaseId) -> Result<Vec<Review>, PhoneError> {
        Ok(self.store.read(|conn| records::reviews(conn, case_id))?)
    }

    /// The evidence files (photos, recordings, scans) of a case held here; the bytes are fetched
    /// from the server by id.
    pub fn media(
        &self,
        case_id: CaseId,
    ) -> Result<Vec<sync_protocol::media::MediaRef>, PhoneError> {
        Ok(self.store.read(|conn| records::media(conn, case_id))?)
    }

    /// The mutations waiting to be pushed, in order.
    pub fn pending(&self) -> Result<Vec<Pending>, PhoneError> {
        Ok(self.store.read(|conn| outbox::pending(conn, None))?)
    }

    /// How many mutations wait to be pushed.
    pub fn pending_count(&self) -> Result<usize, PhoneError> {
        Ok(self.store.read(outbox::count)?)
    }

    /// The conflict records pulled: values that lost a concurrent edit, newest first.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, PhoneError> {
        Ok(self.store.read(records::conflicts)?)
    }

    /// The mutations the server refused, oldest first.
    pub fn rejections(&self) -> Result<Vec<Rejected>, PhoneError> {
        Ok(self.store.read(outbox::rejections)?)
    }

    /// Pushes every pending mutation, pulls every change, then sends the media queue (and pulls
    /// the references of what it sent). Safe to interrupt and run again.
    pub async fn sync(
        &mut self,
        progress: &mut dyn SyncProgress,
    ) -> Result<SyncReport, PhoneError> {
        self.run(true, progress).await
    }

    /// What is still to send: mutations, and files with the bytes the server does not have.
    /// It is kept in the phone's store, so a sync that stopped loses none of it.
    pub fn left(&self) -> Result<Left, PhoneError> {
        Ok(self.store.read(|conn| {
            let totals = media::queue::totals(conn)?;
            Ok::<_, StoreError>(Left {
                mutations: outbox::count(conn)?,
                files: totals.files,
                bytes: totals.left(),
            })
        })?)
    }

    /// Syncs until everything is sent, or until the future is dropped (the app stops it): a
    /// sync stopped by the link or the server is run again after a wait ([`SyncEvent::Waiting`]),
    /// which starts short and doubles up to the retry policy's longest while nothing goes up,
    /// and never gives up. A failure retrying cannot mend (the session ended, the app is too old)
    /// ends it.
    pub async fn sync_until_done(
        &mut self,
        progress: &mut dyn SyncProgress,
    ) -> Result<SyncReport, PhoneError> {
        let mut total = SyncReport::default();
        let mut idle = 0;
        loop {
            let before = self.left()?;
            match self.run(true, progress).await {
                Ok(report) => total.absorb(&report),
                Err(PhoneError::Sync(e)) if e.is_passing() => {}
                Err(e) => return Err(e),
            }
            let left = self.left()?;
            if left.is_empty() {
                return Ok(total);
            }
            idle = if left.is_less_than(&before) {
                1
            } else {
                idle + 1
            };
            let retry = self.options.retry;
            let delay = retry
                .delay_after(idle.min(retry.max_attempts.saturating_sub(1)).max(1))
                .unwrap_or(retry.max_delay);
            progress.event(SyncEvent::Waiting { delay, left });
            tokio::time::sleep(delay).await;
        }
    }

    /// Pulls every change without pushing (pending local edits stay in view).
    pub async fn pull(
        &mut self,
        progress: &mut dyn SyncProgress,
    ) -> Result<SyncReport, PhoneError> {
        self.run(false, progress).await
    }

    async fn run(
        &mut self,
        push: bool,
        progress: &mut dyn SyncProgress,
    ) -> Result<SyncReport, PhoneError> {
        let media_dir = self.media_dir();
        let photo_long_side = self.photo_long_side;
        let client = self.client.as_mut().ok_or(PhoneError::NotSignedIn)?;
        client.set_silence_limit(self.options.silence);
        let mut engine = Engine {
            client,
            store: &self.store,
            options: &self.options,
            clock: self.clock,
            progress,
        };
        let mut report = SyncReport::default();
        let result = async {
            if push {
                engine.push_all(&mut report).await?;
            }
            engine.pull_all(&mut report).await?;
            if push {
                engine
                    .upload_all(&mut report, &media_dir, photo_long_side)
                    .await?;
                if report.uploaded > 0 {
                    // The server linked them: bring their references back now.
                    engine.pull_all(&mut report).await?;
                }
            }
            Ok::<_, SyncError>(())
        }
        .await;
        // A refresh during a failed call rotated the tokens: keep the new pair whatever happened.
        let session = engine.client.session();
        self.store.write(|tx| meta::save_session(tx, session))?;
        result?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
