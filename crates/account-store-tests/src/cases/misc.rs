//! `ContactRepo`, `EmailChangeRepo`, `CatalogueRepo`, `DigestRepo` and `IdempotencyRepo`.

use account_core::domain::contact::{ContactAddress, ContactRoles};
use account_core::domain::email::EmailAddress;
use account_core::domain::email_change::EmailChangeStage;
use account_core::domain::idempotency::Outcome;
use account_core::domain::products::{Product, ProductName};
use account_core::ids::{MemberId, ProductId};
use account_core::ports::UniqueKey;

use super::Factory;
use crate::fixtures::{
    assert_conflict, assert_not_found, at, contact, contact_id, digest_schedule, email_change, id,
    idempotency, member, organisation, product, read, seed_members, seed_org, seed_org_with_admin,
    verified_contact, write,
};

pub(crate) async fn contacts_round_trip_oldest_first(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    let other = organisation(2);
    seed_org(&store, &org).await;
    seed_org(&store, &other).await;
    let roles = ContactRoles { billing: true, tech: false, dpo: true };
    let contacts = [
        contact(3, org.id, "later@example.com", at(30)),
        verified_contact(2, org.id, "billing@example.com", at(10), roles),
        // Same time as the previous one: the id breaks the tie.
        contact(1, org.id, "Tie@Example.com", at(10)),
        contact(4, other.id, "billing@example.com", at(5)),
    ];
    let mut tx = write(&store).await;
    for c in &contacts {
        tx.contacts().insert(c).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let listed = tx.contacts().list(org.id).await.unwrap();
    assert_eq!(listed, [contacts[2].clone(), contacts[1].clone(), contacts[0].clone()]);
    assert_eq!(tx.contacts().list(other.id).await.unwrap(), [contacts[3].clone()]);
    assert!(tx.contacts().list(id(9)).await.unwrap().is_empty());
}

pub(crate) async fn contact_email_unique_per_org_case_insensitively(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    let other = organisation(2);
    seed_org(&store, &org).await;
    seed_org(&store, &other).await;
    let mut tx = write(&store).await;
    tx.contacts().insert(&contact(1, org.id, "dpo@example.com", at(1))).await.unwrap();
    assert_conflict(
        tx.contacts().insert(&contact(2, org.id, "DPO@Example.COM", at(2))).await,
        UniqueKey::ContactEmail,
    );
    tx.contacts().insert(&contact(3, other.id, "DPO@example.com", at(3))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.contacts().list(org.id).await.unwrap().len(), 1);
    assert_eq!(tx.contacts().list(other.id).await.unwrap().len(), 1);
}

pub(crate) async fn contact_update_and_delete_missing_are_not_found(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    seed_org(&store, &org).await;
    let original = contact(1, org.id, "tech@example.com", at(1));
    let mut tx = write(&store).await;
    tx.contacts().insert(&original).await.unwrap();
    tx.contacts().insert(&contact(2, org.id, "gone@example.com", at(2))).await.unwrap();
    tx.commit().await.unwrap();

    let verified = ContactAddress {
        verified_at: Some(at(60)),
        roles: ContactRoles::ALL,
        pending: None,
        ..original.clone()
    };
    let mut tx = write(&store).await;
    tx.contacts().update(&verified).await.unwrap();
    tx.contacts().delete(contact_id(2)).await.unwrap();
    assert_not_found(tx.contacts().delete(contact_id(2)).await);
    assert_not_found(tx.contacts().update(&contact(9, org.id, "x@example.com", at(1))).await);
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.contacts().list(org.id).await.unwrap(), [verified]);
}

pub(crate) async fn email_change_put_replaces_every_stage(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let other = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&other)).await;
    let new_email = EmailAddress::parse("Next@Example.org").unwrap();
    let stages = [
        EmailChangeStage::AwaitingCurrentCode,
        EmailChangeStage::AwaitingNewAddress,
        EmailChangeStage::AwaitingNewCode { new_email },
    ];
    for (n, stage) in stages.into_iter().enumerate() {
        let flow = email_change(u128::try_from(n).unwrap() + 1, admin.id, stage);
        let mut tx = write(&store).await;
        tx.email_changes().put(&flow).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = read(&store).await;
        assert_eq!(tx.email_changes().get(admin.id).await.unwrap(), Some(flow));
    }
    let mut tx = write(&store).await;
    let theirs = email_change(9, other.id, EmailChangeStage::AwaitingCurrentCode);
    tx.email_changes().put(&theirs).await.unwrap();
    tx.email_changes().delete(admin.id).await.unwrap();
    // Deleting what is not there is no error.
    tx.email_changes().delete(admin.id).await.unwrap();
    tx.email_changes().delete(id::<MemberId>(99)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.email_changes().get(admin.id).await.unwrap(), None);
    assert_eq!(tx.email_changes().get(other.id).await.unwrap(), Some(theirs));
}

