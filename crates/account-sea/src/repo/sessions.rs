//! `SessionRepo` over the `sessions` table. Ending a session also ends the impersonation
//! sessions hanging on it (`imp_admin_session_id`), in the same statement or unit.

use account_core::domain::member::Member;
use account_core::domain::organisation::Organisation;
use account_core::domain::session::{ImpersonationInfo, Session};
use account_core::domain::text::{ClientName, Reason};
use account_core::ids::{MemberId, OrganisationId, SessionId};
use account_core::ports::{SessionRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use std::collections::HashMap;

use super::members::joined_member;
use super::organisations::organisation;
use super::{digest, micros, parse, parse_opt};
use crate::batch::SessionRead;
use crate::entity::sessions::{ActiveModel, Column, Entity, Model};
use crate::entity::{members, organisations};
use crate::error::{corrupt, db_err};
use crate::store::{Queued, SeaTx};

fn row(s: &Session) -> ActiveModel {
    let imp = s.impersonation.as_ref();
    ActiveModel {
        id: Set(s.id.as_uuid()),
        member_id: Set(s.member_id.as_uuid()),
        org_id: Set(s.org_id.as_uuid()),
        secret_digest: Set(s.secret.as_bytes().to_vec()),
        created_at: Set(micros(s.created_at)),
        last_seen_at: Set(micros(s.last_seen_at)),
        expires_at: Set(micros(s.expires_at)),
        client: Set(s.client.as_ref().map(|c| c.as_str().to_owned())),
        imp_admin_id: Set(imp.map(|i| i.admin_id.as_uuid())),
        imp_admin_session_id: Set(imp.map(|i| i.admin_session_id.as_uuid())),
        imp_reason: Set(imp.map(|i| i.reason.as_str().to_owned())),
    }
}

fn session(m: Model) -> Result<Session, StoreError> {
    let impersonation = match (m.imp_admin_id, m.imp_admin_session_id, m.imp_reason) {
        (Some(admin), Some(admin_session), Some(reason)) => Some(ImpersonationInfo {
            admin_id: MemberId::from_uuid(admin),
            admin_session_id: SessionId::from_uuid(admin_session),
            reason: parse("sessions.imp_reason", Reason::from_stored(&reason))?,
        }),
        (None, None, None) => None,
        _ => return Err(corrupt("sessions.imp_*")),
    };
    Ok(Session {
        id: SessionId::from_uuid(m.id),
        member_id: MemberId::from_uuid(m.member_id),
        org_id: OrganisationId::from_uuid(m.org_id),
        secret: digest("sessions.secret_digest", &m.secret_digest)?,
        created_at: m.created_at,
        last_seen_at: m.last_seen_at,
        expires_at: m.expires_at,
        client: parse_opt("sessions.client", m.client.as_deref(), ClientName::from_stored)?,
        impersonation,
    })
}

/// A session row with its member's and their organisation's, read back.
fn joined(
    row: Model,
    m: Option<members::Model>,
    o: Option<organisations::Model>,
) -> Result<SessionRead, StoreError> {
    let member = joined_member(m)?;
    // The organisation comes with its member: none for an erased one.
    let organisation = o.filter(|_| member.is_some()).map(organisation).transpose()?;
    Ok((session(row)?, member, organisation))
}

/// The sessions `ids` (duplicates allowed), each with its member and their organisation, in
/// one statement on the pool; a row that cannot be read back is its session's error.
pub(crate) async fn read_sessions(
    db: &DatabaseConnection,
    ids: &[SessionId],
) -> Result<HashMap<SessionId, Result<SessionRead, StoreError>>, StoreError> {
    let rows = Entity::find()
        .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
        .find_also_related(members::Entity)
        .and_also_related(organisations::Entity)
        .all(db)
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|(row, m, o)| (SessionId::from_uuid(row.id), joined(row, m, o)))
        .collect())
}

