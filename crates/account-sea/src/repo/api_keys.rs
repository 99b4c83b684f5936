//! `ApiKeyRepo` over the `api_keys` table.

use account_core::domain::member::Member;
use account_core::domain::session::ApiKey;
use account_core::domain::text::KeyLabel;
use account_core::ids::{ApiKeyId, MemberId, OrganisationId};
use account_core::ports::{ApiKeyRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use super::{digest, micros, micros_opt, parse_opt};
use crate::entity::api_keys::{ActiveModel, Column, Entity, Model};
use crate::error::db_err;
use crate::store::SeaTx;

fn row(k: &ApiKey) -> ActiveModel {
    ActiveModel {
        id: Set(k.id.as_uuid()),
        member_id: Set(k.member_id.as_uuid()),
        org_id: Set(k.org_id.as_uuid()),
        label: Set(k.label.as_ref().map(|l| l.as_str().to_owned())),
        prefix: Set(k.prefix.clone()),
        secret_digest: Set(k.secret.as_bytes().to_vec()),
        created_at: Set(micros(k.created_at)),
        last_used_at: Set(micros_opt(k.last_used_at)),
    }
}

fn api_key(m: Model) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(m.id),
        member_id: MemberId::from_uuid(m.member_id),
        org_id: OrganisationId::from_uuid(m.org_id),
        label: parse_opt("api_keys.label", m.label.as_deref(), KeyLabel::from_stored)?,
        prefix: m.prefix,
        secret: digest("api_keys.secret_digest", &m.secret_digest)?,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    })
}

impl SeaTx {
    /// `Tx::api_key_and_member` in one joined statement.
    pub(crate) async fn api_key_and_member_joined(
        &mut self,
        id: ApiKeyId,
    ) -> Result<Option<(ApiKey, Option<Member>)>, StoreError> {
        self.with_member(Entity::find_by_id(id.as_uuid()), api_key).await
    }
}

#[async_trait]
impl ApiKeyRepo for SeaTx {
    async fn insert(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        Entity::insert(row(key)).exec_without_returning(&self.w()?).await.map_err(db_err)?;
        Ok(())
    }

    async fn get(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        let found = Entity::find_by_id(id.as_uuid()).one(&self.r()).await.map_err(db_err)?;
        found.map(api_key).transpose()
    }

    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<ApiKey>, StoreError> {
        let rows = Entity::find()
            .filter(Column::MemberId.eq(member.as_uuid()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(api_key).collect()
    }

    async fn touch(&mut self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let at = micros(at);
        Entity::update_many()
            .set(ActiveModel { last_used_at: Set(Some(at)), ..ActiveModel::default() })
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(
                Condition::any().add(Column::LastUsedAt.is_null()).add(Column::LastUsedAt.lt(at)),
            )
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete(&mut self, id: ApiKeyId) -> Result<(), StoreError> {
        let done = Entity::delete_many()
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_for_member(&mut self, member: MemberId) -> Result<u64, StoreError> {
        let done = Entity::delete_many()
            .filter(Column::MemberId.eq(member.as_uuid()))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected)
    }
}
