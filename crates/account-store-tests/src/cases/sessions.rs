//! `SessionRepo` (cascading ends of impersonation sessions) and `ApiKeyRepo`.

use account_core::domain::session::Session;
use account_core::ids::{ApiKeyId, MemberId, SessionId};
use chrono::Duration;

use super::Factory;
use crate::fixtures::{
    api_key, assert_not_found, at, id, impersonation, key_id, member, read, seed_members,
    seed_org_with_admin, session, write,
};

fn ids(sessions: &[Session]) -> Vec<u128> {
    let mut v: Vec<u128> = sessions.iter().map(|s| s.id.as_uuid().as_u128()).collect();
    v.sort_unstable();
    v
}

pub(crate) async fn sessions_round_trip_and_list_oldest_first(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let sub = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&sub)).await;
    let admin_later = session(3, admin.id, org.id, at(30));
    let admin_first = Session { client: None, ..session(2, admin.id, org.id, at(10)) };
    let admin_tie = session(1, admin.id, org.id, at(30));
    let child = impersonation(4, sub.id, org.id, admin.id, admin_first.id, at(40));
    let sub_own = session(5, sub.id, org.id, at(5));
    let mut tx = write(&store).await;
    for s in [&admin_later, &admin_first, &admin_tie, &child, &sub_own] {
        tx.sessions().insert(s).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.sessions().get(child.id).await.unwrap(), Some(child.clone()));
    assert_eq!(tx.sessions().get(admin_first.id).await.unwrap(), Some(admin_first.clone()));
    assert_eq!(tx.sessions().get(id::<SessionId>(99)).await.unwrap(), None);
    assert_eq!(
        tx.sessions().list_for_member(admin.id).await.unwrap(),
        [admin_first.clone(), admin_tie, admin_later]
    );
    // Sessions acting as the sub-user: their own, and the impersonation.
    assert_eq!(tx.sessions().list_for_member(sub.id).await.unwrap(), [sub_own, child.clone()]);
    assert_eq!(tx.sessions().children(admin_first.id).await.unwrap(), [child]);
    assert!(tx.sessions().children(id(3)).await.unwrap().is_empty());
}

