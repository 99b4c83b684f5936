//! `AuditRepo` over the `audit_entries` table (append-only; read newest first).

use account_core::domain::audit::{AuditAction, AuditCursor, AuditEntry, AuditTarget};
use account_core::ids::{AuditEntryId, MemberId, OrganisationId};
use account_core::ports::{AuditRepo, Page, StoreError};
use async_trait::async_trait;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::credits::{principal, principal_columns};
use super::micros;
use crate::entity::audit_entries::{ActiveModel, Column, Entity, Model};
use crate::error::{corrupt, db_err};
use crate::store::{Queued, SeaTx};

fn row(e: &AuditEntry) -> ActiveModel {
    let (actor_kind, actor_member_id) = principal_columns(e.actor);
    ActiveModel {
        id: Set(e.id.as_uuid()),
        org_id: Set(e.org_id.map(|o| o.as_uuid())),
        at: Set(micros(e.at)),
        actor_kind: Set(actor_kind.to_owned()),
        actor_member_id: Set(actor_member_id),
        acting_as: Set(e.acting_as.map(|m| m.as_uuid())),
        action: Set(e.action.as_str().to_owned()),
        target: Set(e.target.to_string()),
        detail: Set(e.detail.clone()),
    }
}

fn entry(m: Model) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: AuditEntryId::from_uuid(m.id),
        org_id: m.org_id.map(OrganisationId::from_uuid),
        at: m.at,
        actor: principal("audit_entries", &m.actor_kind, m.actor_member_id)?,
        acting_as: m.acting_as.map(MemberId::from_uuid),
        action: AuditAction::parse(&m.action).ok_or_else(|| corrupt("audit_entries.action"))?,
        target: AuditTarget::parse(&m.target).ok_or_else(|| corrupt("audit_entries.target"))?,
        detail: m.detail,
    })
}

#[async_trait]
impl AuditRepo for SeaTx {
    async fn append(&mut self, e: &AuditEntry) -> Result<(), StoreError> {
        self.write_later(Entity::insert(row(e)), Queued::Insert(1)).await?;
        Ok(())
    }

    async fn list(
        &mut self,
        org: OrganisationId,
        page: Page<AuditCursor>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut select = Entity::find().filter(Column::OrgId.eq(org.as_uuid()));
        if let Some(after) = page.after {
            let at = micros(after.at);
            select = select.filter(Condition::any().add(Column::At.lt(at)).add(
                Condition::all().add(Column::At.eq(at)).add(Column::Id.lt(after.id.as_uuid())),
            ));
        }
        let rows = select
            .order_by_desc(Column::At)
            .order_by_desc(Column::Id)
            .limit(u64::from(page.limit))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(entry).collect()
    }
}
