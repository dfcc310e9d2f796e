//! What an administrator changes in their district besides disabling accounts
//! (`auth::routes`) and loading holiday schedules (`calendar::routes`): adding accounts, giving an
//! account a new password, adding org units. Each checks that the records named are in the
//! administrator's district, applies the rule of `records.rs`, and is audited in the same
//! transaction. A rule refused is a [`Refusal`] inside the error, for the caller to put in its
//! users' words. The console's administration pages call these.

use std::net::IpAddr;

use sea_orm::TransactionTrait;
use sync_protocol::org::{OrgUnitKind, Role};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::db;
use crate::db::entity::{org_unit, user};
use crate::records::{self, Refusal};
use crate::state::AppState;

/// An account an administrator asks for.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The sign-in name.
    pub username: String,
    /// The name people read.
    pub display_name: String,
    /// The role.
    pub role: Role,
    /// The org unit it belongs to (of the kind its role belongs to).
    pub org_unit_id: Uuid,
    /// The first password.
    pub password: String,
}

/// An org unit an administrator asks for.
#[derive(Debug, Clone)]
pub struct NewUnit {
    /// Township, village or school.
    pub kind: OrgUnitKind,
    /// Its name.
    pub name: String,
    /// Its code, unique.
    pub code: String,
    /// The unit it goes under (the district, or a township).
    pub parent_id: Uuid,
}

/// The org unit `id` if it is in `admin`'s district.
async fn unit_of_district(
    db: &impl sea_orm::ConnectionTrait,
    admin: &AuthUser,
    id: Uuid,
) -> anyhow::Result<org_unit::Model> {
    db::org::units(db, vec![id])
        .await?
        .remove(&id)
        .filter(|u| u.district_id == admin.org_unit_id)
        .ok_or_else(|| Refusal::NotInDistrict.into())
}

/// Adds the account `new` in `admin`'s district, audited as `account.add`.
pub async fn add_account(
    state: &AppState,
    admin: &AuthUser,
    peer: IpAddr,
    new: NewAccount,
) -> anyhow::Result<user::Model> {
    let txn = state.db.write.begin().await?;
    let unit = unit_of_district(&txn, admin, new.org_unit_id).await?;
    let account = records::user(
        &txn,
        &new.username,
        &new.display_name,
        new.role,
        &unit,
        &new.password,
    )
    .await?;
    let detail = serde_json::json!({
        "username": account.username, "role": account.role, "org_unit_id": unit.id,
    });
    let action = audit::Action::AddAccount;
    audit::record(&txn, admin, Some(peer), action, Some(account.id), detail).await?;
    txn.commit().await?;
    Ok(account)
}

/// Gives the account `id` of `admin`'s district the password `password`, ending its sessions;
/// audited as `account.reset_password`.
pub async fn reset_password(
    state: &AppState,
    admin: &AuthUser,
    peer: IpAddr,
    id: Uuid,
    password: &str,
) -> anyhow::Result<()> {
    let txn = state.db.write.begin().await?;
    db::users::in_scope(&txn, id, admin.scope())
        .await?
        .ok_or(Refusal::NotInDistrict)?;
    crate::auth::accounts::set_password(&txn, id, password).await?;
    let action = audit::Action::ResetPassword;
    audit::record(
        &txn,
        admin,
        Some(peer),
        action,
        Some(id),
        serde_json::json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Adds the org unit `new` under a unit of `admin`'s district, audited as `org_unit.add`.
pub async fn add_unit(
    state: &AppState,
    admin: &AuthUser,
    peer: IpAddr,
    new: NewUnit,
) -> anyhow::Result<org_unit::Model> {
    let txn = state.db.write.begin().await?;
    let parent = unit_of_district(&txn, admin, new.parent_id).await?;
    let unit = records::org_unit(&txn, new.kind, &new.name, &new.code, Some(&parent)).await?;
    let detail = serde_json::json!({
        "kind": unit.kind, "name": unit.name, "code": unit.code, "parent_id": parent.id,
    });
    let action = audit::Action::AddOrgUnit;
    audit::record(&txn, admin, Some(peer), action, Some(unit.id), detail).await?;
    txn.commit().await?;
    Ok(unit)
}
