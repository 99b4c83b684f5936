//! The organisation (the "account" of the product pages): customer info, registration
//! number, and its licences per plan (rules 1 and 23).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::member::{Member, MemberStatus, Role};
use super::text::{
    CompanyName, FullName, OrganisationName, PlanName, PostalAddress, PurchaseOrderNumber,
    RegistrationNumber,
};
use crate::ids::OrganisationId;

/// The customer information an admin keeps up to date (the "Customer Info" tab).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerInfo {
    /// The person to contact about the account.
    pub contact_person: Option<FullName>,
    /// The postal address.
    pub postal_address: Option<PostalAddress>,
    /// The company name used on invoices.
    pub company_name: Option<CompanyName>,
    /// The customer's purchase-order number, printed on invoices.
    pub purchase_order_number: Option<PurchaseOrderNumber>,
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Its id.
    pub id: OrganisationId,
    /// Its display name.
    pub name: OrganisationName,
    /// Organisation or personal number; changed only by support (a transfer).
    pub registration_number: RegistrationNumber,
    /// Its licences per plan; their sum is how many members may be enabled at once (rules 1,
    /// 23).
    pub seats: Seats,
    /// Customer information.
    pub customer_info: CustomerInfo,
    /// Version of the customer information, for `If-Match` (rule 6 applies to it too).
    pub customer_info_version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The smallest licence count an operator may set: the first admin holds one.
pub const MIN_LICENCES: u32 = 1;
/// The largest licence count an operator may set.
pub const MAX_LICENCES: u32 = 100_000;

/// How many members an organisation has, by status and plan: what rules 1, 2 and 23 count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberCounts {
    /// Enabled members, pending invitations included: each holds a licence.
    pub enabled: u32,
    /// Disabled members.
    pub disabled: u32,
    /// Enabled admins.
    pub enabled_admins: u32,
    /// Per plan that has members, by plan name.
    pub plans: Vec<PlanCount>,
}

/// How many members are on one plan, by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCount {
    /// The plan.
    pub plan: PlanName,
    /// Enabled members on it (pending invitations included).
    pub enabled: u32,
    /// Disabled members on it.
    pub disabled: u32,
}

impl MemberCounts {
    /// Counts `n` members of one status, role and plan: what a store's grouped count yields,
    /// one group at a time, in any order.
    pub fn add(&mut self, status: MemberStatus, role: Role, plan: &PlanName, n: u32) {
        let at = match self.plans.binary_search_by(|c| c.plan.as_str().cmp(plan.as_str())) {
            Ok(at) => at,
            Err(at) => {
                self.plans.insert(at, PlanCount { plan: plan.clone(), enabled: 0, disabled: 0 });
                at
            }
        };
        match status {
            MemberStatus::Enabled => {
                self.enabled += n;
                self.plans[at].enabled += n;
                if role == Role::Admin {
                    self.enabled_admins += n;
                }
            }
            MemberStatus::Disabled => {
                self.disabled += n;
                self.plans[at].disabled += n;
            }
        }
    }

    /// Enabled members on `plan` (pending invitations included).
    #[must_use]
    pub fn enabled_on(&self, plan: &PlanName) -> u32 {
        self.plan(plan).map_or(0, |c| c.enabled)
    }

    /// The count of `plan`, if any member is on it.
    #[must_use]
    pub fn plan(&self, plan: &PlanName) -> Option<&PlanCount> {
        self.plans.iter().find(|c| c.plan == *plan)
    }

    /// Rule 2: an organisation always keeps an enabled admin, so `member` cannot stop being
    /// one (be disabled, demoted or deleted) when they are the last.
    ///
    /// # Errors
    /// [`LastAdmin`] when `member` is the organisation's last enabled admin.
    pub fn ensure_admin_remains_without(&self, member: &Member) -> Result<(), LastAdmin> {
        if member.is_enabled_admin() && self.enabled_admins <= 1 { Err(LastAdmin) } else { Ok(()) }
    }
}

/// The organisation's last enabled admin cannot be disabled, demoted or deleted (rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this is the last enabled admin; make another member admin first")]
pub struct LastAdmin;