pub(crate) async fn touch_only_moves_last_seen_forward(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let s = session(1, admin.id, org.id, at(10));
    let mut tx = write(&store).await;
    tx.sessions().insert(&s).await.unwrap();
    tx.sessions().touch(s.id, at(100)).await.unwrap();
    tx.sessions().touch(s.id, at(50)).await.unwrap();
    // A missing session is not an error.
    tx.sessions().touch(id(99), at(100)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let stored = tx.sessions().get(s.id).await.unwrap().unwrap();
    assert_eq!(stored, Session { last_seen_at: at(100), ..s });
}

pub(crate) async fn delete_ends_impersonation_children(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (a, b) = (member(org.id, 10), member(org.id, 11));
    seed_members(&store, &[a.clone(), b.clone()]).await;
    let parent = session(1, admin.id, org.id, at(1));
    let sibling = session(2, admin.id, org.id, at(2));
    let mut tx = write(&store).await;
    for s in [
        &parent,
        &sibling,
        &impersonation(3, a.id, org.id, admin.id, parent.id, at(3)),
        &impersonation(4, b.id, org.id, admin.id, parent.id, at(4)),
        &impersonation(5, b.id, org.id, admin.id, sibling.id, at(5)),
        &session(6, a.id, org.id, at(6)),
    ] {
        tx.sessions().insert(s).await.unwrap();
    }
    tx.sessions().delete(parent.id).await.unwrap();
    // Deleting what is not there is no error.
    tx.sessions().delete(parent.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.sessions().get(parent.id).await.unwrap(), None);
    assert_eq!(ids(&tx.sessions().list_for_member(a.id).await.unwrap()), [6]);
    assert_eq!(ids(&tx.sessions().list_for_member(b.id).await.unwrap()), [5]);
    assert_eq!(ids(&tx.sessions().list_for_member(admin.id).await.unwrap()), [2]);
    assert!(tx.sessions().children(parent.id).await.unwrap().is_empty());
}

pub(crate) async fn delete_for_member_keeps_one_and_cascades(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let sub = member(org.id, 10);
    let bystander = member(org.id, 11);
    seed_members(&store, &[sub.clone(), bystander.clone()]).await;
    let mut tx = write(&store).await;
    for s in [
        session(1, admin.id, org.id, at(1)),
        session(2, admin.id, org.id, at(2)),
        session(3, admin.id, org.id, at(3)),
        // Hangs on session 2, which ends: it ends too (it acts as the sub-user, not counted).
        impersonation(4, sub.id, org.id, admin.id, id(2), at(4)),
        // Hangs on the kept session 3: it stays.
        impersonation(5, bystander.id, org.id, admin.id, id(3), at(5)),
        session(6, sub.id, org.id, at(6)),
    ] {
        tx.sessions().insert(&s).await.unwrap();
    }
    let ended = tx.sessions().delete_for_member(admin.id, Some(id(3))).await.unwrap();
    assert_eq!(ended, 2);
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(ids(&tx.sessions().list_for_member(admin.id).await.unwrap()), [3]);
    assert_eq!(ids(&tx.sessions().list_for_member(sub.id).await.unwrap()), [6]);
    assert_eq!(ids(&tx.sessions().list_for_member(bystander.id).await.unwrap()), [5]);
    // Without `keep`, every session of the member ends (and what hangs on it).
    assert_eq!(tx.sessions().delete_for_member(admin.id, None).await.unwrap(), 1);
    assert!(tx.sessions().list_for_member(bystander.id).await.unwrap().is_empty());
    assert_eq!(tx.sessions().delete_for_member(admin.id, None).await.unwrap(), 0);
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.sessions().list_for_member(admin.id).await.unwrap().is_empty());
    assert_eq!(ids(&tx.sessions().list_for_member(sub.id).await.unwrap()), [6]);
}

pub(crate) async fn delete_expired_counts_children(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let sub = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&sub)).await;
    let now = at(0) + Duration::hours(20);
    let expired = session(1, admin.id, org.id, at(0)); // ends at 12 h
    let at_limit = Session { expires_at: now, ..session(2, admin.id, org.id, at(1)) };
    let alive = session(3, admin.id, org.id, now - Duration::hours(1));
    let mut tx = write(&store).await;
    for s in [
        &expired,
        &at_limit,
        &alive,
        // Not expired itself, but its admin session is: it goes too.
        &Session {
            expires_at: now + Duration::hours(1),
            ..impersonation(4, sub.id, org.id, admin.id, expired.id, at(2))
        },
        &impersonation(5, sub.id, org.id, admin.id, alive.id, now - Duration::minutes(5)),
    ] {
        tx.sessions().insert(s).await.unwrap();
    }
    assert_eq!(tx.sessions().delete_expired(now).await.unwrap(), 3);
    assert_eq!(tx.sessions().delete_expired(now).await.unwrap(), 0);
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(ids(&tx.sessions().list_for_member(admin.id).await.unwrap()), [3]);
    assert_eq!(ids(&tx.sessions().list_for_member(sub.id).await.unwrap()), [5]);
}

