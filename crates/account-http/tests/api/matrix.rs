//! The authorization matrix: every operation of the OpenAPI document, called as each kind of
//! caller, against a fresh fixture, with the expected outcome class. An operation in the
//! document without a row here fails the test; so does a row for an operation that is gone.
//! `docs/security.md` carries the same table (regenerate with `UPDATE_DOCS=1`).
//!
//! The same request builders drive a second test: every operation answers 503 when the store
//! is unavailable and an opaque 500 when it fails.

use std::collections::BTreeSet;

use account_core::Actor;
use account_core::domain::credits::CreditKind;
use account_core::domain::member::Role;
use account_core::ids::{ContactId, MemberId, OrganisationId, ProductId};
use account_core::services::operator::{NewOrganisation, Operator};
use account_core::services::team::NewMember;
use chrono::Duration;
use serde_json::{Value, json};

use crate::support::{
    App, Auth, Fault, OPERATOR_TOKEN, PASSWORD, app, faulty_app, invitation_token, operations,
    reset_token,
};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    SubUser,
    Admin,
    OtherAdmin,
    Impersonating,
    Disabled,
    ApiKey,
    Operator,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::SubUser,
    Caller::Admin,
    Caller::OtherAdmin,
    Caller::Impersonating,
    Caller::Disabled,
    Caller::ApiKey,
    Caller::Operator,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::SubUser => "sub-user",
            Self::Admin => "admin",
            Self::OtherAdmin => "admin of another org",
            Self::Impersonating => "admin impersonating",
            Self::Disabled => "disabled member",
            Self::ApiKey => "API key",
            Self::Operator => "operator",
        }
    }
}

/// The outcome class of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Allowed: a 2xx.
    A,
    /// 401: not authenticated (no, wrong, revoked or another kind of credential).
    U,
    /// 403: authenticated, not allowed.
    F,
    /// 404: the resource belongs to another organisation and reads as absent.
    N,
    /// 409: allowed to call, refused by the state (nesting an impersonation, stopping one
    /// that is not running).
    C,
}

impl Outcome {
    fn matches(self, status: u16) -> bool {
        match self {
            Self::A => (200..300).contains(&status),
            Self::U => status == 401,
            Self::F => status == 403,
            Self::N => status == 404,
            Self::C => status == 409,
        }
    }

    fn cell(self) -> &'static str {
        match self {
            Self::A => "ok",
            Self::U => "401",
            Self::F => "403",
            Self::N => "404",
            Self::C => "409",
        }
    }
}

use Outcome::{A, C, F, N, U};

