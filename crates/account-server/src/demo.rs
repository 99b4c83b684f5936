//! The demo organisation seeded on a newcomer's first run (empty embedded database): an admin
//! whose login is printed once, a few sub-users, credit pools with allocations, and contact
//! addresses, so that every flow can be tried from Swagger UI at once.

use account_core::domain::credits::CreditKind;
use account_core::ports::{Page, Random};
use account_core::services::credits::ConsumeInput;
use account_core::services::operator::{NewOrganisation, NewPlanSeats, Operator};
use account_core::services::team::NewMember;
use account_core::{Accounts, Actor};

/// The demo admin's login, to print once.
#[derive(Clone)]
pub struct DemoLogin {
    /// Login email.
    pub email: String,
    /// Generated password.
    pub password: String,
}

impl std::fmt::Debug for DemoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoLogin").field("email", &self.email).finish_non_exhaustive()
    }
}

/// The demo admin's email.
pub const DEMO_ADMIN: &str = "admin@demo.example";

fn generate_password(random: &dyn Random) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    random.fill(&mut bytes);
    let chars: String =
        bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect();
    format!("demo-{}-{}-{}", &chars[..6], &chars[6..12], &chars[12..18])
}

fn step<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> Result<T, String> {
    result.map_err(|e| format!("seeding the demo ({what}): {e}"))
}

/// Seeds the demo organisation if there is no organisation at all; returns the admin's login
/// when it did.
///
/// # Errors
/// A message saying which step failed.
pub async fn seed_if_empty(
    accounts: &Accounts,
    random: &dyn Random,
) -> Result<Option<DemoLogin>, String> {
    let op = Operator::new("demo");
    let existing = step(
        "reading organisations",
        accounts.operator().list_organisations(&op, Page { after: None, limit: 1 }).await,
    )?;
    if !existing.is_empty() {
        return Ok(None);
    }
    let password = generate_password(random);
    let new = NewOrganisation {
        name: "Demo Company AB".into(),
        registration_number: "556677-8899".into(),
        plan: "Professional".into(),
        licences: 5,
        admin_first_name: "Ada".into(),
        admin_last_name: Some("Admin".into()),
        admin_email: DEMO_ADMIN.into(),
        admin_password: Some(password.clone()),
    };
    let org = step(
        "creating the organisation",
        accounts.operator().create_organisation(&op, &new).await,
    )?
    .organisation;
    let plans = [("Professional", 3), ("Basic", 2)].map(|(plan, licences)| NewPlanSeats {
        plan: plan.into(),
        licences,
        replaces: None,
    });
    step("setting the plans", accounts.operator().set_seats(&op, org.id, &plans).await)?;
    for (kind, amount) in [
        (CreditKind::Export, 5000),
        (CreditKind::DirectDial, 1000),
        (CreditKind::CallingCredits, 2000),
        (CreditKind::CallingMinutes, 600),
    ] {
        step(
            "granting credits",
            accounts.operator().grant_credits(&op, org.id, (kind, amount, "demo plan"), None).await,
        )?;
    }
    for product in ["Lead generation", "Sales training", "CRM consulting"] {
        step("adding products", accounts.operator().create_product(&op, product).await)?;
    }
    let session = step(
        "logging in",
        accounts.auth().login(DEMO_ADMIN, &password, Some("demo seeding"), None).await,
    )?;
    let admin: Actor =
        step("authenticating", accounts.auth().authenticate(&session.token).await)?.actor;

    let people = [
        ("Sam", "Seller", "sam.seller@demo.example", "Professional"),
        ("Bea", "Buyer", "bea.buyer@demo.example", "Basic"),
        ("Tom", "Tech", "tom.tech@demo.example", "Basic"),
    ];
    let mut ids = Vec::new();
    for (first, last, email, plan) in people {
        let new = NewMember {
            first_name: first.into(),
            last_name: Some(last.into()),
            email: email.into(),
            plan: Some(plan.into()),
        };
        ids.push(
            step("adding sub-users", accounts.team().add_member(&admin, &new, None).await)?
                .member
                .id,
        );
    }
    let credits = accounts.credits();
    step(
        "allocating",
        credits.allocate(&admin, ids[0], CreditKind::Export, 500, Some("demo"), None).await,
    )?;
    step(
        "allocating",
        credits.allocate(&admin, ids[0], CreditKind::DirectDial, 100, Some("demo"), None).await,
    )?;
    step(
        "allocating",
        credits.allocate(&admin, ids[1], CreditKind::Export, 300, Some("demo"), None).await,
    )?;
    step(
        "allocating",
        credits.allocate(&admin, ids[1], CreditKind::CallingMinutes, 120, Some("demo"), None).await,
    )?;
    step("disabling a member", accounts.team().disable(&admin, ids[2]).await)?;
    for (i, (kind, amount, data_type)) in
        [(CreditKind::Export, 40, "export"), (CreditKind::DirectDial, 12, "direct_dial")]
            .into_iter()
            .enumerate()
    {
        let input = ConsumeInput {
            kind: kind.as_str().into(),
            amount,
            data_type: data_type.into(),
            provider: "demo-data-provider".into(),
            event_id: format!("demo-{i}"),
        };
        step("recording usage", credits.consume(&admin, &input, None).await)?;
    }
    step("adding a contact", accounts.contacts().add(&admin, "billing@demo.example").await)?;
    step("logging out", accounts.auth().logout(&admin).await)?;
    Ok(Some(DemoLogin { email: DEMO_ADMIN.into(), password }))
}

#[cfg(test)]
mod tests {
    use account_memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn seeds_once_and_the_printed_login_works() {
        let mem = InMemory::new(11);
        let random = account_memory::SeededRandom::new(5);
        let login = seed_if_empty(&mem.accounts, &random).await.unwrap().expect("seeded");
        assert!(
            seed_if_empty(&mem.accounts, &random).await.unwrap().is_none(),
            "only on an empty database"
        );
        let session =
            mem.accounts.auth().login(&login.email, &login.password, None, None).await.unwrap();
        let admin = mem.accounts.auth().authenticate(&session.token).await.unwrap().actor;
        let summary = mem.accounts.team().summary(&admin).await.unwrap();
        assert_eq!((summary.enabled, summary.disabled, summary.licences), (3, 1, 5));
        let plans: Vec<_> = summary
            .plans
            .iter()
            .map(|p| (p.plan.as_str(), p.licences, p.enabled, p.disabled))
            .collect();
        assert_eq!(plans, [("Professional", 3, 2, 0), ("Basic", 2, 1, 1)]);
        let pools = mem.accounts.credits().overview(&admin).await.unwrap();
        assert_eq!(pools[0].total, 5000);
        assert_eq!(pools[0].allocated, 800);
        assert!(!format!("{login:?}").contains(&login.password));
    }
}
