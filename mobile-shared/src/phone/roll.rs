//! The roll and reported absences: the pupils of the user's school, fetched while online, and
//! an absence reported for one of them, offline if need be (R1).

use chrono::NaiveDate;
use sync_protocol::cases::{CaseSummary, FoundBy};
use sync_protocol::students::RollEntry;
use sync_protocol::sync::{Change, NewCase};
use sync_protocol::{CaseId, StudentId};

use super::{Phone, PhoneError};
use crate::store::meta;
use crate::store::records;
use crate::store::roll;

impl Phone {
    /// Fetches the roll of the user's school (`GET /api/v1/roll`, for class teachers and school
    /// leads) and keeps it here in place of the last one. Returns how many pupils it holds.
    pub async fn fetch_roll(&mut self) -> Result<usize, PhoneError> {
        let client = self.client.as_mut().ok_or(PhoneError::NotSignedIn)?;
        let fetched = client.roll().await;
        // A refresh during the call rotated the tokens: keep the new pair whatever happened.
        let session = client.session();
        self.store.write(|tx| meta::save_session(tx, session))?;
        let pupils = fetched?;
        self.store.write(|tx| roll::replace(tx, &pupils))?;
        Ok(pupils.len())
    }

    /// The roll held here, by grade, class and name.
    pub fn roll(&self) -> Result<Vec<RollEntry>, PhoneError> {
        Ok(self.store.read(roll::all)?)
    }

    /// Reports an unexcused absence of a pupil on the roll held here: opens their case in
    /// `absent`, with the signed-in user responsible, at once and offline; the next sync sends
    /// it. `first_absent_on` defaults to today (China's date, on the phone's clock). A pupil
    /// whose case held here has not ended is refused ([`PhoneError::CaseOpen`]): record on that
    /// case. If another device reported the same absence first, the server joins this case to
    /// that one: what is recorded here lands there, and the next pull shows that case instead.
    pub fn report_absence(
        &self,
        student_id: StudentId,
        found_by: FoundBy,
        first_absent_on: Option<NaiveDate>,
    ) -> Result<CaseId, PhoneError> {
        let held: Vec<CaseSummary> = self.store.read(records::cases)?;
        if let Some(open) = held
            .iter()
            .find(|c| c.student_id == student_id && !c.status.is_ended())
        {
            return Err(PhoneError::CaseOpen(open.id));
        }
        let today = sync_protocol::calendar::china_date(self.clock.now());
        let case = NewCase {
            id: CaseId::new(),
            student_id,
            found_by,
            first_absent_on: first_absent_on.unwrap_or(today),
        };
        let id = case.id;
        self.queue(Change::OpenCase { case }, |_| Ok(0))?;
        Ok(id)
    }
}