/// Columns: anonymous, sub-user, admin, admin of another org, admin impersonating the
/// sub-user, disabled member, API key (of the sub-user), operator.
const MATRIX: &[(&str, [Outcome; 8])] = &[
    // auth
    ("login", [A, A, A, A, A, F, A, A]),
    ("logout", [U, A, A, A, A, U, U, U]),
    ("listSessions", [U, A, A, A, A, U, U, U]),
    ("revokeSession", [U, A, A, A, F, U, U, U]),
    ("revokeOtherSessions", [U, A, A, A, F, U, U, U]),
    ("acceptInvitation", [A, A, A, A, A, A, A, A]),
    ("requestPasswordReset", [A, A, A, A, A, A, A, A]),
    ("completePasswordReset", [A, A, A, A, A, A, A, A]),
    // me
    ("getMe", [U, A, A, A, A, U, U, U]),
    ("getMyProfile", [U, A, A, A, A, U, U, U]),
    ("saveMyProfile", [U, A, A, A, A, U, U, U]),
    ("getMyPreferences", [U, A, A, A, A, U, U, U]),
    ("setMyPreferences", [U, A, A, A, A, U, U, U]),
    ("getMyOfferings", [U, A, A, A, A, U, U, U]),
    ("setMyOfferings", [U, A, A, A, A, U, U, U]),
    ("listCatalogue", [U, A, A, A, A, U, U, U]),
    ("changePassword", [U, A, A, A, F, U, U, U]),
    ("getEmailChange", [U, A, A, A, A, U, U, U]),
    ("startEmailChange", [U, A, A, A, F, U, U, U]),
    ("cancelEmailChange", [U, A, A, A, F, U, U, U]),
    ("confirmCurrentEmailCode", [U, A, A, A, F, U, U, U]),
    ("submitNewEmail", [U, A, A, A, F, U, U, U]),
    ("confirmNewEmailCode", [U, A, A, A, F, U, U, U]),
    ("resendEmailChangeCode", [U, A, A, A, F, U, U, U]),
    ("deleteMyAccount", [U, A, A, A, F, U, U, U]),
    ("listMyApiKeys", [U, A, A, A, F, U, U, U]),
    ("createApiKey", [U, A, A, A, F, U, U, U]),
    ("rotateApiKey", [U, A, A, A, F, U, U, U]),
    ("revokeApiKey", [U, A, A, A, F, U, U, U]),
    ("getMyCredits", [U, A, A, A, A, U, U, U]),
    ("getMyUsage", [U, A, A, A, A, U, U, U]),
    // A member's own data, never through an impersonation (as deleting the account).
    ("exportMyData", [U, A, A, A, F, U, U, U]),
    // team
    ("getTeamSummary", [U, F, A, A, F, U, U, U]),
    ("getTeamCredits", [U, F, A, A, F, U, U, U]),
    ("listMembers", [U, F, A, A, F, U, U, U]),
    ("addMember", [U, F, A, A, F, U, U, U]),
    ("getMember", [U, F, A, N, F, U, U, U]),
    ("resendInvitation", [U, F, A, N, F, U, U, U]),
    ("sendMemberPasswordReset", [U, F, A, N, F, U, U, U]),
    ("getMemberProfile", [U, F, A, N, F, U, U, U]),
    ("editMemberProfile", [U, F, A, N, F, U, U, U]),
    ("disableMember", [U, F, A, N, F, U, U, U]),
    ("enableMember", [U, F, A, N, F, U, U, U]),
    ("setMemberRole", [U, F, A, N, F, U, U, U]),
    ("setMemberPlan", [U, F, A, N, F, U, U, U]),
    ("allocateCredits", [U, F, A, N, F, U, U, U]),
    ("reclaimCredits", [U, F, A, N, F, U, U, U]),
    ("listMemberApiKeys", [U, F, A, N, F, U, U, U]),
    ("revokeMemberApiKey", [U, F, A, N, F, U, U, U]),
    // A sub-user may read their own usage through the member route too (the use case's rule).
    ("getMemberUsage", [U, A, A, N, A, U, U, U]),
    ("getTeamUsage", [U, F, A, A, F, U, U, U]),
    ("listLedger", [U, F, A, A, F, U, U, U]),
    ("listAuditLog", [U, F, A, A, F, U, U, U]),
    // impersonation
    ("startImpersonation", [U, F, A, N, C, U, U, U]),
    ("stopImpersonation", [U, C, C, C, A, U, U, U]),
    // organisation
    ("getOrganisation", [U, F, A, A, F, U, U, U]),
    ("getCustomerInfo", [U, F, A, A, F, U, U, U]),
    ("saveCustomerInfo", [U, F, A, A, F, U, U, U]),
    ("listContacts", [U, F, A, A, F, U, U, U]),
    ("addContact", [U, F, A, A, F, U, U, U]),
    ("verifyContact", [U, F, A, N, F, U, U, U]),
    ("resendContactCode", [U, F, A, N, F, U, U, U]),
    ("setContactRoles", [U, F, A, N, F, U, U, U]),
    ("removeContact", [U, F, A, N, F, U, U, U]),
    // integrations
    ("recordConsumption", [U, U, U, U, U, U, A, U]),
    ("getIntegrationUsage", [U, U, U, U, U, U, A, U]),
    // operator
    ("createOrganisation", [U, U, U, U, U, U, U, A]),
    ("listOrganisations", [U, U, U, U, U, U, U, A]),
    ("getOrganisationDetail", [U, U, U, U, U, U, U, A]),
    ("setSeats", [U, U, U, U, U, U, U, A]),
    ("changeRegistrationNumber", [U, U, U, U, U, U, U, A]),
    ("grantCredits", [U, U, U, U, U, U, U, A]),
    ("expireCredits", [U, U, U, U, U, U, U, A]),
    ("findMember", [U, U, U, U, U, U, U, A]),
    ("renameUsername", [U, U, U, U, U, U, U, A]),
    ("sendPasswordResetAsOperator", [U, U, U, U, U, U, U, A]),
    ("listMemberApiKeysAsOperator", [U, U, U, U, U, U, U, A]),
    ("rotateApiKeyAsOperator", [U, U, U, U, U, U, U, A]),
    ("revokeApiKeyAsOperator", [U, U, U, U, U, U, U, A]),
    ("listProducts", [U, U, U, U, U, U, U, A]),
    ("createProduct", [U, U, U, U, U, U, U, A]),
    ("updateProduct", [U, U, U, U, U, U, U, A]),
    ("listPendingMail", [U, U, U, U, U, U, U, A]),
    ("runDueDigests", [U, U, U, U, U, U, U, A]),
    // system
    ("health", [A, A, A, A, A, A, A, A]),
];

