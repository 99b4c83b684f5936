//! Rule 15: contact addresses and their billing, tech and DPO roles.

use account_core::Denied;
use account_core::domain::contact::ContactRole;
use account_core::domain::mail::MailKind;
use account_core::domain::verification::CodeError;
use account_core::services::contacts::ContactError;

use crate::support::{ADMIN_EMAIL, World};

#[tokio::test]
async fn rule_15_the_sole_address_holds_every_role_and_cannot_lose_one() {
    let w = World::new().await;
    let contacts = w.accounts().contacts();
    let list = contacts.list(&w.admin).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].email.as_str(), ADMIN_EMAIL);
    assert!(list[0].is_verified());
    assert_eq!(list[0].roles.roles(), ContactRole::ALL);
    let r =
        contacts.set_roles(&w.admin, list[0].id, &[ContactRole::Billing, ContactRole::Tech]).await;
    assert!(
        matches!(&r, Err(ContactError::RolesUnheld { roles }) if roles == &[ContactRole::Dpo]),
        "{r:?}"
    );
    assert_eq!(r.unwrap_err().to_string(), "no other verified address holds the role(s): dpo");
    let r = contacts.remove(&w.admin, list[0].id).await;
    assert!(matches!(&r, Err(ContactError::RolesUnheld { roles }) if roles.len() == 3), "{r:?}");
}

#[tokio::test]
async fn rule_15_a_new_address_is_verified_by_code_before_it_can_hold_a_role() {
    let w = World::new().await;
    let contacts = w.accounts().contacts();
    let added = contacts.add(&w.admin, "dpo@acme.test").await.unwrap();
    assert!(!added.is_verified());
    let r = contacts.set_roles(&w.admin, added.id, &[ContactRole::Dpo]).await;
    assert!(matches!(r, Err(ContactError::NotVerified)), "{r:?}");
    let code = w.code(MailKind::ContactVerification, "dpo@acme.test").await;
    let wrong = if code == "123456" { "654321" } else { "123456" };
    assert!(matches!(
        contacts.verify(&w.admin, added.id, wrong).await,
        Err(ContactError::Code(CodeError::Wrong { tries_left: 4 }))
    ));
    contacts.verify(&w.admin, added.id, &code).await.unwrap();
    assert!(matches!(
        contacts.verify(&w.admin, added.id, &code).await,
        Err(ContactError::AlreadyVerified)
    ));
    contacts.set_roles(&w.admin, added.id, &[ContactRole::Dpo]).await.unwrap();

    // Now the first address may drop DPO, but not billing or tech.
    let first = contacts
        .list(&w.admin)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.email.as_str() == ADMIN_EMAIL)
        .unwrap();
    contacts
        .set_roles(&w.admin, first.id, &[ContactRole::Billing, ContactRole::Tech])
        .await
        .unwrap();
    // Removing the DPO address would leave DPO unheld.
    let r = contacts.remove(&w.admin, added.id).await;
    assert!(
        matches!(&r, Err(ContactError::RolesUnheld { roles }) if roles == &[ContactRole::Dpo]),
        "{r:?}"
    );
    contacts.set_roles(&w.admin, first.id, &ContactRole::ALL).await.unwrap();
    contacts.remove(&w.admin, added.id).await.unwrap();
    assert_eq!(contacts.list(&w.admin).await.unwrap().len(), 1);
}

#[tokio::test]
async fn rule_15_unverified_addresses_can_go_and_duplicates_are_refused() {
    let w = World::new().await;
    let contacts = w.accounts().contacts();
    let added = contacts.add(&w.admin, "billing@acme.test").await.unwrap();
    assert!(matches!(
        contacts.add(&w.admin, "BILLING@acme.test").await,
        Err(ContactError::AlreadyExists)
    ));
    assert!(matches!(contacts.add(&w.admin, "nope").await, Err(ContactError::Validation(_))));
    contacts.remove(&w.admin, added.id).await.unwrap();
    let (sam, _) = w.sub_user("sam").await;
    assert!(matches!(contacts.list(&sam).await, Err(ContactError::Denied(Denied::NotAdmin))));
}

#[tokio::test]
async fn rule_15_the_code_mail_names_the_organisation_but_not_its_number() {
    let w = World::new().await;
    let contacts = w.accounts().contacts();
    let added = contacts.add(&w.admin, "dpo@acme.test").await.unwrap();
    let first = w.mem.last_mail(MailKind::ContactVerification, "dpo@acme.test").await.unwrap();
    w.mem.clock.advance(chrono::Duration::minutes(2));
    contacts.resend_code(&w.admin, added.id).await.unwrap();
    let resent = w.mem.last_mail(MailKind::ContactVerification, "dpo@acme.test").await.unwrap();
    for mail in [first, resent] {
        assert!(
            mail.body.contains("a contact address of the organisation \"Acme\""),
            "{}",
            mail.body
        );
        // The registration number may be a personal number; the address is not verified yet.
        assert!(!mail.body.contains("556677-8899"), "{}", mail.body);
    }
}
