//! Bodies of the admin's team page, credits, ledger, audit log, impersonation and consumption.

use std::fmt;

use account_core::domain::audit::AuditEntry as CoreAuditEntry;
use account_core::domain::credits::LedgerEntry as CoreLedgerEntry;
use account_core::services::credits::{
    AllocationOutcome, ConsumeOutcome, PoolOverview as CorePool,
};
use account_core::services::impersonation::StartedImpersonation;
use account_core::services::team::{MemberRow, TeamSummary as CoreSummary};
use poem_openapi::Object;
use uuid::Uuid;

use super::me::Profile;
use super::{Balance, CreditKind, EntryType, MemberStatus, PrincipalRef, Role, Timestamp, page};

/// The licence summary, in all and per plan.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct TeamSummary {
    /// Enabled members, pending invitations included.
    pub enabled: u32,
    /// Disabled members.
    pub disabled: u32,
    /// Licences, every plan's together.
    pub licences: u32,
    /// Each plan's use, in the organisation's order.
    pub plans: Vec<PlanUse>,
}

/// One plan's licences and the members on it.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PlanUse {
    /// The plan.
    pub plan: String,
    /// Its licences.
    pub licences: u32,
    /// Enabled members on it, pending invitations included.
    pub enabled: u32,
    /// Disabled members on it.
    pub disabled: u32,
}

impl From<&CoreSummary> for TeamSummary {
    fn from(s: &CoreSummary) -> Self {
        Self {
            enabled: s.enabled,
            disabled: s.disabled,
            licences: s.licences,
            plans: s
                .plans
                .iter()
                .map(|p| PlanUse {
                    plan: p.plan.as_str().to_owned(),
                    licences: p.licences,
                    enabled: p.enabled,
                    disabled: p.disabled,
                })
                .collect(),
        }
    }
}

/// A plan to move a member's seat to.
#[derive(Object, Debug, Clone)]
pub(crate) struct SetMemberPlanRequest {
    /// One of the organisation's plans (`GET /team/summary` lists them).
    pub plan: String,
}

/// A team pool of one kind.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PoolOverview {
    /// The kind.
    pub kind: CreditKind,
    /// Granted and not expired.
    pub total: i64,
    /// Handed to members.
    pub allocated: i64,
    /// Spent, by members and from the pool.
    pub used: i64,
    /// Unallocated and unspent: what can still be allocated.
    pub headroom: i64,
}

impl From<&CorePool> for PoolOverview {
    fn from(p: &CorePool) -> Self {
        Self {
            kind: p.kind.into(),
            total: p.total,
            allocated: p.allocated,
            used: p.used,
            headroom: p.headroom,
        }
    }
}

/// The team credit overview, one pool per kind.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct TeamCredits {
    /// The pools.
    pub pools: Vec<PoolOverview>,
}

/// A member as the team page shows them.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Member {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: MemberStatus,
    /// The plan of the seat (`PUT /team/members/{member_id}/plan` moves it).
    pub plan: String,
    /// True until the member accepts the invitation and sets a password.
    pub invitation_pending: bool,
    /// Credits, one balance per kind.
    pub credits: Vec<Balance>,
    /// Profile; read `/team/members/{member_id}/profile` for its ETag.
    pub profile: Profile,
    /// When the member was added.
    pub created_at: Timestamp,
}

impl Member {
    pub(crate) fn new(row: &MemberRow) -> Self {
        let m = &row.member;
        Self {
            id: m.id.as_uuid(),
            name: m.profile.display_name(),
            email: m.email.as_str().to_owned(),
            username: m.username.as_str().to_owned(),
            role: m.role.into(),
            status: m.status.into(),
            plan: m.plan.as_str().to_owned(),
            invitation_pending: m.password.is_none(),
            credits: row.balances.iter().map(Into::into).collect(),
            profile: (&m.profile).into(),
            created_at: m.created_at.into(),
        }
    }
}

page!(
    /// A page of members.
    MemberPage,
    Member
);

