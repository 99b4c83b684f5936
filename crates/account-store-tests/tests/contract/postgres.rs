//! The contract suite and the sea-orm checks on PostgreSQL, in a database created for this
//! run and dropped after it. Runs when `ACCOUNTS_TEST_POSTGRES_URL` is set (an admin URL such
//! as `postgres://postgres@127.0.0.1:5432/test`); says so loudly when it is not, and fails
//! when `CI=true`.

use std::io::Write;
use std::sync::Arc;

use account_store_tests::{StoreFactory, contract_cases, run_cases};

use crate::sea::sea_cases;
use crate::support::SeaFactory;

const URL_VAR: &str = "ACCOUNTS_TEST_POSTGRES_URL";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Writes past the test harness's output capture, so the line shows in every run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_contract_suite() {
    let Some(admin_url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) else {
        assert!(
            !in_ci(),
            "CI=true but {URL_VAR} is not set: the PostgreSQL contract suite must run in CI"
        );
        say(&format!("SKIPPED: {URL_VAR} not set; the PostgreSQL contract suite did NOT run"));
        return;
    };
    let factory = match SeaFactory::postgres(&admin_url).await {
        Ok(factory) => Arc::new(factory),
        Err(e) => panic!("{URL_VAR} is set but PostgreSQL cannot be used: {e}"),
    };
    let dyn_factory: Arc<dyn StoreFactory> = factory.clone();
    let contract = run_cases("contract suite on postgres", dyn_factory, contract_cases()).await;
    let sea = run_cases("sea-orm checks on postgres", factory.clone(), sea_cases("postgres")).await;
    factory.teardown().await;
    contract.assert_passed();
    sea.assert_passed();
}
