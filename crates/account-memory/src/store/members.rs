//! Members in memory: uniqueness of usernames and login emails, erasure, counts per plan.

use std::collections::BTreeSet;

use account_core::domain::email::EmailAddress;
use account_core::domain::member::{Member, MemberStatus};
use account_core::domain::text::PlanName;
use account_core::domain::username::Username;
use account_core::ids::{MemberId, OrganisationId};
use account_core::ports::{MemberCounts, MemberRepo, Page, StoreError, UniqueKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemTx, State, page};

fn check_member_unique(s: &State, m: &Member) -> Result<(), StoreError> {
    for other in s.members.values().filter(|o| o.id != m.id) {
        if other.username == m.username {
            return Err(StoreError::Conflict(UniqueKey::Username));
        }
        if other.email.key() == m.email.key() {
            return Err(StoreError::Conflict(UniqueKey::LoginEmail));
        }
    }
    Ok(())
}

#[async_trait]
impl MemberRepo for MemTx {
    async fn insert(&mut self, member: &Member) -> Result<(), StoreError> {
        let s = self.w("members.insert")?;
        if s.members.contains_key(&member.id) || s.erased.contains(&member.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        check_member_unique(s, member)?;
        s.members.insert(member.id, member.clone());
        Ok(())
    }
    async fn get(&mut self, id: MemberId) -> Result<Option<Member>, StoreError> {
        Ok(self.s().members.get(&id).cloned())
    }
    async fn lock(&mut self, id: MemberId) -> Result<Option<Member>, StoreError> {
        Ok(self.s().members.get(&id).cloned())
    }
    async fn lock_many(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        let ids: BTreeSet<MemberId> = ids.iter().copied().collect();
        Ok(ids.into_iter().filter_map(|id| self.s().members.get(&id).cloned()).collect())
    }
    async fn find_by_email(&mut self, email: &EmailAddress) -> Result<Option<Member>, StoreError> {
        let key = email.key();
        Ok(self.s().members.values().find(|m| m.email.key() == key).cloned())
    }
    async fn find_by_username(
        &mut self,
        username: &Username,
    ) -> Result<Option<Member>, StoreError> {
        Ok(self.s().members.values().find(|m| &m.username == username).cloned())
    }
    async fn update(&mut self, member: &Member) -> Result<(), StoreError> {
        let s = self.w("members.update")?;
        if !s.members.contains_key(&member.id) {
            return Err(StoreError::NotFound);
        }
        check_member_unique(s, member)?;
        s.members.insert(member.id, member.clone());
        Ok(())
    }
    async fn erase(&mut self, id: MemberId, _at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("members.erase")?;
        s.members.remove(&id).ok_or(StoreError::NotFound)?;
        s.erased.insert(id);
        Ok(())
    }
    async fn list(
        &mut self,
        org: OrganisationId,
        status: Option<MemberStatus>,
        p: Page<MemberId>,
    ) -> Result<Vec<Member>, StoreError> {
        let items = self
            .s()
            .members
            .values()
            .filter(|m| m.org_id == org && status.is_none_or(|st| m.status == st))
            .cloned();
        Ok(page(items, p, |m, c| m.id > c))
    }
    async fn counts(&mut self, org: OrganisationId) -> Result<MemberCounts, StoreError> {
        let mut c = MemberCounts::default();
        for m in self.s().members.values().filter(|m| m.org_id == org) {
            c.add(m.status, m.role, &m.plan, 1);
        }
        Ok(c)
    }
    async fn move_to_plan(
        &mut self,
        org: OrganisationId,
        from: &PlanName,
        to: &PlanName,
    ) -> Result<u64, StoreError> {
        let mut moved = 0;
        let s = self.w("members.move_to_plan")?;
        for m in s.members.values_mut().filter(|m| m.org_id == org && m.plan == *from) {
            m.plan = to.clone();
            moved += 1;
        }
        Ok(moved)
    }
}
