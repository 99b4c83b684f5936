//! Valid records to store, with small, ordered ids (`Uuid::from_u128(n)` orders like `n`)
//! and times with microsecond digits (the precision every store keeps), plus short-hands
//! for committing a write in its own unit.

use std::sync::Arc;

use account_core::domain::audit::{AuditAction, AuditEntry, AuditTarget, Principal};
use account_core::domain::contact::{ContactAddress, ContactRoles};
use account_core::domain::credits::{
    Allocation, ConsumptionDetail, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use account_core::domain::digest::ScheduledDigest;
use account_core::domain::email::EmailAddress;
use account_core::domain::email_change::{EmailChange, EmailChangeStage};
use account_core::domain::linkedin::LinkedInUrl;
use account_core::domain::mail::{MailKind, OutboxMail};
use account_core::domain::member::{
    Invitation, Member, MemberStatus, PasswordReset, Profile, Role,
};
use account_core::domain::organisation::{CustomerInfo, Organisation, PlanSeats, Seats};
use account_core::domain::password::PasswordHash;
use account_core::domain::phone::PhoneNumber;
use account_core::domain::preferences::{
    ExportDefaults, ExportFormat, NotificationSettings, Preferences,
};
use account_core::domain::products::{Offering, Product, ProductName};
use account_core::domain::secret::SecretDigest;
use account_core::domain::session::{ApiKey, ImpersonationInfo, Session};
use account_core::domain::text::{
    ClientName, CompanyName, DataType, EventId, FullName, JobTitle, KeyLabel, OrganisationName,
    PersonName, PlanName, PostalAddress, Provider, PurchaseOrderNumber, Reason, RegistrationNumber,
};
use account_core::domain::timezone::Timezone;
use account_core::domain::username::Username;
use account_core::domain::verification::PendingCode;
use account_core::ids::{
    ApiKeyId, AuditEntryId, ContactId, EmailChangeId, LedgerEntryId, MailId, MemberId,
    OrganisationId, ProductId, SessionId,
};
use account_core::ports::{IdempotencyRecord, Store, StoreError, Tx, UniqueKey};
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

/// An id of any kind from a small number; ids order like their numbers.
#[must_use]
pub fn id<T: From<Uuid>>(n: u128) -> T {
    T::from(Uuid::from_u128(n))
}

/// The suite's epoch: Monday 2026-01-05 09:00:00.123456 UTC (microsecond digits on purpose).
#[must_use]
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap() + Duration::microseconds(123_456)
}

/// `t0` plus `secs` seconds.
#[must_use]
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// A digest whose bytes all equal `b`.
#[must_use]
pub fn digest(b: u8) -> SecretDigest {
    SecretDigest::from_bytes([b; 32])
}

/// A plan name.
#[must_use]
pub fn plan(name: &str) -> PlanName {
    PlanName::parse(name).unwrap()
}

/// An organisation with two plans (Professional 7, Basic 3) and every field of its customer
/// info set.
#[must_use]
pub fn organisation(n: u128) -> Organisation {
    Organisation {
        id: id(n),
        name: OrganisationName::parse(&format!("Org {n} AB")).unwrap(),
        registration_number: RegistrationNumber::parse(&format!("5566{n:02}-8899")).unwrap(),
        seats: Seats::new(vec![
            PlanSeats { plan: plan("Professional"), licences: 7 },
            PlanSeats { plan: plan("Basic"), licences: 3 },
        ])
        .unwrap(),
        customer_info: CustomerInfo {
            contact_person: Some(FullName::parse("Åsa Öberg").unwrap()),
            postal_address: PostalAddress::parse(&["Box 1", "111 22 Stockholm"]).unwrap(),
            company_name: Some(CompanyName::parse("Org Holding AB").unwrap()),
            purchase_order_number: Some(PurchaseOrderNumber::parse("PO-77").unwrap()),
        },
        customer_info_version: 3,
        created_at: t0(),
    }
}

