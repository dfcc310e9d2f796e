//! Queries on accounts (`users`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect as _,
};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{device, org_unit, refresh_token, user};

/// The account called `username`.
pub async fn by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
}

/// The account each of `devices` was signed in as, with its display name, by device id
/// (devices the server never saw are left out).
pub async fn of_devices(
    db: &impl ConnectionTrait,
    devices: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, (Uuid, String)>, DbErr> {
    let devices: Vec<Uuid> = devices.into_iter().collect();
    if devices.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = device::Entity::find()
        .filter(device::Column::Id.is_in(devices))
        .all(db)
        .await?;
    let names = super::org::user_names(db, rows.iter().map(|d| d.user_id).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let name = names.get(&d.user_id).cloned().unwrap_or_default();
            (d.id, (d.user_id, name))
        })
        .collect())
}

/// The account `id`.
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// The accounts of the org units `units`, by username.
pub async fn in_units(
    db: &impl ConnectionTrait,
    units: Vec<Uuid>,
) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::OrgUnitId.is_in(units))
        .order_by_asc(user::Column::Username)
        .all(db)
        .await
}

/// The account `id`, if it belongs to an org unit inside `scope` (an administrator's district).
pub async fn in_scope(
    db: &impl ConnectionTrait,
    id: Uuid,
    scope: Scope,
) -> Result<Option<user::Model>, DbErr> {
    let Scope::District(district) = scope else {
        return Ok(None);
    };
    let Some(account) = by_id(db, id).await? else {
        return Ok(None);
    };
    let unit = org_unit::Entity::find_by_id(account.org_unit_id)
        .filter(org_unit::Column::DistrictId.eq(district))
        .one(db)
        .await?;
    Ok(unit.map(|_| account))
}

/// What a request needs of its caller, read on every request.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The account.
    pub id: Uuid,
    /// The stored role name.
    pub role: String,
    /// The org unit the account belongs to.
    pub org_unit_id: Uuid,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether the session the token belongs to is live (not logged out, not revoked).
    pub session_live: bool,
}

/// The identity of account `id` signed in with session `family`, in one query.
pub async fn identity(
    db: &impl ConnectionTrait,
    id: Uuid,
    family: Uuid,
) -> Result<Option<Identity>, DbErr> {
    let live = Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(refresh_token::Entity)
            .and_where(refresh_token::Column::FamilyId.eq(family))
            .and_where(refresh_token::Column::RevokedAt.is_null())
            .to_owned(),
    );
    let row = user::Entity::find_by_id(id)
        .select_only()
        .columns([
            user::Column::Id,
            user::Column::Role,
            user::Column::OrgUnitId,
            user::Column::Disabled,
        ])
        .column_as(live, "session_live")
        .into_tuple::<(Uuid, String, Uuid, bool, bool)>()
        .one(db)
        .await?;
    Ok(
        row.map(|(id, role, org_unit_id, disabled, session_live)| Identity {
            id,
            role,
            org_unit_id,
            disabled,
            session_live,
        }),
    )
}

/// Stores a new password hash for `id`.
pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    hash: String,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, hash.into())
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Marks `id` disabled or enabled.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    id: Uuid,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Disabled, disabled.into())
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Stores the new account `account`.
pub async fn insert(db: &impl ConnectionTrait, account: user::Model) -> Result<user::Model, DbErr> {
    user::Entity::insert(user::ActiveModel::from(account))
        .exec_with_returning(db)
        .await
}
