//! The schema's migrations, applied in order at start ([`SeaStore::connect`](crate::SeaStore::connect))
//! and recorded in `seaql_migrations`, so that running them twice is a no-op. Forward only: a
//! migration that has shipped is never edited; a change is a new file.
//!
//! The identifiers below are the migrations' own view of the tables: they stay as they were when
//! each migration was written, whatever the entities become later.

use sea_orm_migration::prelude::*;

mod m20261123_000001_organisations_members;
mod m20261123_000002_credits;
mod m20261123_000003_sessions_keys;
mod m20261123_000004_contacts_audit_mail;
mod m20261123_000005_consumption_rollups;
mod m20261206_000001_idempotency_outcomes;
mod m20261206_000002_limits;
mod m20261206_000003_password_resets;
mod m20261206_000004_idna_email_domains;
mod m20261207_000001_seats_per_plan;

/// Every migration of the schema, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_organisations_members::Migration),
            Box::new(m20261123_000002_credits::Migration),
            Box::new(m20261123_000003_sessions_keys::Migration),
            Box::new(m20261123_000004_contacts_audit_mail::Migration),
            Box::new(m20261123_000005_consumption_rollups::Migration),
            Box::new(m20261206_000001_idempotency_outcomes::Migration),
            Box::new(m20261206_000002_limits::Migration),
            Box::new(m20261206_000003_password_resets::Migration),
            Box::new(m20261206_000004_idna_email_domains::Migration),
            Box::new(m20261207_000001_seats_per_plan::Migration),
        ]
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Organisations {
    Table,
    Id,
    Name,
    RegistrationNumber,
    Plan,
    Licences,
    Seats,
    ContactPerson,
    PostalAddress,
    CompanyName,
    PurchaseOrderNumber,
    CustomerInfoVersion,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Members {
    Table,
    Id,
    OrgId,
    Role,
    Status,
    Username,
    Email,
    EmailKey,
    PasswordHash,
    InvitationDigest,
    InvitationExpiresAt,
    FirstName,
    LastName,
    Phone,
    Company,
    JobTitle,
    Linkedin,
    ProfileVersion,
    NotifyLowCredits,
    NotifyWeeklyDigest,
    NotifyProductNews,
    ExportFormat,
    ExportIncludeEmails,
    ExportIncludePhones,
    Timezone,
    Offerings,
    CreatedAt,
    ErasedAt,
    ResetDigest,
    ResetExpiresAt,
    Plan,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum CreditPools {
    Table,
    OrgId,
    Kind,
    Total,
    Allocated,
    SpentFromPool,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Allocations {
    Table,
    MemberId,
    Kind,
    OrgId,
    Allocated,
    Used,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum LedgerEntries {
    Table,
    Id,
    OrgId,
    Kind,
    EntryType,
    Amount,
    MemberId,
    ActorKind,
    ActorMemberId,
    ActingAs,
    SpenderId,
    At,
    Reason,
    DataType,
    Provider,
    EventId,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum ConsumptionRollups {
    Table,
    OrgId,
    SpenderId,
    Unit,
    Start,
    Kind,
    DataType,
    Provider,
    Amount,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Sessions {
    Table,
    Id,
    MemberId,
    OrgId,
    SecretDigest,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    Client,
    ImpAdminId,
    ImpAdminSessionId,
    ImpReason,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum ApiKeys {
    Table,
    Id,
    MemberId,
    OrgId,
    Label,
    Prefix,
    SecretDigest,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum EmailChanges {
    Table,
    MemberId,
    Id,
    Stage,
    NewEmail,
    CodeDigest,
    CodeSentAt,
    CodeExpiresAt,
    CodeWrongTries,
    CodeSends,
    StartedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Contacts {
    Table,
    Id,
    OrgId,
    Email,
    EmailKey,
    VerifiedAt,
    RoleBilling,
    RoleTech,
    RoleDpo,
    CodeDigest,
    CodeSentAt,
    CodeExpiresAt,
    CodeWrongTries,
    CodeSends,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum AuditEntries {
    Table,
    Id,
    OrgId,
    At,
    ActorKind,
    ActorMemberId,
    ActingAs,
    Action,
    Target,
    Detail,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Outbox {
    Table,
    Id,
    Kind,
    Sealed,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LastError,
    SentAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Products {
    Table,
    Id,
    Name,
    NameKey,
    Active,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Digests {
    Table,
    MemberId,
    DueAt,
    Timezone,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum IdempotencyRecords {
    Table,
    Scope,
    ClientKey,
    Fingerprint,
    ResponseStatus,
    ResponseBody,
    Outcome,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Limits {
    Table,
    Key,
    State,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum KnownClients {
    Table,
    Key,
    Until,
}

/// A non-unique index `name` on `table (cols…)`, created only if missing.
pub(crate) fn index<T: IntoIden + Clone + 'static>(
    name: &str,
    table: T,
    cols: &[T],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.if_not_exists().name(name).table(table);
    for col in cols {
        index.col(col.clone());
    }
    index
}

/// A foreign key `name` from `from (col)` to `to (id)`.
pub(crate) fn foreign_key<F: IntoIden + 'static, T: IntoIden + 'static>(
    name: &str,
    from: (F, F),
    to: (T, T),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).to_owned()
}