/// An organisation's licence count: how many members may be enabled at once (rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Licences(u32);

/// Why a number is not a licence count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between {MIN_LICENCES} and {MAX_LICENCES}")]
pub struct LicenceCountError;

/// Every licence of a plan is taken by an enabled member, pending invitations included
/// (rules 1, 23).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "all {licences} licences of the {plan} plan are in use; disable a member, move one to another plan or buy more licences"
)]
pub struct NoFreeLicence {
    /// The plan.
    pub plan: PlanName,
    /// Its licence count.
    pub licences: u32,
}

/// A change of seats that would leave members without one (rules 1, 23).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatsBelowMembers {
    /// Fewer licences on a plan than members enabled on it.
    #[error(
        "{enabled} members are enabled on the {plan} plan; disable or move some before lowering its licences below that"
    )]
    Enabled {
        /// The plan.
        plan: PlanName,
        /// Members enabled on it now.
        enabled: u32,
    },
    /// A plan that members (enabled or disabled) are on would be removed.
    #[error(
        "{members} members are on the {plan} plan; move them to another plan, or name the plan that replaces it, before removing it"
    )]
    PlanInUse {
        /// The plan.
        plan: PlanName,
        /// Members on it, enabled or disabled.
        members: u32,
    },
}

impl Licences {
    /// A licence count: at least [`MIN_LICENCES`] (one, for the first admin), at most
    /// [`MAX_LICENCES`].
    ///
    /// # Errors
    /// [`LicenceCountError`] outside `MIN_LICENCES..=MAX_LICENCES`.
    pub fn new(count: u32) -> Result<Self, LicenceCountError> {
        if (MIN_LICENCES..=MAX_LICENCES).contains(&count) {
            Ok(Self(count))
        } else {
            Err(LicenceCountError)
        }
    }

    /// The count.
    #[must_use]
    pub const fn count(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for Licences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The most plans an organisation may have.
pub const MAX_PLANS: usize = 20;

/// One plan's licences (rule 23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanSeats {
    /// The plan, such as `Professional`.
    pub plan: PlanName,
    /// How many members on it may be enabled at once; 0 keeps a plan that takes no one new.
    pub licences: u32,
}

/// Why a list of plans is not an organisation's seats. `field` names the entry at fault as
/// the caller sent it (`plans`, `plans[1].plan`, `plans[1].licences`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SeatsError {
    /// The field at fault.
    pub field: String,
    /// What to fix.
    pub message: String,
}

/// An organisation's licences, per plan (rules 1 and 23): at least one plan, at most
/// [`MAX_PLANS`], names distinct regardless of case, each plan's licences at most
/// [`MAX_LICENCES`] and all of them together between [`MIN_LICENCES`] and [`MAX_LICENCES`].
/// The order is the one support gave, and the one pages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Seats(Vec<PlanSeats>);

/// Which plan a member is to take could not be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanChoiceError {
    /// No plan of the organisation has this name.
    #[error("no such plan; choose one of: {choices}")]
    Unknown {
        /// The organisation's plans, comma-separated.
        choices: String,
    },
    /// The organisation has several plans and none was named.
    #[error("choose a plan: {choices}")]
    Required {
        /// The organisation's plans, comma-separated.
        choices: String,
    },
}

impl Seats {
    /// Checks a list of plans (see [`Seats`]).
    ///
    /// # Errors
    /// [`SeatsError`] naming the first entry at fault.
    pub fn new(plans: Vec<PlanSeats>) -> Result<Self, SeatsError> {
        let fail = |field: String, message: String| Err(SeatsError { field, message });
        if plans.is_empty() {
            return fail("plans".into(), "name at least one plan".into());
        }
        if plans.len() > MAX_PLANS {
            return fail("plans".into(), format!("at most {MAX_PLANS} plans"));
        }
        for (i, p) in plans.iter().enumerate() {
            let key = p.plan.as_str().to_lowercase();
            if plans[..i].iter().any(|q| q.plan.as_str().to_lowercase() == key) {
                return fail(format!("plans[{i}].plan"), format!("{} is named twice", p.plan));
            }
            if p.licences > MAX_LICENCES {
                return fail(
                    format!("plans[{i}].licences"),
                    format!("must be between 0 and {MAX_LICENCES}"),
                );
            }
        }
        let total: u64 = plans.iter().map(|p| u64::from(p.licences)).sum();
        if !(u64::from(MIN_LICENCES)..=u64::from(MAX_LICENCES)).contains(&total) {
            return fail(
                "plans".into(),
                format!(
                    "the plans' licences add up to {total}; they must add up to between {MIN_LICENCES} and {MAX_LICENCES}"
                ),
            );
        }
        Ok(Self(plans))
    }

