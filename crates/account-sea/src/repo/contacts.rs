//! `ContactRepo` over the `contacts` table.

use account_core::domain::contact::{ContactAddress, ContactRoles};
use account_core::domain::email::EmailAddress;
use account_core::ids::{ContactId, OrganisationId};
use account_core::ports::{ContactRepo, StoreError};
use async_trait::async_trait;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{CodeColumns, micros, micros_opt, parse};
use crate::entity::contacts::{ActiveModel, Column, Entity, Model};
use crate::error::db_err;
use crate::store::SeaTx;

fn row(c: &ContactAddress) -> ActiveModel {
    let code = CodeColumns::of(c.pending.as_ref());
    ActiveModel {
        id: Set(c.id.as_uuid()),
        org_id: Set(c.org_id.as_uuid()),
        email: Set(c.email.as_str().to_owned()),
        email_key: Set(c.email.key()),
        verified_at: Set(micros_opt(c.verified_at)),
        role_billing: Set(c.roles.billing),
        role_tech: Set(c.roles.tech),
        role_dpo: Set(c.roles.dpo),
        code_digest: Set(code.digest),
        code_sent_at: Set(code.sent_at),
        code_expires_at: Set(code.expires_at),
        code_wrong_tries: Set(code.wrong_tries),
        code_sends: Set(code.sends),
        created_at: Set(micros(c.created_at)),
    }
}

fn contact(m: Model) -> Result<ContactAddress, StoreError> {
    let code = CodeColumns {
        digest: m.code_digest,
        sent_at: m.code_sent_at,
        expires_at: m.code_expires_at,
        wrong_tries: m.code_wrong_tries,
        sends: m.code_sends,
    };
    Ok(ContactAddress {
        id: ContactId::from_uuid(m.id),
        org_id: OrganisationId::from_uuid(m.org_id),
        email: parse("contacts.email", EmailAddress::parse(&m.email))?,
        verified_at: m.verified_at,
        roles: ContactRoles { billing: m.role_billing, tech: m.role_tech, dpo: m.role_dpo },
        pending: code.read("contacts")?,
        created_at: m.created_at,
    })
}

#[async_trait]
impl ContactRepo for SeaTx {
    async fn insert(&mut self, c: &ContactAddress) -> Result<(), StoreError> {
        self.exec_guarded(Entity::insert(row(c))).await?;
        Ok(())
    }

    async fn list(&mut self, org: OrganisationId) -> Result<Vec<ContactAddress>, StoreError> {
        let rows = Entity::find()
            .filter(Column::OrgId.eq(org.as_uuid()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(contact).collect()
    }

    async fn update(&mut self, c: &ContactAddress) -> Result<(), StoreError> {
        let mut changes = row(c);
        changes.id = NotSet;
        let update = Entity::update_many().set(changes).filter(Column::Id.eq(c.id.as_uuid()));
        if self.exec_guarded(update).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete(&mut self, id: ContactId) -> Result<(), StoreError> {
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
}
