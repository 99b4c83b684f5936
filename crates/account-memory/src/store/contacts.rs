//! Contact addresses in memory.

use account_core::domain::contact::ContactAddress;
use account_core::ids::{ContactId, OrganisationId};
use account_core::ports::{ContactRepo, StoreError, UniqueKey};
use async_trait::async_trait;

use super::MemTx;

#[async_trait]
impl ContactRepo for MemTx {
    async fn insert(&mut self, contact: &ContactAddress) -> Result<(), StoreError> {
        let s = self.w("contacts.insert")?;
        if s.contacts.contains_key(&contact.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        if s.contacts
            .values()
            .any(|c| c.org_id == contact.org_id && c.email.key() == contact.email.key())
        {
            return Err(StoreError::Conflict(UniqueKey::ContactEmail));
        }
        s.contacts.insert(contact.id, contact.clone());
        Ok(())
    }
    async fn list(&mut self, org: OrganisationId) -> Result<Vec<ContactAddress>, StoreError> {
        let mut items: Vec<_> =
            self.s().contacts.values().filter(|c| c.org_id == org).cloned().collect();
        items.sort_by_key(|c| (c.created_at, c.id));
        Ok(items)
    }
    async fn update(&mut self, contact: &ContactAddress) -> Result<(), StoreError> {
        let s = self.w("contacts.update")?;
        let slot = s.contacts.get_mut(&contact.id).ok_or(StoreError::NotFound)?;
        *slot = contact.clone();
        Ok(())
    }
    async fn delete(&mut self, id: ContactId) -> Result<(), StoreError> {
        let s = self.w("contacts.delete")?;
        s.contacts.remove(&id).map(|_| ()).ok_or(StoreError::NotFound)
    }
}