pub(crate) async fn api_keys_round_trip_list_touch(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let newer = api_key(1, admin.id, org.id, at(20));
    let older = account_core::domain::session::ApiKey {
        label: None,
        ..api_key(2, admin.id, org.id, at(10))
    };
    let mut tx = write(&store).await;
    tx.api_keys().insert(&newer).await.unwrap();
    tx.api_keys().insert(&older).await.unwrap();
    tx.api_keys().touch(newer.id, at(100)).await.unwrap();
    tx.api_keys().touch(newer.id, at(50)).await.unwrap();
    tx.api_keys().touch(key_id(99), at(50)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let touched = account_core::domain::session::ApiKey { last_used_at: Some(at(100)), ..newer };
    assert_eq!(tx.api_keys().get(touched.id).await.unwrap(), Some(touched.clone()));
    assert_eq!(tx.api_keys().list_for_member(admin.id).await.unwrap(), [older, touched]);
    assert_eq!(tx.api_keys().get(id::<ApiKeyId>(99)).await.unwrap(), None);
}

pub(crate) async fn api_key_delete_and_delete_for_member(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let sub = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&sub)).await;
    let mut tx = write(&store).await;
    for k in [
        api_key(1, admin.id, org.id, at(1)),
        api_key(2, admin.id, org.id, at(2)),
        api_key(3, admin.id, org.id, at(3)),
        api_key(4, sub.id, org.id, at(4)),
    ] {
        tx.api_keys().insert(&k).await.unwrap();
    }
    tx.api_keys().delete(key_id(1)).await.unwrap();
    assert_not_found(tx.api_keys().delete(key_id(1)).await);
    assert_eq!(tx.api_keys().delete_for_member(admin.id).await.unwrap(), 2);
    assert_eq!(tx.api_keys().delete_for_member(admin.id).await.unwrap(), 0);
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.api_keys().list_for_member(admin.id).await.unwrap().is_empty());
    assert_eq!(tx.api_keys().list_for_member(sub.id).await.unwrap().len(), 1);
}

