//! The contract suite on the memory store (the reference implementation).

use std::sync::{Arc, Mutex};

use account_core::ids::MailId;
use account_core::ports::Store;
use account_memory::MemoryStore;
use account_store_tests::{StoreFactory, contract_cases, run_cases};
use async_trait::async_trait;

/// Fresh memory stores; `reopen` shares the current one's data, as a second handle would.
#[derive(Default)]
struct MemoryFactory {
    current: Mutex<MemoryStore>,
}

impl MemoryFactory {
    fn current(&self) -> MemoryStore {
        self.current.lock().unwrap().clone()
    }
}

#[async_trait]
impl StoreFactory for MemoryFactory {
    fn name(&self) -> String {
        "memory".into()
    }

    async fn fresh(&self) -> Arc<dyn Store> {
        let store = MemoryStore::new();
        *self.current.lock().unwrap() = store.clone();
        Arc::new(store)
    }

    async fn reopen(&self) -> Arc<dyn Store> {
        Arc::new(self.current())
    }

    async fn stored_sealed(&self, mail: MailId) -> Option<Vec<u8>> {
        self.current().outbox().await.into_iter().find(|m| m.id == mail).map(|m| m.sealed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_contract_suite() {
    let factory: Arc<dyn StoreFactory> = Arc::new(MemoryFactory::default());
    run_cases("contract suite on memory", factory, contract_cases()).await.assert_passed();
}
