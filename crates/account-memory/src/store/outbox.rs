//! The mail outbox in memory.

use account_core::domain::mail::OutboxMail;
use account_core::ids::MailId;
use account_core::ports::{OutboxRepo, StoreError, UniqueKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemTx;

#[async_trait]
impl OutboxRepo for MemTx {
    async fn enqueue(&mut self, mail: &OutboxMail) -> Result<(), StoreError> {
        let s = self.w("outbox.enqueue")?;
        if s.outbox.contains_key(&mail.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.outbox.insert(mail.id, mail.clone());
        Ok(())
    }
    async fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let s = self.w("outbox.claim_due")?;
        let mut due: Vec<&mut OutboxMail> = s
            .outbox
            .values_mut()
            .filter(|m| m.sent_at.is_none() && m.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|m| (m.next_attempt_at, m.created_at, m.id));
        let mut claimed = Vec::new();
        for mail in due.into_iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
            claimed.push(mail.clone());
            mail.next_attempt_at = lease_until;
        }
        Ok(claimed)
    }
    async fn mark_sent(&mut self, id: MailId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("outbox.mark_sent")?;
        let mail = s.outbox.get_mut(&id).ok_or(StoreError::NotFound)?;
        mail.sent_at = Some(at);
        mail.sealed.clear();
        Ok(())
    }
    async fn reschedule(
        &mut self,
        id: MailId,
        attempts: u32,
        next: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let s = self.w("outbox.reschedule")?;
        let mail = s.outbox.get_mut(&id).ok_or(StoreError::NotFound)?;
        mail.attempts = attempts;
        mail.next_attempt_at = next;
        mail.last_error = Some(error.to_owned());
        Ok(())
    }
    async fn pending(&mut self, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let mut items: Vec<_> =
            self.s().outbox.values().filter(|m| m.sent_at.is_none()).cloned().collect();
        items.sort_by_key(|m| (m.created_at, m.id));
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(items)
    }
}
