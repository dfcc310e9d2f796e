//! The audit log's storage: entries appended under a lock on the chain's head, each linked to
//! the one before by `SHA-256(prev ‖ time ‖ actor ‖ action ‖ entity ‖ address ‖ detail)`.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionSession as _, TransactionTrait,
};

use crate::db::chain::GENESIS;
use crate::db::entity::{audit_entry, audit_head};

/// The hash of an entry: SHA-256 over the hash before it and every field but its id, each on
/// its own line.
pub fn link_hash(prev: &str, e: &audit_entry::Model) -> String {
    let fields = [
        prev.to_owned(),
        e.at.timestamp_micros().to_string(),
        e.actor_id.map(|a| a.to_string()).unwrap_or_default(),
        e.action.clone(),
        e.entity_kind.clone(),
        e.entity_id.map(|a| a.to_string()).unwrap_or_default(),
        e.client_addr.clone().unwrap_or_default(),
        e.detail.clone(),
    ];
    crate::digest::sha256_hex(fields.join("\n").as_bytes())
}

/// Appends `entry` (its id and hashes are set here), linked to the entry before it. The head row
/// is locked to the end of the transaction (or of this call's own, when `db` is no transaction),
/// so entries link in the order they commit.
pub async fn append(
    db: &(impl ConnectionTrait + TransactionTrait),
    mut entry: audit_entry::Model,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    let prev = audit_head::Entity::find_by_id(1)
        .lock_exclusive()
        .one(&txn)
        .await?
        .map_or_else(|| GENESIS.to_owned(), |h| h.hash);
    let hash = link_hash(&prev, &entry);
    entry.prev_hash = Some(prev);
    entry.hash = Some(hash.clone());
    let mut row: audit_entry::ActiveModel = entry.into();
    row.id = sea_orm::ActiveValue::NotSet;
    let id = audit_entry::Entity::insert(row)
        .exec(&txn)
        .await?
        .last_insert_id;
    audit_head::Entity::insert(audit_head::ActiveModel {
        id: Set(1),
        last_id: Set(id),
        hash: Set(hash),
    })
    .on_conflict(
        OnConflict::column(audit_head::Column::Id)
            .update_columns([audit_head::Column::LastId, audit_head::Column::Hash])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    txn.commit().await
}

/// Up to `limit` entries after entry `after`, in order.
pub async fn page(
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<audit_entry::Model>, DbErr> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Id.gt(after))
        .order_by_asc(audit_entry::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The chain's recorded head: the last entry and its hash.
pub async fn head(db: &impl ConnectionTrait) -> Result<Option<audit_head::Model>, DbErr> {
    audit_head::Entity::find_by_id(1).one(db).await
}
