//! The case ledger's ground: org tree, accounts and sessions, students, cases, attempts,
//! documents, reviews and the append-only audit log.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the foundation tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_foundation"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum OrgUnits {
    Table,
    Id,
    ParentId,
    Kind,
    Name,
    Code,
    DistrictId,
    TownshipId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Role,
    OrgUnitId,
    PasswordHash,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Devices {
    Table,
    Id,
    UserId,
    FirstSeenAt,
    LastSeenAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    UserId,
    DeviceId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    LastFailureAt,
    BlockedUntil,
}

#[derive(DeriveIden, Clone, Copy)]
enum Students {
    Table,
    Id,
    Name,
    Gender,
    BirthDate,
    IdNumberEnc,
    IdNumberLookup,
    RegistrationNo,
    SchoolId,
    VillageId,
    TownshipId,
    DistrictId,
    Grade,
    ClassName,
    HouseholdAddressEnc,
    ResidenceAddressEnc,
    LeftBehind,
    Orphan,
    Disabled,
    PoorHousehold,
    Migrant,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Guardians {
    Table,
    Id,
    StudentId,
    Position,
    Name,
    Relation,
    PhoneEnc,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    Id,
    StudentId,
    SchoolId,
    VillageId,
    TownshipId,
    DistrictId,
    Status,
    FoundBy,
    Reason,
    ResponsibleUserId,
    OpenedOn,
    RelapseCount,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Attempts {
    Table,
    Id,
    CaseId,
    Kind,
    OccurredAt,
    Lat,
    Lon,
    AccuracyM,
    MetWhom,
    GuardianStatement,
    Outcome,
    NextStep,
    Notes,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AttemptParticipants {
    Table,
    Id,
    AttemptId,
    Position,
    UserId,
    Name,
    Unit,
}

#[derive(DeriveIden, Clone, Copy)]
enum Documents {
    Table,
    Id,
    CaseId,
    DocType,
    Title,
    IssuedBy,
    IssuedOn,
    Notes,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reviews {
    Table,
    Id,
    CaseId,
    TargetKind,
    TargetId,
    Verdict,
    Reason,
    ReviewerId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    EntityKind,
    EntityId,
    ClientAddr,
    Detail,
}

/// A foreign key from `table.column` to the `id` of `to_table`.
fn fk(
    table: impl IntoIden,
    column: impl IntoIden,
    to_table: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(column)
        .to_tbl(to_table)
        .to_col("id")
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// An index on `columns` of `table`, named after them.
fn index<T: IntoIden + Copy + 'static>(
    name: &str,
    table: T,
    columns: &[T],
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for column in columns {
        stmt.col(*column);
    }
    stmt.to_owned()
}

/// SQL that makes `audit_log` refuse updates and deletes, per backend.
fn audit_log_append_only(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
             CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
             FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();"
        }
        _ => {
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
             BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
             CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
             BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgUnits::Table)
                    .col(pk_uuid(OrgUnits::Id))
                    .col(uuid_null(OrgUnits::ParentId))
                    .col(string(OrgUnits::Kind))
                    .col(string(OrgUnits::Name))
                    .col(string_uniq(OrgUnits::Code))
                    .col(uuid(OrgUnits::DistrictId))
                    .col(uuid_null(OrgUnits::TownshipId))
                    .col(timestamp_with_time_zone(OrgUnits::CreatedAt))
                    .foreign_key(&mut fk(
                        OrgUnits::Table,
                        OrgUnits::ParentId,
                        OrgUnits::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_uniq(Users::Username))
                    .col(string(Users::DisplayName))
                    .col(string(Users::Role))
                    .col(uuid(Users::OrgUnitId))
                    .col(string(Users::PasswordHash))
                    .col(boolean(Users::Disabled).default(false))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(&mut fk(Users::Table, Users::OrgUnitId, OrgUnits::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(pk_uuid(Devices::Id))
                    .col(uuid(Devices::UserId))
                    .col(timestamp_with_time_zone(Devices::FirstSeenAt))
                    .col(timestamp_with_time_zone(Devices::LastSeenAt))
                    .foreign_key(&mut fk(Devices::Table, Devices::UserId, Users::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(uuid(RefreshTokens::UserId))
                    .col(uuid(RefreshTokens::DeviceId))
                    .col(string_uniq(RefreshTokens::TokenHash))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        RefreshTokens::Table,
                        RefreshTokens::UserId,
                        Users::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "refresh_tokens_family",
                RefreshTokens::Table,
                &[RefreshTokens::FamilyId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string(LoginThrottle::Key).primary_key())
                    .col(integer(LoginThrottle::Failures))
                    .col(timestamp_with_time_zone(LoginThrottle::LastFailureAt))
                    .col(timestamp_with_time_zone_null(LoginThrottle::BlockedUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Students::Table)
                    .col(pk_uuid(Students::Id))
                    .col(string(Students::Name))
                    .col(string(Students::Gender))
                    .col(date(Students::BirthDate))
                    .col(text(Students::IdNumberEnc))
                    .col(string(Students::IdNumberLookup))
                    .col(string(Students::RegistrationNo))
                    .col(uuid(Students::SchoolId))
                    .col(uuid(Students::VillageId))
                    .col(uuid(Students::TownshipId))
                    .col(uuid(Students::DistrictId))
                    .col(integer(Students::Grade))
                    .col(string(Students::ClassName))
                    .col(text(Students::HouseholdAddressEnc))
                    .col(text(Students::ResidenceAddressEnc))
                    .col(boolean(Students::LeftBehind))
                    .col(boolean(Students::Orphan))
                    .col(boolean(Students::Disabled))
                    .col(boolean(Students::PoorHousehold))
                    .col(boolean(Students::Migrant))
                    .col(timestamp_with_time_zone(Students::CreatedAt))
                    .col(timestamp_with_time_zone(Students::UpdatedAt))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::SchoolId,
                        OrgUnits::Table,
                    ))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::VillageId,
                        OrgUnits::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "students_id_number_lookup",
                Students::Table,
                &[Students::IdNumberLookup],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Guardians::Table)
                    .col(pk_uuid(Guardians::Id))
                    .col(uuid(Guardians::StudentId))
                    .col(integer(Guardians::Position))
                    .col(string(Guardians::Name))
                    .col(string(Guardians::Relation))
                    .col(text(Guardians::PhoneEnc))
                    .foreign_key(&mut fk(
                        Guardians::Table,
                        Guardians::StudentId,
                        Students::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "guardians_student",
                Guardians::Table,
                &[Guardians::StudentId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(pk_uuid(Cases::Id))
                    .col(uuid(Cases::StudentId))
                    .col(uuid(Cases::SchoolId))
                    .col(uuid(Cases::VillageId))
                    .col(uuid(Cases::TownshipId))
                    .col(uuid(Cases::DistrictId))
                    .col(string(Cases::Status))
                    .col(string(Cases::FoundBy))
                    .col(string_null(Cases::Reason))
                    .col(uuid_null(Cases::ResponsibleUserId))
                    .col(date(Cases::OpenedOn))
                    .col(integer(Cases::RelapseCount))
                    .col(big_integer(Cases::Version))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .foreign_key(&mut fk(Cases::Table, Cases::StudentId, Students::Table))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("cases_school", Cases::SchoolId),
            ("cases_village", Cases::VillageId),
            ("cases_township", Cases::TownshipId),
            ("cases_district", Cases::DistrictId),
            ("cases_student", Cases::StudentId),
        ] {
            manager
                .create_index(index(name, Cases::Table, &[column]))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Attempts::Table)
                    .col(pk_uuid(Attempts::Id))
                    .col(uuid(Attempts::CaseId))
                    .col(string(Attempts::Kind))
                    .col(timestamp_with_time_zone(Attempts::OccurredAt))
                    .col(double_null(Attempts::Lat))
                    .col(double_null(Attempts::Lon))
                    .col(double_null(Attempts::AccuracyM))
                    .col(text(Attempts::MetWhom))
                    .col(text(Attempts::GuardianStatement))
                    .col(string(Attempts::Outcome))
                    .col(text(Attempts::NextStep))
                    .col(text(Attempts::Notes))
                    .col(uuid(Attempts::AuthorId))
                    .col(timestamp_with_time_zone(Attempts::CreatedAt))
                    .foreign_key(&mut fk(Attempts::Table, Attempts::CaseId, Cases::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "attempts_case",
                Attempts::Table,
                &[Attempts::CaseId, Attempts::OccurredAt],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AttemptParticipants::Table)
                    .col(pk_uuid(AttemptParticipants::Id))
                    .col(uuid(AttemptParticipants::AttemptId))
                    .col(integer(AttemptParticipants::Position))
                    .col(uuid_null(AttemptParticipants::UserId))
                    .col(string(AttemptParticipants::Name))
                    .col(string(AttemptParticipants::Unit))
                    .foreign_key(&mut fk(
                        AttemptParticipants::Table,
                        AttemptParticipants::AttemptId,
                        Attempts::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "attempt_participants_attempt",
                AttemptParticipants::Table,
                &[AttemptParticipants::AttemptId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(pk_uuid(Documents::Id))
                    .col(uuid(Documents::CaseId))
                    .col(string(Documents::DocType))
                    .col(string(Documents::Title))
                    .col(string(Documents::IssuedBy))
                    .col(date_null(Documents::IssuedOn))
                    .col(text(Documents::Notes))
                    .col(uuid(Documents::AuthorId))
                    .col(timestamp_with_time_zone(Documents::CreatedAt))
                    .foreign_key(&mut fk(Documents::Table, Documents::CaseId, Cases::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "documents_case",
                Documents::Table,
                &[Documents::CaseId],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .col(pk_uuid(Reviews::Id))
                    .col(uuid(Reviews::CaseId))
                    .col(string(Reviews::TargetKind))
                    .col(uuid(Reviews::TargetId))
                    .col(string(Reviews::Verdict))
                    .col(text(Reviews::Reason))
                    .col(uuid(Reviews::ReviewerId))
                    .col(timestamp_with_time_zone(Reviews::CreatedAt))
                    .foreign_key(&mut fk(Reviews::Table, Reviews::CaseId, Cases::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("reviews_case", Reviews::Table, &[Reviews::CaseId]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::EntityKind))
                    .col(uuid_null(AuditLog::EntityId))
                    .col(string_null(AuditLog::ClientAddr))
                    .col(text(AuditLog::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "audit_log_entity",
                AuditLog::Table,
                &[AuditLog::EntityKind, AuditLog::EntityId],
            ))
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(audit_log_append_only(manager.get_database_backend()))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the foundation cannot be rolled back: it holds the ledger".into(),
        ))
    }
}