/// A bare organisation: no customer info.
#[must_use]
pub fn bare_organisation(n: u128) -> Organisation {
    Organisation {
        customer_info: CustomerInfo::default(),
        customer_info_version: 1,
        ..organisation(n)
    }
}

/// An enabled sub-user `n` of `org` with a minimal profile, username `user{n}` and email
/// `User{n}@Example.com` (mixed case on purpose).
#[must_use]
pub fn member(org: OrganisationId, n: u128) -> Member {
    Member {
        id: id(n),
        org_id: org,
        role: Role::SubUser,
        status: MemberStatus::Enabled,
        plan: plan("Professional"),
        username: Username::parse(&format!("user{n}")).unwrap(),
        email: EmailAddress::parse(&format!("User{n}@Example.com")).unwrap(),
        password: Some(PasswordHash::from_stored(format!("test-sha256$salt{n}$digest"))),
        invitation: None,
        password_reset: None,
        profile: Profile::named(PersonName::parse(&format!("Name{n}")).unwrap(), None),
        profile_version: 1,
        preferences: Preferences::default(),
        offerings: Vec::new(),
        created_at: t0(),
    }
}

/// Like [`member`], with every optional field set: invitation, password reset, full profile, non-default
/// preferences and offerings of both kinds.
#[must_use]
pub fn full_member(org: OrganisationId, n: u128, product: ProductId) -> Member {
    Member {
        role: Role::Admin,
        password: None,
        invitation: Some(Invitation { secret: digest(7), expires_at: at(7 * 86_400) }),
        password_reset: Some(PasswordReset { secret: digest(8), expires_at: at(30 * 60) }),
        profile: Profile {
            first_name: PersonName::parse("Zoë").unwrap(),
            last_name: Some(PersonName::parse("Łukasiewicz").unwrap()),
            phone: Some(PhoneNumber::parse("+46701234567").unwrap()),
            company: Some(CompanyName::parse("Acme").unwrap()),
            job_title: Some(JobTitle::parse("CTO").unwrap()),
            linkedin: Some(LinkedInUrl::parse("https://www.linkedin.com/in/zoe").unwrap()),
        },
        profile_version: 42,
        preferences: Preferences {
            notifications: NotificationSettings {
                low_credit_alerts: false,
                weekly_usage_digest: true,
                product_news: true,
            },
            export: ExportDefaults {
                format: ExportFormat::Xlsx,
                include_emails: false,
                include_phone_numbers: true,
            },
            timezone: Timezone::parse("Europe/Stockholm").unwrap(),
        },
        offerings: vec![
            Offering::Catalogue(product),
            Offering::Custom(ProductName::parse("CRM consulting").unwrap()),
        ],
        ..member(org, n)
    }
}

/// The four empty pools of an organisation.
#[must_use]
pub fn pools(org: OrganisationId) -> Vec<CreditPool> {
    CreditKind::ALL.iter().map(|k| CreditPool::empty(org, *k)).collect()
}

/// A pool-level grant by the operator.
#[must_use]
pub fn grant(
    n: u128,
    org: OrganisationId,
    kind: CreditKind,
    amount: i64,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        id: id(n),
        org_id: org,
        kind,
        entry_type: EntryType::Grant,
        amount,
        member_id: None,
        actor: Principal::Operator,
        acting_as: None,
        at,
        reason: Some(Reason::parse("invoice 12").unwrap()),
        consumption: None,
    }
}

/// An allocation to `member` by `admin`.
#[must_use]
pub fn allocate(
    n: u128,
    org: OrganisationId,
    admin: MemberId,
    member: MemberId,
    kind: CreditKind,
    amount: i64,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        entry_type: EntryType::Allocate,
        member_id: Some(member),
        actor: Principal::Member(admin),
        reason: None,
        ..grant(n, org, kind, amount, at)
    }
}

