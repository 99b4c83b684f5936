//! Test support: an organisation in memory with a logged-in admin, and helpers to add
//! members, read mails and log in.

use account_core::domain::credits::CreditKind;
use account_core::domain::mail::MailKind;
use account_core::domain::organisation::Organisation;
use account_core::ids::{MemberId, OrganisationId};
use account_core::services::operator::{NewOrganisation, NewPlanSeats, Operator, OperatorError};
use account_core::services::team::NewMember;
use account_core::{Accounts, Actor};
use account_memory::{InMemory, code_in, token_in};

pub const ADMIN_EMAIL: &str = "ada@acme.test";
pub const PASSWORD: &str = "quartz wombat ferry lantern";

/// An organisation with one logged-in admin.
pub struct World {
    pub mem: InMemory,
    pub org: OrganisationId,
    pub admin: Actor,
    pub admin_token: String,
}

pub fn op() -> Operator {
    Operator::new("test")
}

impl World {
    pub async fn new() -> Self {
        Self::with_licences(5).await
    }

    pub async fn with_licences(licences: u32) -> Self {
        let mem = InMemory::new(42);
        let org = create_org(&mem.accounts, "Acme", ADMIN_EMAIL, licences).await;
        let (admin, admin_token) = login(&mem.accounts, ADMIN_EMAIL, PASSWORD).await;
        Self { mem, org, admin, admin_token }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.mem.accounts
    }

    /// Adds a sub-user, accepts the invitation with [`PASSWORD`] and logs them in.
    pub async fn sub_user(&self, name: &str) -> (Actor, String) {
        let email = format!("{name}@acme.test");
        self.add(name, &email).await;
        self.accept(&email).await;
        login(self.accounts(), &email, PASSWORD).await
    }

    pub async fn add(&self, name: &str, email: &str) -> MemberId {
        self.add_on(name, email, None).await
    }

    /// Adds a sub-user on `plan` (the organisation's only plan when `None`).
    pub async fn add_on(&self, name: &str, email: &str, plan: Option<&str>) -> MemberId {
        let new = NewMember {
            first_name: name.to_owned(),
            last_name: None,
            email: email.to_owned(),
            plan: plan.map(str::to_owned),
        };
        self.accounts()
            .team()
            .add_member(&self.admin, &new, None)
            .await
            .expect("add member")
            .member
            .id
    }

    pub async fn accept(&self, email: &str) {
        let mail = self.mem.last_mail(MailKind::Invitation, email).await.expect("invitation mail");
        let token = token_in(&mail, "aci_").expect("token in mail");
        self.accounts()
            .auth()
            .accept_invitation(&token, PASSWORD, None)
            .await
            .expect("accept invitation");
    }

    pub async fn code(&self, kind: MailKind, to: &str) -> String {
        let mail = self.mem.last_mail(kind, to).await.expect("code mail");
        code_in(&mail).expect("code in mail")
    }

    pub async fn grant(&self, kind: CreditKind, amount: i64) {
        self.accounts()
            .operator()
            .grant_credits(&op(), self.org, (kind, amount, "test grant"), None)
            .await
            .expect("grant");
    }
}

pub async fn create_org(
    accounts: &Accounts,
    name: &str,
    admin_email: &str,
    licences: u32,
) -> OrganisationId {
    let new = NewOrganisation {
        name: name.to_owned(),
        registration_number: "556677-8899".to_owned(),
        plan: "Professional".to_owned(),
        licences,
        admin_first_name: "Ada".to_owned(),
        admin_last_name: Some("Admin".to_owned()),
        admin_email: admin_email.to_owned(),
        admin_password: Some(PASSWORD.to_owned()),
    };
    accounts.operator().create_organisation(&op(), &new).await.expect("create org").organisation.id
}

/// Support sets the organisation's plans: `(name, licences, replaces)`.
pub async fn set_seats(
    accounts: &Accounts,
    org: OrganisationId,
    plans: &[(&str, u32, Option<&str>)],
) -> Result<Organisation, OperatorError> {
    let plans: Vec<_> = plans
        .iter()
        .map(|&(plan, licences, replaces)| NewPlanSeats {
            plan: plan.to_owned(),
            licences,
            replaces: replaces.map(str::to_owned),
        })
        .collect();
    accounts.operator().set_seats(&op(), org, &plans).await
}

pub async fn login(accounts: &Accounts, email: &str, password: &str) -> (Actor, String) {
    let logged = accounts.auth().login(email, password, Some("tests"), None).await.expect("login");
    let actor = accounts.auth().authenticate(&logged.token).await.expect("authenticate").actor;
    (actor, logged.token)
}
