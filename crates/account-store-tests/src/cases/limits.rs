//! Abuse limits (rule 24) as rows of the database: the repository's promises, and the budget
//! holding when many log-ins for one address arrive at once through two pools on one
//! database (as two server processes): exactly the budget's number of passwords is checked.

use std::net::{IpAddr, Ipv4Addr};

use account_core::domain::limits::rates;
use account_core::services::auth::LoginError;
use account_core::services::operator::{NewOrganisation, Operator};

use super::Factory;
use super::concurrency::two_processes;
use crate::fixtures::{at, write};

pub(crate) async fn limit_rows_lock_put_known_remember_purge(f: Factory) {
    let store = f.fresh().await;
    let keys = ["a:1".to_owned(), "b:2".to_owned(), "c:3".to_owned()];
    let mut tx = write(&store).await;
    assert_eq!(tx.limits().lock(&keys).await.unwrap(), vec![None, None, None]);
    // Several keys in one write; a key given twice keeps its last state; a later write
    // replaces an earlier one.
    let state = |key: &str, t| (key.to_owned(), at(t));
    tx.limits().put(&[state("a:1", 10), state("c:3", 100)]).await.unwrap();
    tx.limits().put(&[state("c:3", 150), state("c:3", 200)]).await.unwrap();
    tx.limits().put(&[]).await.unwrap();
    tx.limits().remember("client:x", at(50)).await.unwrap();
    tx.limits().remember("client:y", at(500)).await.unwrap();
    tx.limits().remember("client:y", at(400)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(tx.limits().lock(&keys).await.unwrap(), vec![Some(at(10)), None, Some(at(200))]);
    assert!(tx.limits().known("client:x", at(49)).await.unwrap());
    assert!(!tx.limits().known("client:x", at(50)).await.unwrap(), "known until, not at");
    assert!(tx.limits().known("client:y", at(399)).await.unwrap());
    assert!(!tx.limits().known("client:y", at(450)).await.unwrap(), "the later date replaces");
    assert!(!tx.limits().known("client:z", at(0)).await.unwrap());
    tx.commit().await.unwrap();

    // A dropped unit leaves nothing.
    let mut tx = write(&store).await;
    tx.limits().put(&[("b:2".to_owned(), at(7))]).await.unwrap();
    drop(tx);
    let mut tx = write(&store).await;
    assert_eq!(tx.limits().lock(&keys[1..2]).await.unwrap(), vec![None]);

    // Purge forgets states and clients at or before `now`, and only those.
    let purged = tx.limits().purge(at(50)).await.unwrap();
    assert!(purged >= 2, "a:1 and client:x go: {purged}");
    assert_eq!(tx.limits().lock(&keys).await.unwrap(), vec![None, None, Some(at(200))]);
    assert!(tx.limits().known("client:y", at(300)).await.unwrap());
    tx.commit().await.unwrap();
}

pub(crate) async fn concurrent_log_ins_check_exactly_the_budget(f: Factory) {
    const TASKS: usize = 40;
    let processes = two_processes(&f).await;
    let created = processes[0]
        .operator()
        .create_organisation(
            &Operator::new("suite"),
            &NewOrganisation {
                name: "Guarded AB".into(),
                registration_number: "556677-8899".into(),
                plan: "Professional".into(),
                licences: 2,
                admin_first_name: "Ada".into(),
                admin_last_name: None,
                admin_email: "ada@example.com".into(),
                admin_password: Some("the right horse battery".into()),
            },
        )
        .await
        .unwrap();
    assert!(created.admin.password.is_some());
    let from = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let accounts = processes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            accounts.auth().login("ada@example.com", "a wrong guess here", None, from).await
        }));
    }
    let (mut checked, mut throttled, mut unexpected) = (0, 0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            Err(LoginError::InvalidCredentials) => checked += 1,
            Err(LoginError::Throttled(e)) if e.wait > chrono::Duration::zero() => throttled += 1,
            other => unexpected.push(format!("{other:?}")),
        }
    }
    println!(
        "   [{}] {TASKS} wrong log-ins for one address at once on 2 pools: {checked} checked, \
         {throttled} refused before checking",
        f.name()
    );
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert_eq!(checked, rates::LOGIN_PAIR.burst as usize, "the pair's budget, and no more");
    // The right password from the same client is refused too: the budget is spent.
    let right =
        processes[1].auth().login("ada@example.com", "the right horse battery", None, from).await;
    assert!(matches!(right, Err(LoginError::Throttled(_))), "{right:?}");
}