/// A consumption with event id `event`: from `member`'s allocation when `member` is some,
/// else from the pool by `actor`.
#[must_use]
pub fn consume(
    n: u128,
    org: OrganisationId,
    actor: MemberId,
    member: Option<MemberId>,
    event: &str,
    amount: i64,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        entry_type: EntryType::Consume,
        kind: CreditKind::Export,
        member_id: member,
        actor: Principal::Member(actor),
        reason: None,
        consumption: Some(ConsumptionDetail {
            data_type: DataType::parse("email").unwrap(),
            provider: Provider::parse("acme-data").unwrap(),
            event_id: EventId::parse(event).unwrap(),
        }),
        ..grant(n, org, CreditKind::Export, amount, at)
    }
}

/// An allocation record.
#[must_use]
pub fn allocation(
    member: MemberId,
    org: OrganisationId,
    kind: CreditKind,
    allocated: i64,
    used: i64,
) -> Allocation {
    Allocation::restore(member, org, kind, allocated, used)
}

/// A pending code.
#[must_use]
pub fn code(b: u8) -> PendingCode {
    PendingCode {
        digest: digest(b),
        sent_at: at(10),
        expires_at: at(610),
        wrong_tries: 2,
        sends: 3,
    }
}

/// A contact address of `org`, unverified with a pending code.
#[must_use]
pub fn contact(
    n: u128,
    org: OrganisationId,
    email: &str,
    created: DateTime<Utc>,
) -> ContactAddress {
    ContactAddress {
        id: id(n),
        org_id: org,
        email: EmailAddress::parse(email).unwrap(),
        verified_at: None,
        roles: ContactRoles::NONE,
        pending: Some(code(9)),
        created_at: created,
    }
}

/// A verified contact holding `roles`.
#[must_use]
pub fn verified_contact(
    n: u128,
    org: OrganisationId,
    email: &str,
    created: DateTime<Utc>,
    roles: ContactRoles,
) -> ContactAddress {
    ContactAddress {
        verified_at: Some(created + Duration::minutes(3)),
        roles,
        pending: None,
        ..contact(n, org, email, created)
    }
}

/// A login session of `member`.
#[must_use]
pub fn session(n: u128, member: MemberId, org: OrganisationId, created: DateTime<Utc>) -> Session {
    Session {
        id: id(n),
        member_id: member,
        org_id: org,
        secret: digest(u8::try_from(n % 251).unwrap()),
        created_at: created,
        last_seen_at: created,
        expires_at: created + Duration::hours(12),
        client: Some(ClientName::parse("curl/8.5").unwrap()),
        impersonation: None,
    }
}

/// An impersonation session acting as `sub_user`, hanging on `admin_session` of `admin`.
#[must_use]
pub fn impersonation(
    n: u128,
    sub_user: MemberId,
    org: OrganisationId,
    admin: MemberId,
    admin_session: SessionId,
    created: DateTime<Utc>,
) -> Session {
    Session {
        client: None,
        expires_at: created + Duration::minutes(60),
        impersonation: Some(ImpersonationInfo {
            admin_id: admin,
            admin_session_id: admin_session,
            reason: Reason::parse("ticket 123").unwrap(),
        }),
        ..session(n, sub_user, org, created)
    }
}

/// An API key of `member`.
#[must_use]
pub fn api_key(n: u128, member: MemberId, org: OrganisationId, created: DateTime<Utc>) -> ApiKey {
    ApiKey {
        id: id(n),
        member_id: member,
        org_id: org,
        label: Some(KeyLabel::parse(&format!("key {n}")).unwrap()),
        prefix: format!("ack_{n:012}"),
        secret: digest(3),
        created_at: created,
        last_used_at: None,
    }
}

/// An email-change flow of `member` at `stage`.
#[must_use]
pub fn email_change(n: u128, member: MemberId, stage: EmailChangeStage) -> EmailChange {
    let code = match stage {
        EmailChangeStage::AwaitingNewAddress => None,
        _ => Some(code(5)),
    };
    EmailChange {
        id: id::<EmailChangeId>(n),
        member_id: member,
        stage,
        code,
        started_at: at(1),
        expires_at: at(3601),
    }
}

