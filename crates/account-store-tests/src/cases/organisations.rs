//! `OrganisationRepo`.

use account_core::domain::organisation::{PlanSeats, Seats};
use account_core::ids::OrganisationId;
use account_core::ports::{Page, UniqueKey};

use super::Factory;
use crate::fixtures::{
    assert_conflict, assert_not_found, bare_organisation, id, organisation, plan, read, write,
};

pub(crate) async fn insert_get_lock_round_trip(f: Factory) {
    let store = f.fresh().await;
    let full = organisation(1);
    let bare = bare_organisation(2);
    let mut tx = write(&store).await;
    tx.organisations().insert(&full).await.unwrap();
    tx.organisations().insert(&bare).await.unwrap();
    // A unit reads its own writes.
    assert_eq!(tx.organisations().get(full.id).await.unwrap().as_ref(), Some(&full));
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(tx.organisations().get(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(tx.organisations().lock(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(tx.organisations().get(id::<OrganisationId>(99)).await.unwrap(), None);
    assert_eq!(tx.organisations().lock(id::<OrganisationId>(99)).await.unwrap(), None);
    drop(tx);
    // In a read unit, lock is a plain read.
    let mut tx = read(&store).await;
    assert_eq!(tx.organisations().lock(full.id).await.unwrap(), Some(full));
    tx.commit().await.unwrap();
}

pub(crate) async fn duplicate_id_conflicts_on_primary_key(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    let mut tx = write(&store).await;
    tx.organisations().insert(&org).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = write(&store).await;
    let other_name = bare_organisation(1);
    assert_conflict(tx.organisations().insert(&other_name).await, UniqueKey::PrimaryKey);
}

pub(crate) async fn update_replaces_and_missing_is_not_found(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    let mut tx = write(&store).await;
    tx.organisations().insert(&org).await.unwrap();
    tx.commit().await.unwrap();

    let mut changed = bare_organisation(1);
    changed.seats = Seats::new(vec![
        PlanSeats { plan: plan("Enterprise"), licences: 25 },
        PlanSeats { plan: plan("Basic"), licences: 0 },
    ])
    .unwrap();
    changed.customer_info_version = 9;
    let mut tx = write(&store).await;
    tx.organisations().update(&changed).await.unwrap();
    assert_not_found(tx.organisations().update(&organisation(2)).await);
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.organisations().get(org.id).await.unwrap(), Some(changed));
    assert_eq!(tx.organisations().get(id(2)).await.unwrap(), None);
}

pub(crate) async fn list_pages_by_id(f: Factory) {
    let store = f.fresh().await;
    let mut tx = write(&store).await;
    for n in [5, 3, 1, 4, 2] {
        tx.organisations().insert(&organisation(n)).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let ids = |orgs: Vec<account_core::domain::organisation::Organisation>| {
        orgs.into_iter().map(|o| o.id).collect::<Vec<_>>()
    };
    let first = tx.organisations().list(Page { after: None, limit: 2 }).await.unwrap();
    assert_eq!(ids(first.clone()), [id(1), id(2)]);
    assert_eq!(first[0], organisation(1));
    let second = tx.organisations().list(Page { after: Some(id(2)), limit: 2 }).await.unwrap();
    assert_eq!(ids(second), [id(3), id(4)]);
    let last = tx.organisations().list(Page { after: Some(id(4)), limit: 2 }).await.unwrap();
    assert_eq!(ids(last), [id(5)]);
    assert!(
        tx.organisations().list(Page { after: Some(id(5)), limit: 2 }).await.unwrap().is_empty()
    );
    let all = tx.organisations().list(Page { after: None, limit: 100 }).await.unwrap();
    assert_eq!(ids(all), [id(1), id(2), id(3), id(4), id(5)]);
    assert!(tx.organisations().list(Page { after: None, limit: 0 }).await.unwrap().is_empty());
}