/// A sub-user to add: they receive an invitation to set a password, and no credits.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct AddMemberRequest {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Login email; the invitation goes there.
    pub email: String,
    /// The plan of the seat, one of `GET /team/summary`'s plans; may be left out when the
    /// organisation has one plan.
    pub plan: Option<String>,
}

/// A role to give.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct SetRoleRequest {
    /// The role.
    pub role: Role,
}

/// Credits to allocate to, or reclaim from, a sub-user.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CreditMoveRequest {
    /// The kind (calling minutes are one).
    pub kind: CreditKind,
    /// How many, 1 to 1 000 000 000.
    pub amount: i64,
    /// Why, for the ledger.
    pub reason: Option<String>,
}

/// A pool's balances.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Pool {
    /// The kind.
    pub kind: CreditKind,
    /// Granted and not expired.
    pub total: i64,
    /// Handed to members.
    pub allocated: i64,
    /// Spent directly from the pool by admins.
    pub spent_from_pool: i64,
    /// What can still be allocated.
    pub headroom: i64,
}

impl From<&account_core::domain::credits::CreditPool> for Pool {
    fn from(p: &account_core::domain::credits::CreditPool) -> Self {
        Self {
            kind: p.kind().into(),
            total: p.total(),
            allocated: p.allocated(),
            spent_from_pool: p.spent_from_pool(),
            headroom: p.headroom(),
        }
    }
}

/// A member's allocation and the pool after an allocation or reclaim.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct AllocationResult {
    /// The member.
    pub member_id: Uuid,
    /// The member's balance of the kind afterwards.
    pub balance: Balance,
    /// The pool afterwards.
    pub pool: Pool,
    /// The ledger entry written.
    pub entry_id: Uuid,
}

impl From<&AllocationOutcome> for AllocationResult {
    fn from(o: &AllocationOutcome) -> Self {
        let a = &o.allocation;
        Self {
            member_id: a.member_id().as_uuid(),
            balance: Balance {
                kind: a.kind().into(),
                allocated: a.allocated(),
                used: a.used(),
                available: a.available(),
            },
            pool: (&o.pool).into(),
            entry_id: o.entry_id.as_uuid(),
        }
    }
}

/// What a consumption was for.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct ConsumptionDetail {
    /// Data type (`email`, `phone_number`, `direct_dial`, `export`, `call_minute`, …).
    pub data_type: String,
    /// Provider.
    pub provider: String,
    /// The client's event id.
    pub event_id: String,
}

/// One entry of the credit ledger.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct LedgerEntry {
    /// Its id.
    pub id: Uuid,
    /// The kind.
    pub kind: CreditKind,
    /// What it did.
    pub entry_type: EntryType,
    /// How much (always positive; `entry_type` gives the direction).
    pub amount: i64,
    /// The member whose allocation moved or was spent (absent for pool-level entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub member_id: Option<Uuid>,
    /// Who did it (the admin, when impersonating).
    pub actor: PrincipalRef,
    /// Whom the actor was acting as, when impersonating.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub acting_as: Option<Uuid>,
    /// When.
    pub at: Timestamp,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// For consumption entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub consumption: Option<ConsumptionDetail>,
}

impl From<&CoreLedgerEntry> for LedgerEntry {
    fn from(e: &CoreLedgerEntry) -> Self {
        Self {
            id: e.id.as_uuid(),
            kind: e.kind.into(),
            entry_type: e.entry_type.into(),
            amount: e.amount,
            member_id: e.member_id.map(|m| m.as_uuid()),
            actor: e.actor.into(),
            acting_as: e.acting_as.map(|m| m.as_uuid()),
            at: e.at.into(),
            reason: e.reason.as_ref().map(|r| r.as_str().to_owned()),
            consumption: e.consumption.as_ref().map(|c| ConsumptionDetail {
                data_type: c.data_type.as_str().to_owned(),
                provider: c.provider.as_str().to_owned(),
                event_id: c.event_id.as_str().to_owned(),
            }),
        }
    }
}

page!(
    /// A page of the ledger, oldest first.
    LedgerPage,
    LedgerEntry
);

