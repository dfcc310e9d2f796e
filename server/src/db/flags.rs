//! Queries on plausibility flags (`plausibility_flags`) and what raising them reads: the files
//! that share a photo, the photos' perceptual hashes, an author's attempts near in time,
//! the villages' centre points.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{attempt, case, media_object, org_unit, plausibility_flag};

/// Stores `row` unless a flag with its key was raised already; answers whether it was new.
pub async fn raise(
    db: &impl ConnectionTrait,
    row: plausibility_flag::Model,
) -> Result<bool, DbErr> {
    let inserted = plausibility_flag::Entity::insert(plausibility_flag::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(plausibility_flag::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}

/// The flags of the cases `cases`, oldest first.
pub async fn of_cases(
    db: &impl ConnectionTrait,
    cases: Vec<Uuid>,
) -> Result<Vec<plausibility_flag::Model>, DbErr> {
    plausibility_flag::Entity::find()
        .filter(plausibility_flag::Column::CaseId.is_in(cases))
        .order_by_asc(plausibility_flag::Column::RaisedAt)
        .order_by_asc(plausibility_flag::Column::Id)
        .all(db)
        .await
}

/// The flags on `scope`'s rows, oldest first: the open ones, or all with `dismissed`; at most
/// `limit`.
pub async fn in_scope(
    db: &impl ConnectionTrait,
    scope: Scope,
    dismissed: bool,
    limit: u64,
) -> Result<Vec<plausibility_flag::Model>, DbErr> {
    let cases = Query::select()
        .column(case::Column::Id)
        .from(case::Entity)
        .cond_where(scope.condition::<case::Entity>())
        .to_owned();
    let mut query = plausibility_flag::Entity::find()
        .filter(plausibility_flag::Column::CaseId.in_subquery(cases))
        .order_by_asc(plausibility_flag::Column::RaisedAt)
        .order_by_asc(plausibility_flag::Column::Id)
        .limit(limit);
    if !dismissed {
        query = query.filter(plausibility_flag::Column::DismissedAt.is_null());
    }
    query.all(db).await
}

/// The flag `id` if its case is in `scope`.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<plausibility_flag::Model>, DbErr> {
    let Some(flag) = plausibility_flag::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let visible = crate::db::cases::find(db, scope, flag.case_id).await?;
    Ok(visible.map(|_| flag))
}

/// Marks the flag `id` dismissed by `by` at `at` for `reason`.
pub async fn dismiss(
    db: &impl ConnectionTrait,
    id: Uuid,
    (by, at, reason): (Uuid, DateTime<Utc>, &str),
) -> Result<(), DbErr> {
    plausibility_flag::Entity::update_many()
        .col_expr(
            plausibility_flag::Column::DismissedAt,
            sea_orm::sea_query::Expr::value(Some(at)),
        )
        .col_expr(
            plausibility_flag::Column::DismissedBy,
            sea_orm::sea_query::Expr::value(Some(by)),
        )
        .col_expr(
            plausibility_flag::Column::DismissReason,
            sea_orm::sea_query::Expr::value(Some(reason.to_owned())),
        )
        .filter(plausibility_flag::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// The files other than `media` with the SHA-256 `sha256` that are evidence of another record,
/// previews left out.
pub async fn same_file_elsewhere(
    db: &impl ConnectionTrait,
    media: &media_object::Model,
) -> Result<Vec<media_object::Model>, DbErr> {
    media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(media.sha256.as_str()))
        .filter(media_object::Column::TargetId.ne(media.target_id))
        .filter(media_object::Column::PreviewOf.is_null())
        .all(db)
        .await
}

/// Gives every file with the SHA-256 `sha256` the perceptual hash `phash`; answers those files.
pub async fn set_phash(
    db: &impl ConnectionTrait,
    sha256: &str,
    phash: i64,
) -> Result<Vec<media_object::Model>, DbErr> {
    media_object::Entity::update_many()
        .col_expr(
            media_object::Column::Phash,
            sea_orm::sea_query::Expr::value(Some(phash)),
        )
        .filter(media_object::Column::Sha256.eq(sha256))
        .exec(db)
        .await?;
    media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(sha256))
        .all(db)
        .await
}

/// The attempt photos of `district`'s cases with a perceptual hash, other than the file
/// `sha256`: (media id, attempt id, perceptual hash).
pub async fn hashed_photos(
    db: &impl ConnectionTrait,
    district: Uuid,
    sha256: &str,
) -> Result<Vec<(Uuid, Uuid, i64)>, DbErr> {
    let cases = Query::select()
        .column(case::Column::Id)
        .from(case::Entity)
        .and_where(case::Column::DistrictId.eq(district))
        .to_owned();
    media_object::Entity::find()
        .select_only()
        .column(media_object::Column::Id)
        .column(media_object::Column::TargetId)
        .column(media_object::Column::Phash)
        .filter(media_object::Column::CaseId.in_subquery(cases))
        .filter(media_object::Column::TargetKind.eq("attempt"))
        .filter(media_object::Column::PreviewOf.is_null())
        .filter(media_object::Column::Phash.is_not_null())
        .filter(media_object::Column::Sha256.ne(sha256))
        .into_tuple()
        .all(db)
        .await
}

/// The attempts of `author` with a place that happened between `from` and `to` (both
/// included), by time: (id, when, latitude, longitude).
pub async fn placed_attempts_by(
    db: &impl ConnectionTrait,
    author: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<(Uuid, DateTime<Utc>, f64, f64)>, DbErr> {
    attempt::Entity::find()
        .select_only()
        .columns([
            attempt::Column::Id,
            attempt::Column::OccurredAt,
            attempt::Column::Lat,
            attempt::Column::Lon,
        ])
        .filter(attempt::Column::AuthorId.eq(author))
        .filter(attempt::Column::OccurredAt.between(from, to))
        .filter(attempt::Column::Lat.is_not_null())
        .filter(attempt::Column::Lon.is_not_null())
        .order_by_asc(attempt::Column::OccurredAt)
        .into_tuple()
        .all(db)
        .await
}

/// The centre points of those of the org units `ids` that have one.
pub async fn centres(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (f64, f64)>, DbErr> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let units = org_unit::Entity::find()
            .filter(org_unit::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        out.extend(
            units
                .into_iter()
                .filter_map(|u| Some((u.id, u.lat.zip(u.lon)?))),
        );
    }
    Ok(out)
}

/// Sets the centre point of the org unit `id`.
pub async fn set_centre(
    db: &impl ConnectionTrait,
    id: Uuid,
    (lat, lon): (f64, f64),
) -> Result<(), DbErr> {
    org_unit::Entity::update_many()
        .col_expr(
            org_unit::Column::Lat,
            sea_orm::sea_query::Expr::value(Some(lat)),
        )
        .col_expr(
            org_unit::Column::Lon,
            sea_orm::sea_query::Expr::value(Some(lon)),
        )
        .filter(org_unit::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}