impl SeaTx {
    /// `Tx::session_and_member` in one joined statement.
    pub(crate) async fn session_and_member_joined(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>)>, StoreError> {
        if let Some(reads) = &self.session_reads {
            // The coalesced read has the organisation too; one statement shape serves both.
            let read = reads.read(id).await?;
            return Ok(read.map(|(session, member, _)| (session, member)));
        }
        self.with_member(Entity::find_by_id(id.as_uuid()), session).await
    }

    /// `Tx::session_member_and_organisation` in one statement: the session, left-joined to its
    /// member, left-joined to the member's organisation.
    pub(crate) async fn session_member_and_organisation_joined(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>, Option<Organisation>)>, StoreError> {
        if let Some(reads) = &self.session_reads {
            return reads.read(id).await;
        }
        let found = Entity::find_by_id(id.as_uuid())
            .find_also_related(members::Entity)
            .and_also_related(organisations::Entity)
            .one(&self.r())
            .await
            .map_err(db_err)?;
        found.map(|(row, m, o)| joined(row, m, o)).transpose()
    }

    /// Deletes the sessions matching `doomed` and every session hanging on one of them, in two
    /// set-based statements; returns how many sessions matching `doomed` went.
    async fn end_sessions(&self, doomed: Condition) -> Result<u64, StoreError> {
        let txn = &self.w()?;
        let parents =
            Query::select().column(Column::Id).from(Entity).cond_where(doomed.clone()).to_owned();
        Entity::delete_many()
            .filter(Column::ImpAdminSessionId.in_subquery(parents))
            .filter(doomed.clone().not())
            .exec(txn)
            .await
            .map_err(db_err)?;
        let done = Entity::delete_many().filter(doomed).exec(txn).await.map_err(db_err)?;
        Ok(done.rows_affected)
    }
}

#[async_trait]
impl SessionRepo for SeaTx {
    async fn insert(&mut self, s: &Session) -> Result<(), StoreError> {
        self.write_later(Entity::insert(row(s)), Queued::Insert(1)).await?;
        Ok(())
    }

    async fn get(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let found = Entity::find_by_id(id.as_uuid()).one(&self.r()).await.map_err(db_err)?;
        found.map(session).transpose()
    }

    async fn touch(&mut self, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let at = micros(at);
        Entity::update_many()
            .set(ActiveModel { last_seen_at: Set(at), ..ActiveModel::default() })
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::LastSeenAt.lt(at))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete(&mut self, id: SessionId) -> Result<(), StoreError> {
        self.end_sessions(Condition::all().add(Column::Id.eq(id.as_uuid()))).await?;
        Ok(())
    }

    async fn delete_for_member(
        &mut self,
        member: MemberId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let mut acting_as = Condition::all().add(Column::MemberId.eq(member.as_uuid()));
        if let Some(keep) = keep {
            acting_as = acting_as.add(Column::Id.ne(keep.as_uuid()));
        }
        self.end_sessions(acting_as).await
    }

    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<Session>, StoreError> {
        let rows = Entity::find()
            .filter(Column::MemberId.eq(member.as_uuid()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(session).collect()
    }

    async fn children(&mut self, admin_session: SessionId) -> Result<Vec<Session>, StoreError> {
        let rows = Entity::find()
            .filter(Column::ImpAdminSessionId.eq(admin_session.as_uuid()))
            .order_by_asc(Column::Id)
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(session).collect()
    }

    async fn delete_expired(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let txn = &self.w()?;
        let expired = Condition::all().add(Column::ExpiresAt.lte(micros(now)));
        let parents =
            Query::select().column(Column::Id).from(Entity).cond_where(expired.clone()).to_owned();
        // Children of expired sessions that did not expire themselves, then the expired ones:
        // the sum counts every session removed, as the memory store does.
        let children = Entity::delete_many()
            .filter(Column::ImpAdminSessionId.in_subquery(parents))
            .filter(expired.clone().not())
            .exec(txn)
            .await
            .map_err(db_err)?;
        let done = Entity::delete_many().filter(expired).exec(txn).await.map_err(db_err)?;
        Ok(children.rows_affected + done.rows_affected)
    }
}
