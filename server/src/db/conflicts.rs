//! What conflict records keep: a lost value and the value that won, as JSON. Those of an
//! attempt's fields can be its free text (a minor's family circumstances), so they are sealed
//! like the attempt's own (R23); those of cases and documents are kept in the clear.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait as _};
use uuid::Uuid;

use crate::db::entity::conflict;
use crate::personal_data::{Sealer, seal_context};

/// How a value of conflict `id` in `column` (`winning_value`, `losing_value`) is stored.
pub fn sealed(sealer: &Sealer, id: Uuid, column: &str, json: &str) -> String {
    sealer.seal(json, &seal_context("conflicts", column, id))
}

/// The JSON of a value of conflict `id` in `column` as stored: opened if sealed. JSON in the
/// clear (every value is an object) is a case's or document's, or an attempt's kept before
/// values were sealed.
pub fn opened(sealer: &Sealer, id: Uuid, column: &str, stored: &str) -> Result<String, DbErr> {
    if stored.starts_with('{') {
        return Ok(stored.to_owned());
    }
    sealer
        .open(stored, &seal_context("conflicts", column, id))
        .map_err(|e| DbErr::Custom(format!("the {column} of conflict {id}: {e}")))
}

/// Stores the conflict `row`.
pub async fn insert(db: &impl ConnectionTrait, row: conflict::Model) -> Result<(), DbErr> {
    conflict::Entity::insert(conflict::ActiveModel::from(row))
        .exec(db)
        .await
        .map(|_| ())
}