/// One entry of the audit log.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct AuditEntry {
    /// Its id.
    pub id: Uuid,
    /// When.
    pub at: Timestamp,
    /// Who really did it (under impersonation, the admin).
    pub actor: PrincipalRef,
    /// Under impersonation, the sub-user the admin acted as.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub acting_as: Option<Uuid>,
    /// What, like `member.disabled`.
    pub action: String,
    /// On what, like `member:<id>`.
    pub target: String,
    /// Non-personal detail, like `kind=export amount=100`.
    pub detail: String,
}

impl From<&CoreAuditEntry> for AuditEntry {
    fn from(e: &CoreAuditEntry) -> Self {
        Self {
            id: e.id.as_uuid(),
            at: e.at.into(),
            actor: e.actor.into(),
            acting_as: e.acting_as.map(|m| m.as_uuid()),
            action: e.action.as_str().to_owned(),
            target: e.target.to_string(),
            detail: e.detail.clone(),
        }
    }
}

page!(
    /// A page of the audit log, newest first.
    AuditPage,
    AuditEntry
);

/// Why the admin impersonates, for the audit log.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct StartImpersonationRequest {
    /// The reason (required).
    pub reason: String,
}

/// A started impersonation and its bearer token, shown this once.
#[derive(serde::Serialize, Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Impersonation {
    /// Send as `Authorization: Bearer <token>` to act as the member; every response then
    /// carries `Accounts-Impersonation`. `DELETE /impersonation` with it ends it.
    pub token: String,
    /// The impersonation session.
    pub session_id: Uuid,
    /// The member acted as.
    pub member_id: Uuid,
    /// The admin.
    pub admin_id: Uuid,
    /// When it ends at the latest (an hour, or the admin's session's end if sooner).
    pub expires_at: Timestamp,
}

impl fmt::Debug for Impersonation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Impersonation")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl From<&StartedImpersonation> for Impersonation {
    fn from(s: &StartedImpersonation) -> Self {
        let admin = s.session.impersonation.as_ref().map(|i| i.admin_id.as_uuid());
        Self {
            token: s.token.clone(),
            session_id: s.session.id.as_uuid(),
            member_id: s.target.id.as_uuid(),
            admin_id: admin.unwrap_or_default(),
            expires_at: s.session.expires_at.into(),
        }
    }
}

/// A consumption to record; the same `event_id` twice records it once.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct ConsumptionRequest {
    /// The kind spent.
    pub kind: CreditKind,
    /// How many, 1 to 1 000 000 000.
    pub amount: i64,
    /// Data type (`email`, `phone_number`, `direct_dial`, `export`, `call_minute`, …).
    pub data_type: String,
    /// The provider it came through.
    pub provider: String,
    /// Your id for this event (at most 200 characters).
    pub event_id: String,
}

/// A recorded consumption.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Consumption {
    /// The ledger entry.
    pub entry_id: Uuid,
    /// The kind.
    pub kind: CreditKind,
    /// How many.
    pub amount: i64,
    /// What for.
    pub detail: ConsumptionDetail,
    /// When it was recorded.
    pub at: Timestamp,
    /// True when the event id was recorded before and this is that record.
    pub replayed: bool,
    /// What the spender has left of the kind.
    pub available: i64,
}

impl From<&ConsumeOutcome> for Consumption {
    fn from(o: &ConsumeOutcome) -> Self {
        let e = &o.entry;
        Self {
            entry_id: e.id.as_uuid(),
            kind: e.kind.into(),
            amount: e.amount,
            detail: e.consumption.as_ref().map_or_else(
                || ConsumptionDetail {
                    data_type: String::new(),
                    provider: String::new(),
                    event_id: String::new(),
                },
                |c| ConsumptionDetail {
                    data_type: c.data_type.as_str().to_owned(),
                    provider: c.provider.as_str().to_owned(),
                    event_id: c.event_id.as_str().to_owned(),
                },
            ),
            at: e.at.into(),
            replayed: o.replayed,
            available: o.available,
        }
    }
}
