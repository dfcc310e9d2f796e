//! A school's reconciliation of its roll at the start of a term (R7).

use sea_orm::entity::prelude::*;

/// A row of `roll_reconciliations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "roll_reconciliations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub school_id: Uuid,
    /// The first day of the term.
    pub term_start: Date,
    pub reconciled_by: Uuid,
    pub reconciled_at: DateTimeUtc,
    pub notes: String,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