/// An audit entry of `org`.
#[must_use]
pub fn audit(
    n: u128,
    org: Option<OrganisationId>,
    at: DateTime<Utc>,
    actor: Principal,
) -> AuditEntry {
    AuditEntry {
        id: id::<AuditEntryId>(n),
        org_id: org,
        at,
        actor,
        acting_as: None,
        action: AuditAction::ProfileUpdated,
        target: AuditTarget::CreditPool(CreditKind::DirectDial),
        detail: format!("fields=phone n={n}"),
    }
}

/// An unsent mail due at `due`.
#[must_use]
pub fn mail(n: u128, created: DateTime<Utc>, due: DateTime<Utc>) -> OutboxMail {
    OutboxMail {
        id: id::<MailId>(n),
        kind: MailKind::Invitation,
        sealed: format!("sealed bytes of mail {n}").into_bytes(),
        created_at: created,
        attempts: 0,
        next_attempt_at: due,
        last_error: None,
        sent_at: None,
    }
}

/// A catalogue entry.
#[must_use]
pub fn product(n: u128, name: &str) -> Product {
    Product {
        id: id::<ProductId>(n),
        name: ProductName::parse(name).unwrap(),
        active: true,
        created_at: t0(),
    }
}

/// A digest schedule.
#[must_use]
pub fn digest_schedule(member: MemberId, due: DateTime<Utc>, tz: &str) -> ScheduledDigest {
    ScheduledDigest { member_id: member, due_at: due, timezone: Timezone::parse(tz).unwrap() }
}

/// An idempotency record without a response yet.
#[must_use]
pub fn idempotency(scope: &str, key: &str, created: DateTime<Utc>) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        fingerprint: format!("sha256:{scope}:{key}"),
        outcome: None,
        created_at: created,
    }
}

/// A ledger entry id.
#[must_use]
pub fn entry_id(n: u128) -> LedgerEntryId {
    id(n)
}

/// A contact id.
#[must_use]
pub fn contact_id(n: u128) -> ContactId {
    id(n)
}

/// An API key id.
#[must_use]
pub fn key_id(n: u128) -> ApiKeyId {
    id(n)
}

/// Opens a write unit.
pub async fn write(store: &Arc<dyn Store>) -> Box<dyn Tx> {
    store.write().await.unwrap()
}

/// Opens a read unit.
pub async fn read(store: &Arc<dyn Store>) -> Box<dyn Tx> {
    store.read().await.unwrap()
}

/// Inserts `org` with its four pools, committed.
pub async fn seed_org(store: &Arc<dyn Store>, org: &Organisation) {
    let mut tx = write(store).await;
    tx.organisations().insert(org).await.unwrap();
    for pool in pools(org.id) {
        tx.credits().insert_pool(&pool).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Inserts members, committed.
pub async fn seed_members(store: &Arc<dyn Store>, members: &[Member]) {
    let mut tx = write(store).await;
    for m in members {
        tx.members().insert(m).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// An organisation `n` with its pools and an admin `n * 100 + 1`, committed; returns both.
pub async fn seed_org_with_admin(store: &Arc<dyn Store>, n: u128) -> (Organisation, Member) {
    let org = organisation(n);
    seed_org(store, &org).await;
    let admin = Member { role: Role::Admin, ..member(org.id, n * 100 + 1) };
    seed_members(store, std::slice::from_ref(&admin)).await;
    (org, admin)
}

/// Asserts that `result` is the conflict `key`.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, key: UniqueKey) {
    match result {
        Err(StoreError::Conflict(k)) => assert_eq!(k, key, "wrong uniqueness rule"),
        other => panic!("expected Conflict({key:?}), got {other:?}"),
    }
}

/// Asserts that `result` is `NotFound`.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::NotFound)), "expected NotFound, got {result:?}");
}
