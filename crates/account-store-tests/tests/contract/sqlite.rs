//! The contract suite and the sea-orm checks on SQLite, one temporary database file per case.

use std::sync::Arc;

use account_store_tests::{StoreFactory, contract_cases, run_cases};

use crate::sea::sea_cases;
use crate::support::SeaFactory;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_contract_suite() {
    let factory = Arc::new(SeaFactory::sqlite());
    let dyn_factory: Arc<dyn StoreFactory> = factory.clone();
    let contract = run_cases("contract suite on sqlite", dyn_factory, contract_cases()).await;
    let sea = run_cases("sea-orm checks on sqlite", factory.clone(), sea_cases("sqlite")).await;
    factory.teardown().await;
    contract.assert_passed();
    sea.assert_passed();
}