pub(crate) async fn catalogue_orders_by_name_and_names_are_unique(f: Factory) {
    let store = f.fresh().await;
    let mut tx = write(&store).await;
    for p in [
        product(1, "beta services"),
        product(2, "Alpha"),
        product(3, "Écoles"),
        product(4, "gamma"),
    ] {
        tx.catalogue().insert(&p).await.unwrap();
    }
    assert_conflict(tx.catalogue().insert(&product(5, "ALPHA")).await, UniqueKey::ProductName);
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    let renamed = Product {
        name: ProductName::parse("Delta").unwrap(),
        active: false,
        ..product(4, "gamma")
    };
    tx.catalogue().update(&renamed).await.unwrap();
    // Keeping one's own name (in another case) is no conflict.
    let recased = Product {
        name: ProductName::parse("BETA services").unwrap(),
        ..product(1, "beta services")
    };
    tx.catalogue().update(&recased).await.unwrap();
    let clash = Product { name: ProductName::parse("alpha").unwrap(), ..product(1, "x") };
    assert_conflict(tx.catalogue().update(&clash).await, UniqueKey::ProductName);
    assert_not_found(tx.catalogue().update(&product(9, "Nothing")).await);
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let names: Vec<String> = tx
        .catalogue()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name.as_str().to_owned())
        .collect();
    // By case-folded name, code point order ('é' sorts after ASCII letters).
    assert_eq!(names, ["Alpha", "BETA services", "Delta", "Écoles"]);
    assert_eq!(tx.catalogue().get(id::<ProductId>(4)).await.unwrap(), Some(renamed));
    assert_eq!(tx.catalogue().get(id::<ProductId>(9)).await.unwrap(), None);
}

pub(crate) async fn digests_put_replace_due_earliest_first(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    seed_org(&store, &org).await;
    let (a, b, c, d) =
        (member(org.id, 10), member(org.id, 11), member(org.id, 12), member(org.id, 13));
    seed_members(&store, &[a.clone(), b.clone(), c.clone(), d.clone()]).await;
    let mut tx = write(&store).await;
    tx.digests().put(&digest_schedule(a.id, at(300), "UTC")).await.unwrap();
    tx.digests().put(&digest_schedule(b.id, at(100), "Europe/Stockholm")).await.unwrap();
    tx.digests().put(&digest_schedule(c.id, at(100), "America/New_York")).await.unwrap();
    tx.digests().put(&digest_schedule(d.id, at(900), "UTC")).await.unwrap();
    // Replacing keeps one schedule per member.
    let moved = digest_schedule(a.id, at(200), "Asia/Tokyo");
    tx.digests().put(&moved).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(tx.digests().get(a.id).await.unwrap(), Some(moved));
    let due = tx.digests().due(at(300), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.member_id).collect::<Vec<_>>(), [b.id, c.id, a.id]);
    assert_eq!(due[0], digest_schedule(b.id, at(100), "Europe/Stockholm"));
    assert_eq!(tx.digests().due(at(300), 2).await.unwrap().len(), 2);
    assert!(tx.digests().due(at(99), 10).await.unwrap().is_empty());
    // Due exactly at `now` is due.
    assert_eq!(tx.digests().due(at(100), 10).await.unwrap().len(), 2);
    tx.digests().delete(b.id).await.unwrap();
    tx.digests().delete(b.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.digests().get(b.id).await.unwrap(), None);
    assert_eq!(tx.digests().due(at(1000), 10).await.unwrap().len(), 3);
}

pub(crate) async fn idempotency_insert_complete_delete_purge(f: Factory) {
    let store = f.fresh().await;
    let mut tx = write(&store).await;
    let old = idempotency("member:1:allocate", "k1", at(0));
    let same_key_other_scope = idempotency("member:2:allocate", "k1", at(50));
    let recent = idempotency("member:1:allocate", "k2", at(100));
    for r in [&old, &same_key_other_scope, &recent] {
        tx.idempotency().insert(r).await.unwrap();
    }
    assert_conflict(
        tx.idempotency().insert(&idempotency("member:1:allocate", "k1", at(7))).await,
        UniqueKey::IdempotencyKey,
    );
    let outcome = Outcome::MemberAdded { member: id(77) };
    tx.idempotency().complete("member:1:allocate", "k2", &outcome).await.unwrap();
    assert_not_found(tx.idempotency().complete("member:1:allocate", "nope", &outcome).await);
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(tx.idempotency().get("member:1:allocate", "k1").await.unwrap(), Some(old));
    let done = tx.idempotency().get("member:1:allocate", "k2").await.unwrap().unwrap();
    assert_eq!(done.outcome, Some(outcome));
    assert_eq!(done.fingerprint, recent.fingerprint);
    assert_eq!(tx.idempotency().get("member:9:allocate", "k1").await.unwrap(), None);
    // Purge forgets records older than `before` (strictly).
    assert_eq!(tx.idempotency().purge(at(50)).await.unwrap(), 1);
    assert_eq!(tx.idempotency().get("member:1:allocate", "k1").await.unwrap(), None);
    assert_eq!(
        tx.idempotency().get("member:2:allocate", "k1").await.unwrap(),
        Some(same_key_other_scope)
    );
    tx.idempotency().delete("member:2:allocate", "k1").await.unwrap();
    tx.idempotency().delete("member:2:allocate", "k1").await.unwrap();
    // A released key can be reserved again.
    tx.idempotency().insert(&idempotency("member:2:allocate", "k1", at(60))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.idempotency().get("member:2:allocate", "k1").await.unwrap().is_some());
}
