//! Organisations in memory.

use account_core::domain::organisation::Organisation;
use account_core::ids::OrganisationId;
use account_core::ports::{OrganisationRepo, Page, StoreError, UniqueKey};
use async_trait::async_trait;

use super::{MemTx, page};

#[async_trait]
impl OrganisationRepo for MemTx {
    async fn insert(&mut self, org: &Organisation) -> Result<(), StoreError> {
        let s = self.w("organisations.insert")?;
        if s.orgs.contains_key(&org.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.orgs.insert(org.id, org.clone());
        Ok(())
    }
    async fn get(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        Ok(self.s().orgs.get(&id).cloned())
    }
    async fn lock(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        Ok(self.s().orgs.get(&id).cloned())
    }
    async fn update(&mut self, org: &Organisation) -> Result<(), StoreError> {
        let s = self.w("organisations.update")?;
        let slot = s.orgs.get_mut(&org.id).ok_or(StoreError::NotFound)?;
        *slot = org.clone();
        Ok(())
    }
    async fn list(&mut self, p: Page<OrganisationId>) -> Result<Vec<Organisation>, StoreError> {
        Ok(page(self.s().orgs.values().cloned(), p, |o, c| o.id > c))
    }
}
