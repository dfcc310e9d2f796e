//! Queries on evidence files (`media_objects`).

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Iterable as _,
    QueryFilter, QuerySelect as _, QueryTrait as _,
};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{case, media_object};

/// The media object `id` if its case is in `scope`.
pub async fn find_in_scope(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<media_object::Model>, DbErr> {
    let Some(media) = media_object::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let case = case::Entity::find_by_id(media.case_id)
        .filter(scope.condition::<case::Entity>())
        .one(db)
        .await?;
    Ok(case.map(|_| media))
}

/// The media objects of `case_id`.
pub async fn of_case(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Vec<media_object::Model>, DbErr> {
    media_object::Entity::find()
        .filter(media_object::Column::CaseId.eq(case_id))
        .all(db)
        .await
}

/// The size of the stored file `sha256` if it is evidence of a record in a case in `scope`.
pub async fn readable_size(
    db: &impl ConnectionTrait,
    scope: Scope,
    sha256: &str,
) -> Result<Option<i64>, DbErr> {
    let in_scope = Query::select()
        .column(case::Column::Id)
        .from(case::Entity)
        .cond_where(scope.condition::<case::Entity>())
        .to_owned();
    media_object::Entity::find()
        .select_only()
        .column(media_object::Column::Size)
        .filter(media_object::Column::Sha256.eq(sha256))
        .filter(media_object::Column::CaseId.in_subquery(in_scope))
        .into_tuple::<i64>()
        .one(db)
        .await
}

/// Whether the file with `sha256` is evidence of the record `target` (its kind and id).
pub async fn is_evidence(
    db: &impl ConnectionTrait,
    sha256: &str,
    target: (&str, Uuid),
) -> Result<bool, DbErr> {
    let found = evidence(sha256, target)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// The ids of the media objects of the file `sha256` that are evidence of the record `target`
/// (its kind and id).
fn evidence(sha256: &str, (kind, id): (&str, Uuid)) -> sea_orm::Select<media_object::Entity> {
    media_object::Entity::find()
        .select_only()
        .column(media_object::Column::Id)
        .filter(media_object::Column::Sha256.eq(sha256))
        .filter(media_object::Column::TargetKind.eq(kind))
        .filter(media_object::Column::TargetId.eq(id))
}

/// The case `id`, locked until the transaction `txn` ends.
pub async fn lock_case(
    txn: &sea_orm::DatabaseTransaction,
    id: Uuid,
) -> Result<Option<case::Model>, DbErr> {
    case::Entity::find_by_id(id).lock_exclusive().one(txn).await
}

/// Inserts `media` unless its file is evidence of the same record already, in one statement
/// (the insert's own snapshot sees a link committed before it); whether it did.
pub async fn insert_unless_linked(
    db: &impl ConnectionTrait,
    media: &media_object::Model,
) -> Result<bool, DbErr> {
    let values = media_object::ActiveModel::from(media.clone());
    let (columns, values): (Vec<_>, Vec<Expr>) = media_object::Column::iter()
        .filter_map(|column| Some((column, Expr::val(values.get(column).into_value()?))))
        .unzip();
    let linked = evidence(&media.sha256, (&media.target_kind, media.target_id));
    let unless_linked = Query::select()
        .exprs(values)
        .and_where(Expr::not_exists(linked.into_query()))
        .to_owned();
    let insert = Query::insert()
        .into_table(media_object::Entity)
        .columns(columns)
        .select_from(unless_linked)
        .map_err(|e| DbErr::Custom(format!("inserting a media object: {e}")))?
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected() > 0)
}
