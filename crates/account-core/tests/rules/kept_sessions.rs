//! Authentication keeps what it read for a session while the store's change stamp holds: a
//! busy client is served without a read, and any commit (a revocation, a disabled member, a
//! saved profile) is seen on the very next request (rules 3, 18). And of a busy client's
//! requests that find its session due for the once-a-minute touch together, one writes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use account_core::Accounts;
use account_core::ports::{ChangeStamp, Clock, Store, StoreError, Tx};
use account_core::services::auth::{AuthError, TOUCH_INTERVAL};
use account_core::services::profile::ProfileInput;
use account_core::services::{Ports, Settings};
use account_memory::{MemoryStore, SeededRandom};
use async_trait::async_trait;
use chrono::Duration;

use crate::support::World;

/// The world's store, counting the units opened on it; it may hide its change stamp, hold
/// write units back until told, or refuse them.
struct Counting {
    inner: Arc<MemoryStore>,
    units: AtomicUsize,
    writes: AtomicUsize,
    stamps: AtomicBool,
    hold_writes: AtomicBool,
    fail_writes: AtomicBool,
}

#[async_trait]
impl Store for Counting {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.units.fetch_add(1, Ordering::SeqCst);
        self.writes.fetch_add(1, Ordering::SeqCst);
        while self.hold_writes.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("refused by the test".into()));
        }
        self.inner.write().await
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.units.fetch_add(1, Ordering::SeqCst);
        self.inner.read().await
    }

    async fn lookup(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.units.fetch_add(1, Ordering::SeqCst);
        self.inner.lookup().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        if self.stamps.load(Ordering::SeqCst) { self.inner.change_stamp() } else { None }
    }
}

/// A second domain over the world's data (as a second server over the same database would
/// be), whose store counts units.
fn counted(w: &World, stamps: bool) -> (Accounts, Arc<Counting>) {
    let store = Arc::new(Counting {
        inner: w.mem.store.clone(),
        units: AtomicUsize::new(0),
        writes: AtomicUsize::new(0),
        stamps: AtomicBool::new(stamps),
        hold_writes: AtomicBool::new(false),
        fail_writes: AtomicBool::new(false),
    });
    let ports = Ports {
        store: store.clone(),
        clock: w.mem.clock.clone(),
        random: Arc::new(SeededRandom::new(7)),
        passwords: w.mem.hasher.clone(),
        keyring: w.mem.keyring.clone(),
    };
    (Accounts::new(ports, Settings::default()), store)
}

fn units(store: &Counting) -> usize {
    store.units.load(Ordering::SeqCst)
}