/// `Tx::session_and_member`, `session_member_and_organisation`, `api_key_and_member` and `members_by_id` read what the separate
/// reads would, erased members included (absent), in lookup and write units alike.
pub(crate) async fn joined_reads_match_separate_reads(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let sub = crate::fixtures::full_member(org.id, 10, crate::fixtures::product(1, "x").id);
    let sub = account_core::domain::member::Member {
        role: account_core::domain::member::Role::SubUser,
        ..sub
    };
    let gone = member(org.id, 11);
    // Ordered after 1,200 other ids: read by a later statement than `sub` (see below).
    let late = member(org.id, 5000);
    seed_members(&store, &[sub.clone(), gone.clone(), late.clone()]).await;
    let (s_admin, s_sub, s_gone) = (
        session(1, admin.id, org.id, at(1)),
        session(2, sub.id, org.id, at(2)),
        session(3, gone.id, org.id, at(3)),
    );
    let (k_sub, k_gone) = (api_key(1, sub.id, org.id, at(4)), api_key(2, gone.id, org.id, at(5)));
    let mut tx = write(&store).await;
    for s in [&s_admin, &s_sub, &s_gone] {
        tx.sessions().insert(s).await.unwrap();
    }
    tx.api_keys().insert(&k_sub).await.unwrap();
    tx.api_keys().insert(&k_gone).await.unwrap();
    tx.members().erase(gone.id, at(6)).await.unwrap();
    tx.commit().await.unwrap();

    for writable in [false, true] {
        let mut tx = if writable { write(&store).await } else { store.lookup().await.unwrap() };
        assert_eq!(
            tx.session_and_member(s_admin.id).await.unwrap(),
            Some((s_admin.clone(), Some(admin.clone())))
        );
        assert_eq!(
            tx.session_and_member(s_sub.id).await.unwrap(),
            Some((s_sub.clone(), Some(sub.clone())))
        );
        assert_eq!(tx.session_and_member(s_gone.id).await.unwrap(), Some((s_gone.clone(), None)));
        assert_eq!(tx.session_and_member(id::<SessionId>(99)).await.unwrap(), None);
        assert_eq!(
            tx.session_member_and_organisation(s_sub.id).await.unwrap(),
            Some((s_sub.clone(), Some(sub.clone()), Some(org.clone())))
        );
        assert_eq!(
            tx.session_member_and_organisation(s_admin.id).await.unwrap(),
            Some((s_admin.clone(), Some(admin.clone()), Some(org.clone())))
        );
        assert_eq!(
            tx.session_member_and_organisation(s_gone.id).await.unwrap(),
            Some((s_gone.clone(), None, None))
        );
        assert_eq!(tx.session_member_and_organisation(id::<SessionId>(99)).await.unwrap(), None);
        assert_eq!(
            tx.api_key_and_member(k_sub.id).await.unwrap(),
            Some((k_sub.clone(), Some(sub.clone())))
        );
        assert_eq!(tx.api_key_and_member(k_gone.id).await.unwrap(), Some((k_gone.clone(), None)));
        assert_eq!(tx.api_key_and_member(key_id(99)).await.unwrap(), None);
        let mut found = tx.members_by_id(&[sub.id, admin.id, sub.id, gone.id]).await.unwrap();
        found.sort_by_key(|m| m.id);
        let mut expected = vec![admin.clone(), sub.clone()];
        expected.sort_by_key(|m| m.id);
        assert_eq!(found, expected);
        assert_eq!(tx.members_by_id(&[id(98), id(99)]).await.unwrap(), Vec::new());
        assert_eq!(
            tx.member_and_organisation(sub.id).await.unwrap(),
            Some((sub.clone(), Some(org.clone())))
        );
        assert_eq!(tx.member_and_organisation(gone.id).await.unwrap(), None);
        assert_eq!(tx.member_and_organisation(id(99)).await.unwrap(), None);
        // Many at once: erased and unknown ids left out, duplicates read once.
        let mut many =
            tx.members_by_id(&[sub.id, gone.id, id(99), admin.id, sub.id]).await.unwrap();
        many.sort_by_key(|m| m.id);
        let mut expected = vec![admin.clone(), sub.clone()];
        expected.sort_by_key(|m| m.id);
        assert_eq!(many, expected);
        assert_eq!(tx.members_by_id(&[]).await.unwrap(), Vec::new());
        // More ids than one statement binds (the sea store reads them in chunks, in id
        // order): `sub` and `admin` are in the first chunk, `late` in the last.
        let mut ids: Vec<MemberId> = (1000..2200).map(id).collect();
        ids.extend([late.id, sub.id, admin.id]);
        let mut many = tx.members_by_id(&ids).await.unwrap();
        many.sort_by_key(|m| m.id);
        assert_eq!(many, [sub.clone(), admin.clone(), late.clone()]);
    }
}

/// `Store::change_stamp`, which authentication's kept reads rely on: reading leaves it as it
/// is; a commit of a write unit, through this store or another on the same database, moves it
/// as both see it. A store without one (PostgreSQL)
/// never has one; the SQLite checks make sure a file database does.
pub(crate) async fn change_stamp_follows_commits(f: Factory) {
    let store = f.fresh().await;
    let other = f.reopen().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let Some(mut seen) = store.change_stamp() else {
        assert_eq!(other.change_stamp(), None);
        seed_members(&store, &[member(org.id, 10)]).await;
        assert_eq!(store.change_stamp(), None);
        return;
    };
    assert_eq!(other.change_stamp(), Some(seen), "one database, one stamp");

    let mut tx = read(&store).await;
    assert!(tx.members().get(admin.id).await.unwrap().is_some());
    drop(tx);
    let mut tx = other.lookup().await.unwrap();
    assert!(tx.session_member_and_organisation(id(1)).await.unwrap().is_none());
    drop(tx);
    assert_eq!(store.change_stamp(), Some(seen), "reads move nothing");

    for (n, through) in [(10, &store), (11, &other), (12, &store)] {
        seed_members(through, &[member(org.id, n)]).await;
        let now = store.change_stamp().unwrap();
        assert_ne!(now, seen, "commit of member {n}");
        assert_eq!(other.change_stamp(), Some(now));
        seen = now;
    }
}
