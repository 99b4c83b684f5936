//! Authentication is read, pure checks, touch: every request reads its session through a
//! lookup unit (a store may serve it from what it read before, `account-sea`'s
//! `KeptSessions` does), runs every check on it, and asks the store to record the session's
//! activity once it is a minute old. So a revocation, a disabled member or a saved profile
//! made through another process is seen on the very next request (rules 3, 18).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use account_core::Accounts;
use account_core::ports::{Activity, Clock, Store, StoreError, Tx};
use account_core::services::auth::{AuthError, TOUCH_INTERVAL};
use account_core::services::profile::ProfileInput;
use account_core::services::{Ports, Settings};
use account_memory::{MemoryStore, SeededRandom};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::support::World;

/// The world's store, counting lookups and recording the activity it is asked to record
/// (which it may refuse).
struct Counting {
    inner: Arc<MemoryStore>,
    lookups: AtomicUsize,
    recorded: Mutex<Vec<(Vec<Activity>, DateTime<Utc>)>>,
    fail_records: AtomicBool,
}

#[async_trait]
impl Store for Counting {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner.write().await
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner.read().await
    }

    async fn lookup(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.lookup().await
    }

    async fn record_activity(
        &self,
        used: &[Activity],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.fail_records.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("refused by the test".into()));
        }
        self.recorded.lock().unwrap().push((used.to_vec(), at));
        self.inner.record_activity(used, at).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// A second domain over the world's data (as a second server over the same database would
/// be), whose store counts.
fn counted(w: &World) -> (Accounts, Arc<Counting>) {
    let store = Arc::new(Counting {
        inner: w.mem.store.clone(),
        lookups: AtomicUsize::new(0),
        recorded: Mutex::new(Vec::new()),
        fail_records: AtomicBool::new(false),
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

#[tokio::test]
async fn every_request_reads_its_session_once_and_keeps_nothing() {
    let w = World::new().await;
    let (accounts, store) = counted(&w);
    let auth = accounts.auth();
    for n in 1..=3 {
        let (authenticated, me) = auth.authenticate_me(&w.admin_token).await.unwrap();
        assert_eq!(authenticated.actor, w.admin);
        assert_eq!(me.member.id, w.admin.member());
        auth.authenticate(&w.admin_token).await.unwrap();
        assert_eq!(store.lookups.load(Ordering::SeqCst), 2 * n, "one lookup per request");
    }
}

#[tokio::test]
async fn rule_03_a_member_disabled_elsewhere_is_refused_on_the_next_request() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let (accounts, _) = counted(&w);
    let auth = accounts.auth();
    auth.authenticate_me(&sam_token).await.unwrap();
    w.accounts().team().disable(&w.admin, sam.member()).await.unwrap();
    assert!(matches!(auth.authenticate_me(&sam_token).await, Err(AuthError::InvalidToken)));
    assert!(matches!(auth.authenticate(&sam_token).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn rule_18_a_session_revoked_elsewhere_is_refused_on_the_next_request() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let (accounts, _) = counted(&w);
    let auth = accounts.auth();
    let (authenticated, _) = auth.authenticate_me(&sam_token).await.unwrap();
    w.accounts().auth().revoke_session(&sam, authenticated.session.id).await.unwrap();
    assert!(matches!(auth.authenticate_me(&sam_token).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn a_profile_saved_elsewhere_shows_on_the_next_request() {
    let w = World::new().await;
    let (accounts, _) = counted(&w);
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
async fn every_request_checks_the_secret_and_the_lifetimes() {
    let w = World::new().await;
    let (accounts, _) = counted(&w);
    let auth = accounts.auth();
    auth.authenticate_me(&w.admin_token).await.unwrap();
    // Same session id (the token's public half), another secret.
    let mut forged = w.admin_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert!(matches!(auth.authenticate_me(&forged).await, Err(AuthError::InvalidToken)));
    // Idle past the session's idle limit: expired.
    w.mem.clock.advance(Settings::default().session_idle + Duration::seconds(1));
    assert!(matches!(auth.authenticate_me(&w.admin_token).await, Err(AuthError::Expired)));
}

#[tokio::test]
async fn activity_is_recorded_once_it_is_a_minute_old_with_the_admins_session_when_impersonating() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let (accounts, store) = counted(&w);
    let auth = accounts.auth();
    let admin_session = auth.authenticate(&w.admin_token).await.unwrap().session.id;
    assert!(store.recorded.lock().unwrap().is_empty(), "a fresh session is not due");
    w.mem.clock.advance(TOUCH_INTERVAL);
    auth.authenticate(&w.admin_token).await.unwrap();
    let now = w.mem.clock.now();
    assert_eq!(
        store.recorded.lock().unwrap().as_slice(),
        [(vec![Activity::Session(admin_session)], now)]
    );
    // Recorded: not due again within the minute.
    auth.authenticate(&w.admin_token).await.unwrap();
    assert_eq!(store.recorded.lock().unwrap().len(), 1);

    // An impersonation's activity is the admin's too.
    let started =
        w.accounts().impersonation().start(&w.admin, sam.member(), "support call").await.unwrap();
    w.mem.clock.advance(TOUCH_INTERVAL);
    auth.authenticate(&started.token).await.unwrap();
    let now = w.mem.clock.now();
    assert_eq!(
        store.recorded.lock().unwrap().last(),
        Some(&(vec![Activity::Session(started.session.id), Activity::Session(admin_session)], now))
    );
}

#[tokio::test]
async fn a_request_whose_activity_cannot_be_recorded_fails_and_the_next_one_records_it() {
    let w = World::new().await;
    let (accounts, store) = counted(&w);
    let auth = accounts.auth();
    auth.authenticate(&w.admin_token).await.unwrap();
    w.mem.clock.advance(TOUCH_INTERVAL);
    store.fail_records.store(true, Ordering::SeqCst);
    assert!(matches!(auth.authenticate(&w.admin_token).await, Err(AuthError::Internal(_))));
    store.fail_records.store(false, Ordering::SeqCst);
    let session = auth.authenticate(&w.admin_token).await.unwrap().session;
    assert_eq!(store.recorded.lock().unwrap().len(), 1);
    let stored = w.accounts().auth().authenticate(&w.admin_token).await.unwrap().session;
    assert_eq!(stored.id, session.id);
    assert_eq!(stored.last_seen_at, w.mem.clock.now(), "recorded by the next request");
}