fn writes(store: &Counting) -> usize {
    store.writes.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_kept_session_is_served_without_a_read_until_something_commits() {
    let w = World::new().await;
    let (accounts, store) = counted(&w, true);
    let auth = accounts.auth();
    let (_, first) = auth.authenticate_me(&w.admin_token).await.unwrap();
    assert_eq!(units(&store), 1, "the first request reads");
    for _ in 0..3 {
        let (authenticated, me) = auth.authenticate_me(&w.admin_token).await.unwrap();
        assert_eq!(authenticated.actor, w.admin);
        assert_eq!(me.member, first.member);
        auth.authenticate(&w.admin_token).await.unwrap();
    }
    assert_eq!(units(&store), 1, "later ones are served from what was kept");

    // A commit anywhere, here through the other domain, retires what was kept.
    let (_, sam_token) = w.sub_user("sam").await;
    auth.authenticate_me(&w.admin_token).await.unwrap();
    assert_eq!(units(&store), 2);
    auth.authenticate_me(&sam_token).await.unwrap();
    auth.authenticate_me(&sam_token).await.unwrap();
    auth.authenticate_me(&w.admin_token).await.unwrap();
    assert_eq!(units(&store), 3, "both sessions kept under the same stamp");

    // A store that cannot stamp its commits gets a read on every request.
    store.stamps.store(false, Ordering::SeqCst);
    auth.authenticate_me(&w.admin_token).await.unwrap();
    auth.authenticate(&w.admin_token).await.unwrap();
    assert_eq!(units(&store), 5);
}

#[tokio::test]
async fn rule_03_a_member_disabled_elsewhere_is_refused_at_once_though_their_session_was_kept() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let (accounts, _) = counted(&w, true);
    let auth = accounts.auth();
    auth.authenticate_me(&sam_token).await.unwrap();
    auth.authenticate_me(&sam_token).await.unwrap();
    w.accounts().team().disable(&w.admin, sam.member()).await.unwrap();
    assert!(matches!(auth.authenticate_me(&sam_token).await, Err(AuthError::InvalidToken)));
    assert!(matches!(auth.authenticate(&sam_token).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn rule_18_a_session_revoked_elsewhere_is_refused_at_once_though_it_was_kept() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let (accounts, _) = counted(&w, true);
    let auth = accounts.auth();
    let (authenticated, _) = auth.authenticate_me(&sam_token).await.unwrap();
    w.accounts().auth().revoke_session(&sam, authenticated.session.id).await.unwrap();
    assert!(matches!(auth.authenticate_me(&sam_token).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn a_profile_saved_elsewhere_shows_on_the_next_request() {
    let w = World::new().await;
    let (accounts, _) = counted(&w, true);
    let auth = accounts.auth();
    let (_, before) = auth.authenticate_me(&w.admin_token).await.unwrap();
    let input = ProfileInput {
        first_name: "Ada".into(),
        job_title: Some("Chief of credits".into()),
        ..Default::default()
    };
    let profile = w.accounts().profile();
    let saved =
        profile.save_profile(&w.admin, &input, before.member.profile_version).await.unwrap();
    assert_ne!(saved, before.member);
    let (_, after) = auth.authenticate_me(&w.admin_token).await.unwrap();
    assert_eq!(after.member, saved);
}

#[tokio::test]
async fn a_kept_session_still_checks_its_secret_and_its_lifetimes() {
    let w = World::new().await;
    let (accounts, store) = counted(&w, true);
    let auth = accounts.auth();
    auth.authenticate_me(&w.admin_token).await.unwrap();
    // Same session id (the token's public half), another secret.
    let mut forged = w.admin_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(auth.authenticate_me(&forged).await, Err(AuthError::InvalidToken)));
    // Idle past the session's idle limit with nothing committed: expired all the same.
    let read_so_far = units(&store);
    w.mem.clock.advance(Settings::default().session_idle + Duration::seconds(1));
    assert!(matches!(auth.authenticate_me(&w.admin_token).await, Err(AuthError::Expired)));
    assert_eq!(units(&store), read_so_far, "refused from what was kept");
}

#[tokio::test]
async fn of_the_requests_that_find_a_session_due_for_its_touch_together_one_writes_it() {
    let w = World::new().await;
    let (accounts, store) = counted(&w, true);
    accounts.auth().authenticate(&w.admin_token).await.unwrap();
    w.mem.clock.advance(TOUCH_INTERVAL);
    // The first to claim the touch waits in its write unit while the others run.
    store.hold_writes.store(true, Ordering::SeqCst);
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (accounts, token) = (accounts.clone(), w.admin_token.clone());
        requests.spawn(async move { accounts.auth().authenticate(&token).await.map(|a| a.actor) });
    }
    for _ in 0..7 {
        let done = tokio::time::timeout(std::time::Duration::from_secs(5), requests.join_next());
        let done =
            done.await.unwrap_or_else(|_| panic!("{} requests wait to write", writes(&store)));
        assert_eq!(done.unwrap().unwrap().unwrap(), w.admin);
    }
    assert_eq!(writes(&store), 1, "seven went on without writing");
    store.hold_writes.store(false, Ordering::SeqCst);
    assert_eq!(requests.join_next().await.unwrap().unwrap().unwrap(), w.admin);
    // Touched: the next minute's requests do not write; the one after it does, once.
    for _ in 0..3 {
        accounts.auth().authenticate(&w.admin_token).await.unwrap();
    }
    assert_eq!(writes(&store), 1);
    let session = w.accounts().auth().authenticate(&w.admin_token).await.unwrap().session;
    assert_eq!(session.last_seen_at, w.mem.clock.now(), "the claimed touch wrote");
    w.mem.clock.advance(TOUCH_INTERVAL);
    for _ in 0..3 {
        accounts.auth().authenticate(&w.admin_token).await.unwrap();
    }
    assert_eq!(writes(&store), 2);
}

#[tokio::test]
async fn a_touch_that_failed_is_tried_again_by_the_next_request() {
    let w = World::new().await;
    let (accounts, store) = counted(&w, true);
    let auth = accounts.auth();
    auth.authenticate(&w.admin_token).await.unwrap();
    w.mem.clock.advance(TOUCH_INTERVAL);
    store.fail_writes.store(true, Ordering::SeqCst);
    assert!(auth.authenticate(&w.admin_token).await.is_err());
    store.fail_writes.store(false, Ordering::SeqCst);
    auth.authenticate(&w.admin_token).await.unwrap();
    assert_eq!(writes(&store), 2, "the claim of the failed touch was given back");
}
