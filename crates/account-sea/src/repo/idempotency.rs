//! `IdempotencyRepo` over the `idempotency_records` table, keyed by (scope, key); the outcome
//! is stored as JSON (serde's form of the domain's `Outcome`).

use account_core::domain::idempotency::Outcome;
use account_core::ports::{IdempotencyRecord, IdempotencyRepo, StoreError, UniqueKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TryInsertResult};

use super::micros;
use crate::entity::idempotency_records::{ActiveModel, Column, Entity, Model};
use crate::error::{corrupt, db_err};
use crate::store::{Queued, SeaTx};

/// The key under which a write unit holds a record it reserved (`SeaTx::hold`).
fn record_key(scope: &str, key: &str) -> String {
    format!("idempotency_records:{}:{scope}\0{key}", scope.len())
}

fn outcome_json(outcome: &Outcome) -> Result<String, StoreError> {
    serde_json::to_string(outcome).map_err(|e| StoreError::Other(Box::new(e)))
}

fn record(m: Model) -> Result<IdempotencyRecord, StoreError> {
    let outcome = m
        .outcome
        .map(|json| serde_json::from_str(&json).map_err(|_| corrupt("idempotency_records.outcome")))
        .transpose()?;
    Ok(IdempotencyRecord {
        scope: m.scope,
        key: m.client_key,
        fingerprint: m.fingerprint,
        outcome,
        created_at: m.created_at,
    })
}

#[async_trait]
impl IdempotencyRepo for SeaTx {
    async fn get(
        &mut self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let found = Entity::find_by_id((scope.to_owned(), key.to_owned()))
            .one(&self.r())
            .await
            .map_err(db_err)?;
        found.map(record).transpose()
    }

    async fn insert(&mut self, r: &IdempotencyRecord) -> Result<(), StoreError> {
        let row = ActiveModel {
            scope: Set(r.scope.clone()),
            client_key: Set(r.key.clone()),
            fingerprint: Set(r.fingerprint.clone()),
            outcome: Set(r.outcome.as_ref().map(outcome_json).transpose()?),
            created_at: Set(micros(r.created_at)),
        };
        // ON CONFLICT DO NOTHING rather than a savepoint around a failing INSERT: a key
        // taken is the common answer here (a retried request), and this way it costs one
        // statement and leaves the unit usable on PostgreSQL too. While another transaction
        // holds an uncommitted row of the same key, PostgreSQL waits for it to end before it
        // decides: the wait that makes a retry replay instead of running twice.
        let done = Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::Scope, Column::ClientKey]).do_nothing().to_owned(),
            )
            .try_insert()
            .exec_without_returning(&self.w()?)
            .await
            .map_err(db_err)?;
        match done {
            TryInsertResult::Inserted(n) if n > 0 => {
                self.hold(record_key(&r.scope, &r.key));
                Ok(())
            }
            _ => Err(StoreError::Conflict(UniqueKey::IdempotencyKey)),
        }
    }

    async fn complete(
        &mut self,
        scope: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let changes =
            ActiveModel { outcome: Set(Some(outcome_json(outcome)?)), ..ActiveModel::default() };
        let update = Entity::update_many()
            .set(changes)
            .filter(Column::Scope.eq(scope))
            .filter(Column::ClientKey.eq(key));
        // A record this unit reserved is there: the update may wait in the unit's queue.
        let changed = if self.holds(&record_key(scope, key)) {
            self.write_later(update, Queued::UpdateOne).await?
        } else {
            Some(update.exec(&self.w()?).await.map_err(db_err)?.rows_affected)
        };
        if changed == Some(0) {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete(&mut self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.release(&record_key(scope, key));
        Entity::delete_many()
            .filter(Column::Scope.eq(scope))
            .filter(Column::ClientKey.eq(key))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn purge(&mut self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.release_all();
        let done = Entity::delete_many()
            .filter(Column::CreatedAt.lt(micros(before)))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected)
    }
}
