//! The start-of-year comparison of the school roll with the household register (R6): every child
//! aged 6 to 16 on the register and on no school's roll is listed as unenrolled, routed to the
//! township of residence, which persuades the family to enrol the child. The list is the
//! township's worklist of suspected cases that have no school yet (a ledger row needs a school;
//! it opens once a school takes the child).

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::TransactionTrait as _;
use sync_protocol::Problem;
use sync_protocol::org::Role;
use sync_protocol::students::{ComparisonReport, RegisteredChild, RollComparison, UnenrolledChild};
use tracing::instrument;
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::calendar::age_on;
use crate::db::entity::{org_unit, unenrolled_child};
use crate::db::{self, Scope};
use crate::error::{ApiError, Json};
use crate::personal_data::Sealer;
use crate::state::AppState;

/// The ages of compulsory education the comparison looks at (R6).
pub const SCHOOL_AGES: std::ops::RangeInclusive<i32> = 6..=16;
/// Most children in one comparison request.
pub const MAX_CHILDREN: usize = 20_000;

fn view(sealer: &Sealer, row: unenrolled_child::Model) -> anyhow::Result<UnenrolledChild> {
    let name = match &row.name_enc {
        Some(sealed) => sealer
            .open(sealed, &db::unenrolled::name_context(row.id))
            .map_err(|e| anyhow::anyhow!("the name of unenrolled child {}: {e}", row.id))?,
        None => row.name,
    };
    Ok(UnenrolledChild {
        id: row.id,
        name,
        birth_date: row.birth_date,
        village_id: row.village_id,
        township_id: row.township_id,
        as_of: row.as_of,
    })
}

/// Compares the household register's children with every school roll of the caller's district
/// (R6). Supervisors only. Children aged 6–16 on no roll are listed as unenrolled, routed to the
/// township of residence; their ID numbers are sealed like a student's.
#[utoipa::path(post, path = "/api/v1/roll-comparisons", tag = "students",
    request_body = RollComparison,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ComparisonReport),
        (status = 400, description = "a child's village is not a village of the district, or too many children", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn compare_roll(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RollComparison>,
) -> Result<Json<ComparisonReport>, ApiError> {
    let Scope::District(district) = user.scope() else {
        return Err(ApiError::forbidden("the bureau compares the roll"));
    };
    if user.role != Role::Supervisor {
        return Err(ApiError::forbidden(
            "the bureau's supervisors compare the roll",
        ));
    }
    if body.children.len() > MAX_CHILDREN {
        return Err(ApiError::invalid_parameter(format!(
            "at most {MAX_CHILDREN} children per comparison, not {}",
            body.children.len()
        )));
    }
    let villages = db::org::villages_of(&state.db.read, district).await?;
    if let Some((n, child)) = (0..)
        .zip(&body.children)
        .find(|(_, c)| !villages.contains_key(&c.village_id.0))
    {
        return Err(ApiError::invalid_parameter(format!(
            "child {n} ({}) lives in `{}`, which is not a village of this district",
            child.name, child.village_id
        )));
    }
    let mut report = ComparisonReport {
        children: body.children.len() as u64,
        out_of_age: 0,
        on_roll: 0,
        already_listed: 0,
        unenrolled: Vec::new(),
    };
    let txn = state.db.write.begin().await?;
    let now = Utc::now();
    for child in &body.children {
        if !SCHOOL_AGES.contains(&age_on(child.birth_date, body.as_of)) {
            report.out_of_age += 1;
            continue;
        }
        let lookup = state.sealer.id_number_lookup(&child.id_number);
        // Only this district's roll and list are asked: another district's are not the
        // caller's to learn, nor to hide a child from.
        if db::students::on_roll(&txn, &lookup, district).await? {
            report.on_roll += 1;
            continue;
        }
        if db::unenrolled::listed(&txn, &lookup, district).await? {
            report.already_listed += 1;
            continue;
        }
        let village = &villages[&child.village_id.0];
        let found = (user.id, now);
        let row = unenrolled_row(&state.sealer, district, village, child, body.as_of, found)?;
        let row = db::unenrolled::insert(&txn, row).await?;
        report.unenrolled.push(view(&state.sealer, row)?);
    }
    audit::record(
        &txn,
        &user,
        None,
        audit::Action::CompareRoll,
        None,
        serde_json::json!({
            "as_of": body.as_of, "children": report.children, "on_roll": report.on_roll,
            "out_of_age": report.out_of_age, "unenrolled": report.unenrolled.len(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(report))
}

/// The row that lists `child`, living in `village` of `district`, as unenrolled on `as_of`,
/// `found` by whom and when; its name and ID number sealed.
fn unenrolled_row(
    sealer: &Sealer,
    district: Uuid,
    village: &org_unit::Model,
    child: &RegisteredChild,
    as_of: NaiveDate,
    (found_by, found_at): (Uuid, DateTime<Utc>),
) -> anyhow::Result<unenrolled_child::Model> {
    let id = Uuid::now_v7();
    let township_id = village
        .township_id
        .ok_or_else(|| anyhow::anyhow!("village {} has no township", village.id))?;
    Ok(unenrolled_child::Model {
        id,
        district_id: district,
        township_id,
        village_id: village.id,
        name: String::new(),
        name_enc: Some(sealer.seal(&child.name, &db::unenrolled::name_context(id))),
        birth_date: child.birth_date,
        id_number_enc: sealer.seal(
            child.id_number.trim(),
            &super::seal_context("unenrolled_children", "id_number", id),
        ),
        id_number_lookup: sealer.id_number_lookup(&child.id_number),
        as_of,
        found_at,
        found_by,
    })
}

/// The unenrolled children of the caller's township (township officers), village (village
/// committee members) or district (supervisors), oldest finding first (R6).
#[utoipa::path(get, path = "/api/v1/unenrolled-children", tag = "students",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<UnenrolledChild>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, err(level = "info"), fields(user.id))]
pub async fn list_unenrolled(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<UnenrolledChild>>, ApiError> {
    if let Scope::School(_) = user.scope() {
        return Err(ApiError::forbidden(
            "unenrolled children are the township's to persuade, not a school's",
        ));
    }
    let rows = db::unenrolled::in_scope(&state.db.read, user.scope()).await?;
    let views = rows.into_iter().map(|row| view(&state.sealer, row));
    Ok(Json(views.collect::<anyhow::Result<_>>()?))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn r06_ages_count_whole_years_on_the_day() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        let as_of = day(2026, 9, 1);
        assert_eq!(age_on(day(2020, 9, 1), as_of), 6, "six on the day");
        assert_eq!(age_on(day(2020, 9, 2), as_of), 5, "six the day after");
        assert_eq!(age_on(day(2009, 9, 2), as_of), 16);
        assert_eq!(age_on(day(2009, 9, 1), as_of), 17);
    }
}