/// One member of the fixture.
#[derive(Debug, Clone)]
struct Who {
    id: MemberId,
    email: String,
    token: String,
}

/// Two organisations: Acme (admins Ada and Al, sub-user Sam with an API key and an export
/// allocation, disabled Dave, invited Tina, an unverified contact address) and Beta (admins
/// Bob and Bea); Ada impersonates Sam.
struct Fixture {
    app: App,
    org_a: OrganisationId,
    ada: Who,
    sam: Who,
    sam_key: String,
    sam_key_id: String,
    dave: Who,
    tina: MemberId,
    tina_invitation: String,
    bob: Who,
    imp_token: String,
    sole_contact: ContactId,
    extra_contact: ContactId,
    extra_code: String,
    product: ProductId,
}

async fn actor(app: &App, token: &str) -> Actor {
    app.accounts.auth().authenticate(token).await.unwrap().actor
}

async fn org(app: &App, op: &Operator, name: &str, email: &str) -> (OrganisationId, Who) {
    let created = app
        .accounts
        .operator()
        .create_organisation(
            op,
            &NewOrganisation {
                name: name.into(),
                registration_number: "556677-8899".into(),
                plan: "Pro".into(),
                licences: 10,
                admin_first_name: "Admin".into(),
                admin_last_name: None,
                admin_email: email.into(),
                admin_password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    let token = app.accounts.auth().login(email, PASSWORD, None, None).await.unwrap().token;
    (created.organisation.id, Who { id: created.admin.id, email: email.into(), token })
}

/// Adds a member; accepts the invitation and logs in unless `pending`.
async fn member(app: &App, admin: &Actor, email: &str, pending: bool) -> (Who, String) {
    let mark = app.mark().await;
    let m = app
        .accounts
        .team()
        .add_member(
            admin,
            &NewMember {
                first_name: "Member".into(),
                last_name: None,
                email: email.into(),
                plan: None,
            },
            None,
        )
        .await
        .unwrap()
        .member;
    let invitation = invitation_token(&app.mail_to(email, &mark).await);
    if pending {
        return (Who { id: m.id, email: email.into(), token: String::new() }, invitation);
    }
    app.accounts.auth().accept_invitation(&invitation, PASSWORD, None).await.unwrap();
    let token = app.accounts.auth().login(email, PASSWORD, None, None).await.unwrap().token;
    (Who { id: m.id, email: email.into(), token }, String::new())
}

async fn fixture(app: App) -> Fixture {
    let op = Operator::new("fixture");
    let (org_a, ada) = org(&app, &op, "Acme", "ada@acme.test").await;
    let ada_actor = actor(&app, &ada.token).await;
    let (al, _) = member(&app, &ada_actor, "al@acme.test", false).await;
    app.accounts.team().set_role(&ada_actor, al.id, Role::Admin).await.unwrap();
    let (sam, _) = member(&app, &ada_actor, "sam@acme.test", false).await;
    let sam_actor = actor(&app, &sam.token).await;
    let key = app.accounts.api_keys().create(&sam_actor, Some("matrix")).await.unwrap();
    let (dave, _) = member(&app, &ada_actor, "dave@acme.test", false).await;
    app.accounts.team().disable(&ada_actor, dave.id).await.unwrap();
    let (tina, tina_invitation) = member(&app, &ada_actor, "tina@acme.test", true).await;
    app.accounts
        .operator()
        .grant_credits(&op, org_a, (CreditKind::Export, 1000, "fixture"), None)
        .await
        .unwrap();
    app.accounts
        .credits()
        .allocate(&ada_actor, sam.id, CreditKind::Export, 100, None, None)
        .await
        .unwrap();
    let sole_contact = app.accounts.contacts().list(&ada_actor).await.unwrap()[0].id;
    let mark = app.mark().await;
    let extra = app.accounts.contacts().add(&ada_actor, "extra@acme.test").await.unwrap();
    let extra_code = app.code_to("extra@acme.test", &mark).await;
    let product = app.accounts.operator().create_product(&op, "Lead Generation").await.unwrap();

    let (_, bob) = org(&app, &op, "Beta", "bob@beta.test").await;
    let bob_actor = actor(&app, &bob.token).await;
    let (bea, _) = member(&app, &bob_actor, "bea@beta.test", false).await;
    app.accounts.team().set_role(&bob_actor, bea.id, Role::Admin).await.unwrap();

    let imp = app.accounts.impersonation().start(&ada_actor, sam.id, "matrix").await.unwrap();
    Fixture {
        app,
        org_a,
        ada,
        sam,
        sam_key: key.secret,
        sam_key_id: key.key.id.to_string(),
        dave,
        tina: tina.id,
        tina_invitation,
        bob,
        imp_token: imp.token,
        sole_contact,
        extra_contact: extra.id,
        extra_code,
        product: product.id,
    }
}

impl Fixture {
    fn auth(&self, caller: Caller) -> Auth {
        match caller {
            Caller::Anonymous => Auth::None,
            Caller::SubUser => Auth::bearer(&self.sam.token),
            Caller::Admin => Auth::bearer(&self.ada.token),
            Caller::OtherAdmin => Auth::bearer(&self.bob.token),
            Caller::Impersonating => Auth::bearer(&self.imp_token),
            Caller::Disabled => Auth::bearer(&self.dave.token),
            Caller::ApiKey => Auth::Key(self.sam_key.clone()),
            Caller::Operator => Auth::bearer(OPERATOR_TOKEN),
        }
    }

    /// The member whose own account `/me` operations touch: under an impersonation, the
    /// sub-user; for callers without a session, Sam (their calls are refused anyway).
    fn own(&self, caller: Caller) -> &Who {
        match caller {
            Caller::Admin => &self.ada,
            Caller::OtherAdmin => &self.bob,
            Caller::Disabled => &self.dave,
            Caller::Anonymous
            | Caller::SubUser
            | Caller::Impersonating
            | Caller::ApiKey
            | Caller::Operator => &self.sam,
        }
    }

    /// The own member's actor, from their own session (setup steps run as the member).
    async fn own_actor(&self, caller: Caller) -> Option<Actor> {
        let own = self.own(caller);
        self.app.accounts.auth().authenticate(&own.token).await.ok().map(|a| a.actor)
    }

    /// Starts an email change for the own member and returns the code sent to `to`.
    async fn start_email_change(&self, caller: Caller) -> Option<String> {
        let actor = self.own_actor(caller).await?;
        let mark = self.app.mark().await;
        self.app.accounts.email_change().start(&actor).await.ok()?;
        Some(self.app.code_to(&self.own(caller).email, &mark).await)
    }

    async fn email_change_at_new_code(&self, caller: Caller) -> Option<String> {
        let code = self.start_email_change(caller).await?;
        let actor = self.own_actor(caller).await?;
        self.app.accounts.email_change().confirm_current(&actor, &code).await.ok()?;
        let mark = self.app.mark().await;
        self.app
            .accounts
            .email_change()
            .submit_new(&actor, "fresh@new.test", "fresh@new.test")
            .await
            .ok()?;
        Some(self.app.code_to("fresh@new.test", &mark).await)
    }

    /// An API key of the own member (Sam's for callers without a session).
    async fn own_key_id(&self, caller: Caller) -> String {
        match caller {
            Caller::Admin | Caller::OtherAdmin => {
                let actor = self.own_actor(caller).await.unwrap();
                self.app.accounts.api_keys().create(&actor, None).await.unwrap().key.id.to_string()
            }
            _ => self.sam_key_id.clone(),
        }
    }
}

/// A request to make.
struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<Value>,
}

fn req(method: &'static str, path: impl Into<String>) -> Req {
    Req { method, path: format!("/api/v1{}", path.into()), headers: Vec::new(), body: None }
}

impl Req {
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn if_match(mut self, etag: &'static str) -> Self {
        self.headers.push(("If-Match", etag));
        self
    }
}

const PERIOD: &str = "from=2026-01-01&to=2026-01-31";

/// The request for `op` as `caller`, after any setup it needs (run as the resource's owner).
async fn request(fx: &Fixture, op: &str, caller: Caller) -> Req {
    let sam = fx.sam.id;
    let org = fx.org_a;
    match op {
        "login" => req("POST", "/auth/login").body(json!({"email": fx.own(caller).email, "password": PASSWORD})),
        "logout" => req("POST", "/auth/logout"),
        "listSessions" => req("GET", "/auth/sessions"),
        "revokeSession" => {
            let own = fx.own(caller);
            let extra = fx.app.accounts.auth().login(&own.email, PASSWORD, None, None).await;
            let id = extra.map_or_else(|_| uuid::Uuid::nil().to_string(), |l| l.session.id.to_string());
            req("DELETE", format!("/auth/sessions/{id}"))
        }
        "revokeOtherSessions" => req("POST", "/auth/sessions/revoke-others"),
        "acceptInvitation" => {
            req("POST", "/auth/invitation").body(json!({"token": fx.tina_invitation, "password": PASSWORD}))
        }
        "requestPasswordReset" => req("POST", "/auth/password-reset").body(json!({"email": "sam@acme.test"})),
        "completePasswordReset" => {
            let mark = fx.app.mark().await;
            fx.app.accounts.password_reset().request("sam@acme.test", None).await.unwrap();
            let token = reset_token(&fx.app.mail_to("sam@acme.test", &mark).await);
            req("POST", "/auth/password-reset/complete")
                .body(json!({"token": token, "password": "a brand new passphrase"}))
        }
        "getMe" => req("GET", "/me"),
        "getMyProfile" => req("GET", "/me/profile"),
        "saveMyProfile" => req("PUT", "/me/profile").if_match("\"1\"").body(json!({"first_name": "Renamed"})),
        "getMyPreferences" => req("GET", "/me/preferences"),
        "setMyPreferences" => req("PUT", "/me/preferences").body(json!({
            "notifications": {"low_credit_alerts": true, "weekly_usage_digest": true, "product_news": false},
            "export": {"format": "xlsx", "include_emails": true, "include_phone_numbers": false},
            "timezone": "Europe/Stockholm",
        })),
        "getMyOfferings" => req("GET", "/me/offerings"),
        "setMyOfferings" => req("PUT", "/me/offerings").body(json!({"offerings": [{"text": "Consulting"}]})),
        "listCatalogue" => req("GET", "/catalogue/products"),
        "changePassword" => req("PUT", "/me/password")
            .body(json!({"current_password": PASSWORD, "new_password": "another long passphrase"})),
        "getEmailChange" => {
            fx.start_email_change(caller).await;
            req("GET", "/me/email-change")
        }
        "startEmailChange" => req("POST", "/me/email-change"),
        "cancelEmailChange" => {
            fx.start_email_change(caller).await;
            req("DELETE", "/me/email-change")
        }
        "confirmCurrentEmailCode" => {
            let code = fx.start_email_change(caller).await.unwrap_or_default();
            req("POST", "/me/email-change/current-code").body(json!({"code": code}))
        }
        "submitNewEmail" => {
            if let (Some(code), Some(actor)) = (fx.start_email_change(caller).await, fx.own_actor(caller).await) {
                fx.app.accounts.email_change().confirm_current(&actor, &code).await.unwrap();
            }
            req("POST", "/me/email-change/new-address")
                .body(json!({"new_email": "fresh@new.test", "new_email_repeat": "fresh@new.test"}))
        }
        "confirmNewEmailCode" => {
            let code = fx.email_change_at_new_code(caller).await.unwrap_or_default();
            req("POST", "/me/email-change/new-code").body(json!({"code": code}))
        }
        "resendEmailChangeCode" => {
            fx.start_email_change(caller).await;
            fx.app.clock.advance(Duration::seconds(61));
            req("POST", "/me/email-change/resend")
        }
        "deleteMyAccount" => req("POST", "/me/deletion").body(json!({"password": PASSWORD})),
        "listMyApiKeys" => req("GET", "/me/api-keys"),
        "createApiKey" => req("POST", "/me/api-keys").body(json!({"label": "new"})),
        "rotateApiKey" => req("POST", format!("/me/api-keys/{}/rotate", fx.own_key_id(caller).await)),
        "revokeApiKey" => req("DELETE", format!("/me/api-keys/{}", fx.own_key_id(caller).await)),
        "getMyCredits" => req("GET", "/me/credits"),
        "getMyUsage" => req("GET", format!("/me/usage?{PERIOD}")),
        "exportMyData" => req("GET", "/me/export"),
        "getTeamSummary" => req("GET", "/team/summary"),
        "getTeamCredits" => req("GET", "/team/credits"),
        "listMembers" => req("GET", "/team/members"),
        "addMember" => req("POST", "/team/members").body(json!({"first_name": "Newbie", "email": "newbie@corp.test"})),
        "getMember" => req("GET", format!("/team/members/{sam}")),
        "resendInvitation" => req("POST", format!("/team/members/{}/invitation", fx.tina)),
        "sendMemberPasswordReset" => req("POST", format!("/team/members/{sam}/password-reset")),
        "getMemberProfile" => req("GET", format!("/team/members/{sam}/profile")),
        "editMemberProfile" => {
            req("PUT", format!("/team/members/{sam}/profile")).if_match("\"1\"").body(json!({"first_name": "Samuel"}))
        }
        "disableMember" => req("POST", format!("/team/members/{sam}/disable")),
        "enableMember" => req("POST", format!("/team/members/{}/enable", fx.dave.id)),
        "setMemberRole" => req("PUT", format!("/team/members/{sam}/role")).body(json!({"role": "sub_user"})),
        "setMemberPlan" => req("PUT", format!("/team/members/{sam}/plan")).body(json!({"plan": "Pro"})),
        "allocateCredits" => {
            req("POST", format!("/team/members/{sam}/allocations")).body(json!({"kind": "export", "amount": 1}))
        }
        "reclaimCredits" => {
            req("POST", format!("/team/members/{sam}/reclaims")).body(json!({"kind": "export", "amount": 1}))
        }
        "listMemberApiKeys" => req("GET", format!("/team/members/{sam}/api-keys")),
        "revokeMemberApiKey" => req("DELETE", format!("/team/members/{sam}/api-keys/{}", fx.sam_key_id)),
        "getMemberUsage" => req("GET", format!("/team/members/{sam}/usage?{PERIOD}")),
        "getTeamUsage" => req("GET", format!("/team/usage?{PERIOD}")),
        "listLedger" => req("GET", "/team/ledger"),
        "listAuditLog" => req("GET", "/team/audit-log"),
        "startImpersonation" => {
            req("POST", format!("/team/members/{sam}/impersonation")).body(json!({"reason": "matrix"}))
        }
        "stopImpersonation" => req("DELETE", "/impersonation"),
        "getOrganisation" => req("GET", "/organisation"),
        "getCustomerInfo" => req("GET", "/organisation/customer-info"),
        "saveCustomerInfo" => {
            req("PUT", "/organisation/customer-info").if_match("\"1\"").body(json!({"company_name": "Corp AB"}))
        }
        "listContacts" => req("GET", "/organisation/contacts"),
        "addContact" => req("POST", "/organisation/contacts").body(json!({"email": "billing@corp.test"})),
        "verifyContact" => req("POST", format!("/organisation/contacts/{}/verify", fx.extra_contact))
            .body(json!({"code": fx.extra_code})),
        "resendContactCode" => {
            fx.app.clock.advance(Duration::seconds(61));
            req("POST", format!("/organisation/contacts/{}/resend-code", fx.extra_contact))
        }
        "setContactRoles" => req("PUT", format!("/organisation/contacts/{}/roles", fx.sole_contact))
            .body(json!({"roles": ["billing", "tech", "dpo"]})),
        "removeContact" => req("DELETE", format!("/organisation/contacts/{}", fx.extra_contact)),
        "recordConsumption" => req("POST", "/integrations/consumptions").body(json!({
            "kind": "export", "amount": 1, "data_type": "email", "provider": "apollo", "event_id": "matrix-1",
        })),
        "getIntegrationUsage" => req("GET", format!("/integrations/usage?{PERIOD}")),
        "createOrganisation" => req("POST", "/operator/organisations").body(json!({
            "name": "Gamma", "registration_number": "112233-4455", "plan": "Pro", "licences": 3,
            "admin_first_name": "Gina", "admin_email": "gina@gamma.test",
        })),
        "listOrganisations" => req("GET", "/operator/organisations"),
        "getOrganisationDetail" => req("GET", format!("/operator/organisations/{org}")),
        "setSeats" => req("PUT", format!("/operator/organisations/{org}/seats"))
            .body(json!({"plans": [{"plan": "Pro", "licences": 20}]})),
        "changeRegistrationNumber" => req("PUT", format!("/operator/organisations/{org}/registration-number"))
            .body(json!({"registration_number": "998877-6655"})),
        "grantCredits" => req("POST", format!("/operator/organisations/{org}/grants"))
            .body(json!({"kind": "calling_minutes", "amount": 60, "reason": "invoice"})),
        "expireCredits" => req("POST", format!("/operator/organisations/{org}/expiries"))
            .body(json!({"kind": "export", "amount": 1, "reason": "end of term"})),
        "findMember" => req("POST", "/operator/members/lookup").body(json!({"query": "sam@acme.test"})),
        "renameUsername" => req("PUT", format!("/operator/members/{sam}/username")).body(json!({"username": "sammy"})),
        "sendPasswordResetAsOperator" => req("POST", format!("/operator/members/{sam}/password-reset")),
        "listMemberApiKeysAsOperator" => req("GET", format!("/operator/members/{sam}/api-keys")),
        "rotateApiKeyAsOperator" => req("POST", format!("/operator/api-keys/{}/rotate", fx.sam_key_id)),
        "revokeApiKeyAsOperator" => req("DELETE", format!("/operator/api-keys/{}", fx.sam_key_id)),
        "listProducts" => req("GET", "/operator/products"),
        "createProduct" => req("POST", "/operator/products").body(json!({"name": "Data Enrichment"})),
        "updateProduct" => {
            req("PATCH", format!("/operator/products/{}", fx.product)).body(json!({"name": "Lead Gen", "active": false}))
        }
        "listPendingMail" => req("GET", "/operator/outbox"),
        "runDueDigests" => req("POST", "/operator/digests/run").body(json!({"limit": 10})),
        "health" => req("GET", "/health"),
        other => panic!("no request builder for operation {other}: add one to matrix.rs"),
    }
}

async fn call(fx: &Fixture, op: &str, caller: Caller) -> crate::support::Resp {
    let r = request(fx, op, caller).await;
    let headers: Vec<(&str, &str)> = r.headers.clone();
    fx.app.send(r.method, &r.path, &fx.auth(caller), &headers, r.body.as_ref()).await
}

fn operation_ids() -> BTreeSet<String> {
    operations().iter().map(|o| o.id.clone()).collect()
}

#[test]
fn every_operation_has_a_row_and_every_row_an_operation() {
    let in_doc = operation_ids();
    let in_table: BTreeSet<String> = MATRIX.iter().map(|(op, _)| (*op).to_owned()).collect();
    let missing: Vec<_> = in_doc.difference(&in_table).collect();
    let stale: Vec<_> = in_table.difference(&in_doc).collect();
    assert!(
        missing.is_empty(),
        "operations without a row in the authorization matrix: {missing:?}"
    );
    assert!(stale.is_empty(), "rows for operations that are not in the document: {stale:?}");
    assert_eq!(in_table.len(), MATRIX.len(), "duplicate rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix() {
    // One task per operation; each cell on a fresh fixture.
    let mut tasks = tokio::task::JoinSet::new();
    for (op, expected) in MATRIX {
        tasks.spawn(async move {
            let mut failures = Vec::new();
            for (caller, outcome) in CALLERS.iter().zip(expected) {
                let fx = fixture(app()).await;
                let resp = call(&fx, op, *caller).await;
                if !outcome.matches(resp.status) {
                    failures.push(format!(
                        "{op} as {}: expected {}, got {} {}",
                        caller.label(),
                        outcome.cell(),
                        resp.status,
                        resp.text
                    ));
                }
            }
            (CALLERS.len(), failures)
        });
    }
    let mut failures = Vec::new();
    let mut cells = 0;
    while let Some(done) = tasks.join_next().await {
        let (n, f) = done.unwrap();
        cells += n;
        failures.extend(f);
    }
    assert_eq!(cells, operation_ids().len() * CALLERS.len());
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The first caller allowed to call `op`.
fn allowed_caller(op: &str) -> Caller {
    let (_, row) = MATRIX.iter().find(|(o, _)| *o == op).unwrap();
    CALLERS.iter().zip(row).find(|(_, o)| **o == A).map(|(c, _)| *c).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_503_when_the_store_is_down_and_an_opaque_500_when_it_fails() {
    let mut tasks = tokio::task::JoinSet::new();
    for (op, _) in MATRIX {
        tasks.spawn(async move {
            let mut failures = Vec::new();
            for (fault, status, slug) in
                [(Fault::Unavailable, 503, "unavailable"), (Fault::Broken, 500, "internal-error")]
            {
                let fx = fixture(faulty_app()).await;
                let caller = allowed_caller(op);
                let r = request(&fx, op, caller).await;
                fx.app.faults.as_ref().unwrap().set(fault);
                let headers: Vec<(&str, &str)> = r.headers.clone();
                let resp = fx
                    .app
                    .send(r.method, &r.path, &fx.auth(caller), &headers, r.body.as_ref())
                    .await;
                if resp.status != status
                    || resp.slug() != slug
                    || resp.text.contains("disk on fire")
                {
                    failures.push(format!(
                        "{op}: expected {status} {slug}, got {} {}",
                        resp.status, resp.text
                    ));
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        failures.extend(done.unwrap());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A malformed variant of an operation's request: what, content type, body, path, and the
/// expected status and problem slug.
type Case = (&'static str, Option<&'static str>, Vec<u8>, String, u16, &'static str);

/// Replaces the first path segment that is an id with `not-a-uuid`.
fn with_bad_id(path: &str) -> Option<String> {
    let mut segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    let at = segments.iter().position(|s| uuid::Uuid::parse_str(s).is_ok())?;
    segments[at] = "not-a-uuid".to_owned();
    Some(segments.join("/"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_malformed_input_with_a_problem() {
    let mut tasks = tokio::task::JoinSet::new();
    for (op, _) in MATRIX {
        tasks.spawn(async move {
            let mut failures = Vec::new();
            let doc = operations().iter().find(|o| o.id == *op).unwrap();
            let caller = allowed_caller(op);
            let fx = fixture(app()).await;
            let r = request(&fx, op, caller).await;
            let auth = fx.auth(caller);
            let mut cases: Vec<Case> = Vec::new();
            if doc.has_body {
                let json = Some("application/json");
                cases.push((
                    "broken JSON",
                    json,
                    b"{\"oops\"".to_vec(),
                    r.path.clone(),
                    400,
                    "malformed-request",
                ));
                cases.push((
                    "a JSON array",
                    json,
                    b"[1, 2]".to_vec(),
                    r.path.clone(),
                    400,
                    "malformed-request",
                ));
                let valid = serde_json::to_vec(r.body.as_ref().unwrap()).unwrap();
                cases.push((
                    "no content type",
                    None,
                    valid.clone(),
                    r.path.clone(),
                    415,
                    "unsupported-media-type",
                ));
                cases.push((
                    "text/plain",
                    Some("text/plain"),
                    valid,
                    r.path.clone(),
                    415,
                    "unsupported-media-type",
                ));
                let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024)).into_bytes();
                cases.push((
                    "an oversized body",
                    json,
                    big,
                    r.path.clone(),
                    413,
                    "payload-too-large",
                ));
            }
            if let Some(bad) = with_bad_id(&r.path) {
                let body =
                    r.body.as_ref().map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
                let ct = r.body.as_ref().map(|_| "application/json");
                cases.push(("a malformed id", ct, body, bad, 400, "malformed-request"));
            }
            if doc.statuses.contains(&400)
                && r.method == "GET"
                && op.starts_with("list")
                && *op != "listPendingMail"
            {
                let sep = if r.path.contains('?') { '&' } else { '?' };
                cases.push((
                    "a foreign cursor",
                    None,
                    Vec::new(),
                    format!("{}{sep}cursor=6e6f3a31", r.path),
                    400,
                    "malformed-request",
                ));
                cases.push((
                    "limit=0",
                    None,
                    Vec::new(),
                    format!("{}{sep}limit=0", r.path),
                    400,
                    "malformed-request",
                ));
            }
            for (what, ct, body, path, status, slug) in cases {
                let resp = fx.app.send_raw(r.method, &path, &auth, &r.headers, ct, body).await;
                if resp.status != status || resp.slug() != slug {
                    failures.push(format!(
                        "{op} with {what}: expected {status} {slug}, got {} {}",
                        resp.status, resp.text
                    ));
                }
            }
            failures
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        failures.extend(done.unwrap());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The matrix as a markdown table.
fn matrix_markdown() -> String {
    let mut out = String::new();
    out.push_str("| operation | method and path |");
    for c in CALLERS {
        out.push_str(&format!(" {} |", c.label()));
    }
    out.push('\n');
    out.push_str("| --- | --- |");
    for _ in CALLERS {
        out.push_str(" --- |");
    }
    out.push('\n');
    for (op, row) in MATRIX {
        let o = operations().iter().find(|o| o.id == *op).unwrap();
        out.push_str(&format!("| `{op}` | `{} {}` |", o.method, o.path));
        for outcome in row {
            out.push_str(&format!(" {} |", outcome.cell()));
        }
        out.push('\n');
    }
    out
}

#[test]
fn docs_security_carries_the_same_matrix() {
    crate::support::sync_doc_section("security.md", "matrix", &matrix_markdown());
}