    /// One plan holding every licence: how an organisation starts.
    #[must_use]
    pub fn single(plan: PlanName, licences: Licences) -> Self {
        Self(vec![PlanSeats { plan, licences: licences.count() }])
    }

    /// The plans, in support's order.
    #[must_use]
    pub fn plans(&self) -> &[PlanSeats] {
        &self.0
    }

    /// Every plan's licences together: how many members may be enabled at once (rule 1).
    #[must_use]
    pub fn total(&self) -> u32 {
        // `new` bounds the sum by MAX_LICENCES.
        self.0.iter().map(|p| p.licences).sum()
    }

    /// The plan named `name`, regardless of case.
    #[must_use]
    pub fn find(&self, name: &str) -> Option<&PlanSeats> {
        let name = name.trim().to_lowercase();
        self.0.iter().find(|p| p.plan.as_str().to_lowercase() == name)
    }

    /// Rule 23: the plan a new member takes, or a member moves to: the one named, or, when
    /// none is, the organisation's only plan.
    ///
    /// # Errors
    /// [`PlanChoiceError`]: no such plan, or none named among several.
    pub fn choose(&self, name: Option<&str>) -> Result<PlanName, PlanChoiceError> {
        let choices = || self.0.iter().map(|p| p.plan.as_str()).collect::<Vec<_>>().join(", ");
        match (name.map(str::trim).filter(|n| !n.is_empty()), self.0.as_slice()) {
            (Some(name), _) => self
                .find(name)
                .map(|p| p.plan.clone())
                .ok_or_else(|| PlanChoiceError::Unknown { choices: choices() }),
            (None, [only]) => Ok(only.plan.clone()),
            (None, _) => Err(PlanChoiceError::Required { choices: choices() }),
        }
    }

    /// Rules 1 and 23: one more enabled member on `plan` (a new sub-user, a re-enabled one, one
    /// moved onto it) needs a licence of that plan that no enabled member holds. Since every
    /// plan is checked so, the total holds too.
    ///
    /// # Errors
    /// [`NoFreeLicence`] when every licence of the plan is held (or the plan is gone).
    pub fn ensure_free(&self, plan: &PlanName, counts: &MemberCounts) -> Result<(), NoFreeLicence> {
        let licences = self.0.iter().find(|p| p.plan == *plan).map_or(0, |p| p.licences);
        if counts.enabled_on(plan) < licences && counts.enabled < self.total() {
            Ok(())
        } else {
            Err(NoFreeLicence { plan: plan.clone(), licences })
        }
    }

    /// Rules 1 and 23, for support changing the seats: every plan keeps at least as many
    /// licences as members enabled on it, and a plan that members are on stays.
    ///
    /// # Errors
    /// [`SeatsBelowMembers`] naming the first plan that would not hold its members.
    pub fn ensure_covers(&self, counts: &MemberCounts) -> Result<(), SeatsBelowMembers> {
        for c in &counts.plans {
            match self.0.iter().find(|p| p.plan == c.plan) {
                None if c.enabled + c.disabled > 0 => {
                    return Err(SeatsBelowMembers::PlanInUse {
                        plan: c.plan.clone(),
                        members: c.enabled + c.disabled,
                    });
                }
                Some(p) if p.licences < c.enabled => {
                    return Err(SeatsBelowMembers::Enabled {
                        plan: c.plan.clone(),
                        enabled: c.enabled,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Seats {
    /// `Professional:3,Basic:2`, for the audit log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", p.plan, p.licences)?;
        }
        Ok(())
    }
}
