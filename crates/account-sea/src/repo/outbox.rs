//! `OutboxRepo` over the `outbox` table. Claiming due mails leases them by moving their
//! `next_attempt_at`; on PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so two
//! workers claiming at once take disjoint mails; on SQLite write units are serialised whole.

use account_core::domain::mail::{MailKind, OutboxMail};
use account_core::ids::MailId;
use account_core::ports::{OutboxRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{micros, micros_opt, narrow};
use crate::entity::outbox::{ActiveModel, Column, Entity, Model};
use crate::error::{corrupt, db_err};
use crate::store::SeaTx;

fn row(m: &OutboxMail) -> ActiveModel {
    ActiveModel {
        id: Set(m.id.as_uuid()),
        kind: Set(m.kind.as_str().to_owned()),
        sealed: Set(m.sealed.clone()),
        created_at: Set(micros(m.created_at)),
        attempts: Set(i64::from(m.attempts)),
        next_attempt_at: Set(micros(m.next_attempt_at)),
        last_error: Set(m.last_error.clone()),
        sent_at: Set(micros_opt(m.sent_at)),
    }
}

fn mail(m: Model) -> Result<OutboxMail, StoreError> {
    Ok(OutboxMail {
        id: MailId::from_uuid(m.id),
        kind: MailKind::parse(&m.kind).ok_or_else(|| corrupt("outbox.kind"))?,
        sealed: m.sealed,
        created_at: m.created_at,
        attempts: narrow("outbox.attempts", m.attempts)?,
        next_attempt_at: m.next_attempt_at,
        last_error: m.last_error,
        sent_at: m.sent_at,
    })
}

impl SeaTx {
    async fn update_mail(&self, id: MailId, changes: ActiveModel) -> Result<(), StoreError> {
        let done = Entity::update_many()
            .set(changes)
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl OutboxRepo for SeaTx {
    async fn enqueue(&mut self, m: &OutboxMail) -> Result<(), StoreError> {
        Entity::insert(row(m)).exec_without_returning(&self.w()?).await.map_err(db_err)?;
        Ok(())
    }

    async fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let txn = &self.w()?;
        let mut due = Entity::find()
            .filter(Column::SentAt.is_null())
            .filter(Column::NextAttemptAt.lte(micros(now)))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(u64::from(limit));
        if self.backend() == DbBackend::Postgres {
            due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = due.all(txn).await.map_err(db_err)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        Entity::update_many()
            .set(ActiveModel {
                next_attempt_at: Set(micros(lease_until)),
                ..ActiveModel::default()
            })
            .filter(Column::Id.is_in(ids))
            .exec(txn)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mail).collect()
    }

    async fn mark_sent(&mut self, id: MailId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let changes = ActiveModel {
            sent_at: Set(Some(micros(at))),
            sealed: Set(Vec::new()),
            ..ActiveModel::default()
        };
        self.update_mail(id, changes).await
    }

    async fn reschedule(
        &mut self,
        id: MailId,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let changes = ActiveModel {
            attempts: Set(i64::from(attempts)),
            next_attempt_at: Set(micros(next_attempt_at)),
            last_error: Set(Some(error.to_owned())),
            ..ActiveModel::default()
        };
        self.update_mail(id, changes).await
    }

    async fn pending(&mut self, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = Entity::find()
            .filter(Column::SentAt.is_null())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(u64::from(limit))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mail).collect()
    }
}
