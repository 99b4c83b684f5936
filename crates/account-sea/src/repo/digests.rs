//! `DigestRepo` over the `digests` table (one row per member).

use account_core::domain::digest::ScheduledDigest;
use account_core::domain::timezone::Timezone;
use account_core::ids::MemberId;
use account_core::ports::{DigestRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{micros, parse};
use crate::entity::digests::{ActiveModel, Column, Entity, Model};
use crate::error::db_err;
use crate::store::SeaTx;

fn digest(m: Model) -> Result<ScheduledDigest, StoreError> {
    Ok(ScheduledDigest {
        member_id: MemberId::from_uuid(m.member_id),
        due_at: m.due_at,
        timezone: parse("digests.timezone", Timezone::parse(&m.timezone))?,
    })
}

#[async_trait]
impl DigestRepo for SeaTx {
    async fn get(&mut self, member: MemberId) -> Result<Option<ScheduledDigest>, StoreError> {
        let found = Entity::find_by_id(member.as_uuid()).one(&self.r()).await.map_err(db_err)?;
        found.map(digest).transpose()
    }

    async fn put(&mut self, d: &ScheduledDigest) -> Result<(), StoreError> {
        let row = ActiveModel {
            member_id: Set(d.member_id.as_uuid()),
            due_at: Set(micros(d.due_at)),
            timezone: Set(d.timezone.name().to_owned()),
        };
        let replace = OnConflict::column(Column::MemberId)
            .update_columns([Column::DueAt, Column::Timezone])
            .to_owned();
        Entity::insert(row)
            .on_conflict(replace)
            .exec_without_returning(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError> {
        Entity::delete_many()
            .filter(Column::MemberId.eq(member.as_uuid()))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn due(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledDigest>, StoreError> {
        let rows = Entity::find()
            .filter(Column::DueAt.lte(micros(now)))
            .order_by_asc(Column::DueAt)
            .order_by_asc(Column::MemberId)
            .limit(u64::from(limit))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(digest).collect()
    }
}
