//! Students: a minor's personal data, opened from its sealed form only for a caller in scope, and
//! every read written to the audit log (R23).

pub mod reconcile;
pub mod roll;
pub mod routes;
pub mod transfer;

use sync_protocol::students::{Guardian, StudentDetail};
use uuid::Uuid;

use crate::db::entity::{guardian, student};
use crate::personal_data::Sealer;

pub use crate::personal_data::seal_context;

/// The wire view of a student, with the sealed fields opened.
pub fn detail(
    sealer: &Sealer,
    row: student::Model,
    guardians: Vec<guardian::Model>,
) -> anyhow::Result<StudentDetail> {
    let open = |sealed: &str, table: &str, field: &str, id: Uuid| {
        sealer
            .open(sealed, &seal_context(table, field, id))
            .map_err(|e| anyhow::anyhow!("opening {table}.{field} of {id}: {e}"))
    };
    Ok(StudentDetail {
        id: row.id.into(),
        gender: row.gender.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        birth_date: row.birth_date,
        id_number: open(&row.id_number_enc, "students", "id_number", row.id)?,
        registration_no: row.registration_no.clone(),
        school_id: row.school_id.into(),
        grade: row.grade,
        class_name: row.class_name.clone(),
        household_address: open(
            &row.household_address_enc,
            "students",
            "household_address",
            row.id,
        )?,
        village_id: row.village_id.into(),
        residence_address: open(
            &row.residence_address_enc,
            "students",
            "residence_address",
            row.id,
        )?,
        guardians: guardians
            .into_iter()
            .map(|g| {
                Ok(Guardian {
                    phone: open(&g.phone_enc, "guardians", "phone", g.id)?,
                    name: g.name,
                    relation: g.relation,
                })
            })
            .collect::<anyhow::Result<_>>()?,
        groups: crate::db::students::groups(&row),
        name: row.name,
    })
}
