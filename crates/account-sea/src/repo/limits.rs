//! `LimitRepo` over the `limits` and `known_clients` tables.

use std::collections::BTreeMap;

use account_core::ports::{LimitRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder};

use super::micros;
use crate::entity::{known_clients, limits};
use crate::error::db_err;
use crate::store::{Queued, SeaTx};

#[async_trait]
impl LimitRepo for SeaTx {
    async fn lock(&mut self, keys: &[String]) -> Result<Vec<Option<DateTime<Utc>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // On PostgreSQL, a row for every key first (a spent-out state, the epoch, for new
        // ones): it cannot lock a row that does not exist, and two units reading "no row"
        // would both take a full budget. A unit inserting a key waits for another inserting
        // it, then both lock the one row. In key order, the order of the rows' locks. SQLite
        // runs write units one at a time, so "no row" holds until the unit's `put`.
        if self.writable() && self.backend() == DbBackend::Postgres {
            let rows = keys.iter().map(|key| limits::ActiveModel {
                key: Set(key.clone()),
                state: Set(DateTime::UNIX_EPOCH),
            });
            limits::Entity::insert_many(rows)
                .on_conflict(OnConflict::column(limits::Column::Key).do_nothing().to_owned())
                .try_insert()
                .exec_without_returning(&self.w()?)
                .await
                .map_err(db_err)?;
        }
        let select = limits::Entity::find()
            .filter(limits::Column::Key.is_in(keys.iter().cloned()))
            .order_by_asc(limits::Column::Key);
        let rows = self.locking(select).all(&self.r()).await.map_err(db_err)?;
        Ok(keys
            .iter()
            .map(|key| {
                rows.iter()
                    .find(|r| &r.key == key)
                    .map(|r| r.state)
                    .filter(|state| *state > DateTime::UNIX_EPOCH)
            })
            .collect())
    }

    async fn put(&mut self, states: &[(String, DateTime<Utc>)]) -> Result<(), StoreError> {
        // One statement for every key (PostgreSQL answers each statement in a round trip of
        // its own); one row per key, as one statement may not upsert a row twice.
        let last: BTreeMap<&str, DateTime<Utc>> =
            states.iter().map(|(key, state)| (key.as_str(), *state)).collect();
        let rows = last.iter().map(|(key, state)| limits::ActiveModel {
            key: Set((*key).to_owned()),
            state: Set(micros(*state)),
        });
        let replace =
            OnConflict::column(limits::Column::Key).update_column(limits::Column::State).to_owned();
        let n = u64::try_from(last.len()).unwrap_or(u64::MAX);
        if n > 0 {
            let insert = limits::Entity::insert_many(rows).on_conflict(replace);
            self.write_later(insert, Queued::Insert(n)).await?;
        }
        Ok(())
    }

    async fn known(&mut self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let found = known_clients::Entity::find_by_id(key.to_owned())
            .filter(known_clients::Column::Until.gt(micros(now)))
            .one(&self.r())
            .await
            .map_err(db_err)?;
        Ok(found.is_some())
    }

    async fn remember(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let row =
            known_clients::ActiveModel { key: Set(key.to_owned()), until: Set(micros(until)) };
        let replace = OnConflict::column(known_clients::Column::Key)
            .update_column(known_clients::Column::Until)
            .to_owned();
        self.write_later(
            known_clients::Entity::insert(row).on_conflict(replace),
            Queued::Insert(1),
        )
        .await?;
        Ok(())
    }

    async fn purge(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let states = limits::Entity::delete_many()
            .filter(limits::Column::State.lte(micros(now)))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        let clients = known_clients::Entity::delete_many()
            .filter(known_clients::Column::Until.lte(micros(now)))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(states.rows_affected + clients.rows_affected)
    }
}
