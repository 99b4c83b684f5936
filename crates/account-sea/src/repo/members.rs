//! `MemberRepo` over the `members` table. Erasing a member blanks its personal data and sets
//! `erased_at`; every read skips such tombstones.

use std::collections::BTreeSet;

use account_core::domain::email::EmailAddress;
use account_core::domain::linkedin::LinkedInUrl;
use account_core::domain::member::{
    Invitation, Member, MemberStatus, PasswordReset, Profile, Role,
};
use account_core::domain::organisation::Organisation;
use account_core::domain::password::PasswordHash;
use account_core::domain::phone::PhoneNumber;
use account_core::domain::preferences::{
    ExportDefaults, ExportFormat, NotificationSettings, Preferences,
};
use account_core::domain::products::{Offering, ProductName};
use account_core::domain::text::{CompanyName, JobTitle, PersonName, PlanName};
use account_core::domain::timezone::Timezone;
use account_core::domain::username::Username;
use account_core::ids::{MemberId, OrganisationId, ProductId};
use account_core::ports::{MemberCounts, MemberRepo, Page, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, Related, Select, Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::organisations::organisation;
use super::{digest, micros, micros_opt, narrow, parse, parse_opt, required, widen};
use crate::entity::members::{ActiveModel, Column, Entity, Model};
use crate::entity::organisations;
use crate::error::{corrupt, db_err};
use crate::store::SeaTx;

fn offerings_json(offerings: &[Offering]) -> String {
    let items: Vec<Value> = offerings
        .iter()
        .map(|o| match o {
            Offering::Catalogue(id) => json!({ "product": id.to_string() }),
            Offering::Custom(name) => json!({ "custom": name.as_str() }),
        })
        .collect();
    Value::Array(items).to_string()
}

fn offerings(stored: &str) -> Result<Vec<Offering>, StoreError> {
    let bad = || corrupt("members.offerings");
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(stored) else { return Err(bad()) };
    items
        .iter()
        .map(|item| {
            if let Some(id) = item.get("product").and_then(Value::as_str) {
                Ok(Offering::Catalogue(id.parse::<ProductId>().map_err(|_| bad())?))
            } else if let Some(name) = item.get("custom").and_then(Value::as_str) {
                Ok(Offering::Custom(ProductName::from_stored(name).map_err(|_| bad())?))
            } else {
                Err(bad())
            }
        })
        .collect()
}

fn row(m: &Member) -> Result<ActiveModel, StoreError> {
    let p = &m.profile;
    let prefs = &m.preferences;
    let text = |v: &str| Some(v.to_owned());
    Ok(ActiveModel {
        id: Set(m.id.as_uuid()),
        org_id: Set(m.org_id.as_uuid()),
        role: Set(m.role.as_str().to_owned()),
        status: Set(m.status.as_str().to_owned()),
        plan: Set(m.plan.as_str().to_owned()),
        username: Set(text(m.username.as_str())),
        email: Set(text(m.email.as_str())),
        email_key: Set(Some(m.email.key())),
        password_hash: Set(m.password.as_ref().map(|h| h.as_str().to_owned())),
        invitation_digest: Set(m.invitation.as_ref().map(|i| i.secret.as_bytes().to_vec())),
        invitation_expires_at: Set(micros_opt(m.invitation.as_ref().map(|i| i.expires_at))),
        first_name: Set(text(p.first_name.as_str())),
        last_name: Set(p.last_name.as_ref().map(|v| v.as_str().to_owned())),
        phone: Set(p.phone.as_ref().map(|v| v.as_str().to_owned())),
        company: Set(p.company.as_ref().map(|v| v.as_str().to_owned())),
        job_title: Set(p.job_title.as_ref().map(|v| v.as_str().to_owned())),
        linkedin: Set(p.linkedin.as_ref().map(|v| v.as_str().to_owned())),
        profile_version: Set(widen(m.profile_version)?),
        notify_low_credits: Set(prefs.notifications.low_credit_alerts),
        notify_weekly_digest: Set(prefs.notifications.weekly_usage_digest),
        notify_product_news: Set(prefs.notifications.product_news),
        export_format: Set(prefs.export.format.as_str().to_owned()),
        export_include_emails: Set(prefs.export.include_emails),
        export_include_phones: Set(prefs.export.include_phone_numbers),
        timezone: Set(prefs.timezone.name().to_owned()),
        offerings: Set(offerings_json(&m.offerings)),
        created_at: Set(micros(m.created_at)),
        erased_at: Set(None),
        reset_digest: Set(m.password_reset.as_ref().map(|r| r.secret.as_bytes().to_vec())),
        reset_expires_at: Set(micros_opt(m.password_reset.as_ref().map(|r| r.expires_at))),
    })
}

fn member(m: Model) -> Result<Member, StoreError> {
    let invitation = match (m.invitation_digest, m.invitation_expires_at) {
        (Some(d), Some(expires_at)) => {
            Some(Invitation { secret: digest("members.invitation_digest", &d)?, expires_at })
        }
        (None, None) => None,
        _ => return Err(corrupt("members.invitation_*")),
    };
    let password_reset = match (m.reset_digest, m.reset_expires_at) {
        (Some(d), Some(expires_at)) => {
            Some(PasswordReset { secret: digest("members.reset_digest", &d)?, expires_at })
        }
        (None, None) => None,
        _ => return Err(corrupt("members.reset_*")),
    };
    let first_name = required("members.first_name", m.first_name.as_deref())?;
    Ok(Member {
        id: MemberId::from_uuid(m.id),
        org_id: OrganisationId::from_uuid(m.org_id),
        role: Role::parse(&m.role).ok_or_else(|| corrupt("members.role"))?,
        status: MemberStatus::parse(&m.status).ok_or_else(|| corrupt("members.status"))?,
        plan: parse("members.plan", PlanName::from_stored(&m.plan))?,
        username: parse(
            "members.username",
            Username::parse(required("members.username", m.username.as_deref())?),
        )?,
        email: parse(
            "members.email",
            EmailAddress::parse(required("members.email", m.email.as_deref())?),
        )?,
        password: m.password_hash.map(PasswordHash::from_stored),
        invitation,
        password_reset,
        profile: Profile {
            first_name: parse("members.first_name", PersonName::from_stored(first_name))?,
            last_name: parse_opt(
                "members.last_name",
                m.last_name.as_deref(),
                PersonName::from_stored,
            )?,
            phone: parse_opt("members.phone", m.phone.as_deref(), PhoneNumber::parse)?,
            company: parse_opt("members.company", m.company.as_deref(), CompanyName::from_stored)?,
            job_title: parse_opt(
                "members.job_title",
                m.job_title.as_deref(),
                JobTitle::from_stored,
            )?,
            linkedin: parse_opt("members.linkedin", m.linkedin.as_deref(), LinkedInUrl::parse)?,
        },
        profile_version: narrow("members.profile_version", m.profile_version)?,
        preferences: Preferences {
            notifications: NotificationSettings {
                low_credit_alerts: m.notify_low_credits,
                weekly_usage_digest: m.notify_weekly_digest,
                product_news: m.notify_product_news,
            },
            export: ExportDefaults {
                format: ExportFormat::parse(&m.export_format)
                    .ok_or_else(|| corrupt("members.export_format"))?,
                include_emails: m.export_include_emails,
                include_phone_numbers: m.export_include_phones,
            },
            timezone: parse("members.timezone", Timezone::parse(&m.timezone))?,
        },
        offerings: offerings(&m.offerings)?,
        created_at: m.created_at,
    })
}

/// First key of the advisory locks on usernames (`"uname"` folded into an `int4`).
const USERNAME_LOCK_CLASS: i32 = 0x756e_616d;

/// Members that were not erased.
fn live() -> Select<Entity> {
    Entity::find().filter(Column::ErasedAt.is_null())
}

/// A member row read through a join: absent when erased, as [`live`] reads it.
pub(super) fn joined_member(found: Option<Model>) -> Result<Option<Member>, StoreError> {
    found.filter(|m| m.erased_at.is_none()).map(member).transpose()
}

impl SeaTx {
    /// The row `select` finds, converted by `convert`, and its member read in the same joined
    /// statement (absent when erased, as [`live`] reads it): a session's or API key's.
    pub(crate) async fn with_member<E, T>(
        &self,
        select: Select<E>,
        convert: impl FnOnce(E::Model) -> Result<T, StoreError>,
    ) -> Result<Option<(T, Option<Member>)>, StoreError>
    where
        E: EntityTrait + Related<Entity>,
    {
        let found = select.find_also_related(Entity).one(&self.r()).await.map_err(db_err)?;
        let Some((row, m)) = found else { return Ok(None) };
        Ok(Some((convert(row)?, joined_member(m)?)))
    }

    /// `Tx::member_and_organisation` in one joined statement.
    pub(crate) async fn member_and_organisation_joined(
        &mut self,
        id: MemberId,
    ) -> Result<Option<(Member, Option<Organisation>)>, StoreError> {
        let found = live()
            .filter(Column::Id.eq(id.as_uuid()))
            .find_also_related(organisations::Entity)
            .one(&self.r())
            .await
            .map_err(db_err)?;
        let Some((m, o)) = found else { return Ok(None) };
        Ok(Some((member(m)?, o.map(organisation).transpose()?)))
    }

    /// `Tx::members_by_id`: one `id IN (…)` statement per [`IN_CHUNK`] ids.
    pub(crate) async fn members_in(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        let ids: BTreeSet<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let rows = live()
                .filter(Column::Id.is_in(chunk.iter().copied()))
                .all(&self.r())
                .await
                .map_err(db_err)?;
            for row in rows {
                found.push(member(row)?);
            }
        }
        Ok(found)
    }
}

/// Ids bound per `IN (…)` list: far under SQLite's and PostgreSQL's parameter limits, and
/// one statement for any team the licences allow in practice.
const IN_CHUNK: usize = 500;

#[async_trait]
impl MemberRepo for SeaTx {
    async fn insert(&mut self, m: &Member) -> Result<(), StoreError> {
        self.exec_guarded(Entity::insert(row(m)?)).await?;
        Ok(())
    }

    async fn get(&mut self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let found =
            live().filter(Column::Id.eq(id.as_uuid())).one(&self.r()).await.map_err(db_err)?;
        found.map(member).transpose()
    }

    async fn lock(&mut self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let select = self.locking(live().filter(Column::Id.eq(id.as_uuid())));
        let found = select.one(&self.r()).await.map_err(db_err)?;
        found.map(member).transpose()
    }

    async fn lock_many(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        // One statement: PostgreSQL locks the rows as the ordered scan returns them, so in
        // ascending id order, the order every unit takes member locks in.
        let ids: BTreeSet<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let select = live().filter(Column::Id.is_in(ids)).order_by_asc(Column::Id);
        let rows = self.locking(select).all(&self.r()).await.map_err(db_err)?;
        rows.into_iter().map(member).collect()
    }

    async fn find_by_email(&mut self, email: &EmailAddress) -> Result<Option<Member>, StoreError> {
        let found =
            live().filter(Column::EmailKey.eq(email.key())).one(&self.r()).await.map_err(db_err)?;
        found.map(member).transpose()
    }

    async fn find_by_username(
        &mut self,
        username: &Username,
    ) -> Result<Option<Member>, StoreError> {
        if self.writable() && self.backend() == DbBackend::Postgres {
            // A write unit that looks a username up is about to claim it if it is free
            // (inviting a member walks `jane`, `jane2`, …). SQLite and the memory store run
            // write units one at a time, so the answer holds until the unit commits; here a
            // transaction-scoped lock on the name gives the same guarantee, and a concurrent
            // invitation in another organisation waits, then sees the name taken, instead of
            // failing on the unique index.
            let lock = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                [USERNAME_LOCK_CLASS.into(), username.as_str().into()],
            );
            self.r().execute_raw(lock).await.map_err(db_err)?;
        }
        let found = live()
            .filter(Column::Username.eq(username.as_str()))
            .one(&self.r())
            .await
            .map_err(db_err)?;
        found.map(member).transpose()
    }

    async fn update(&mut self, m: &Member) -> Result<(), StoreError> {
        let mut changes = row(m)?;
        changes.id = NotSet;
        changes.erased_at = NotSet;
        let update = Entity::update_many()
            .set(changes)
            .filter(Column::Id.eq(m.id.as_uuid()))
            .filter(Column::ErasedAt.is_null());
        if self.exec_guarded(update).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn erase(&mut self, id: MemberId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let defaults = Preferences::default();
        let now = micros(at);
        let tombstone = ActiveModel {
            username: Set(None),
            email: Set(None),
            email_key: Set(None),
            password_hash: Set(None),
            invitation_digest: Set(None),
            invitation_expires_at: Set(None),
            first_name: Set(None),
            last_name: Set(None),
            phone: Set(None),
            company: Set(None),
            job_title: Set(None),
            linkedin: Set(None),
            notify_low_credits: Set(defaults.notifications.low_credit_alerts),
            notify_weekly_digest: Set(defaults.notifications.weekly_usage_digest),
            notify_product_news: Set(defaults.notifications.product_news),
            export_format: Set(defaults.export.format.as_str().to_owned()),
            export_include_emails: Set(defaults.export.include_emails),
            export_include_phones: Set(defaults.export.include_phone_numbers),
            timezone: Set(defaults.timezone.name().to_owned()),
            offerings: Set("[]".to_owned()),
            erased_at: Set(Some(now)),
            reset_digest: Set(None),
            reset_expires_at: Set(None),
            ..ActiveModel::default()
        };
        let done = Entity::update_many()
            .set(tombstone)
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::ErasedAt.is_null())
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list(
        &mut self,
        org: OrganisationId,
        status: Option<MemberStatus>,
        page: Page<MemberId>,
    ) -> Result<Vec<Member>, StoreError> {
        let mut select = live().filter(Column::OrgId.eq(org.as_uuid()));
        if let Some(status) = status {
            select = select.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            select = select.filter(Column::Id.gt(after.as_uuid()));
        }
        let rows = select
            .order_by_asc(Column::Id)
            .limit(u64::from(page.limit))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(member).collect()
    }

    async fn counts(&mut self, org: OrganisationId) -> Result<MemberCounts, StoreError> {
        let groups: Vec<(String, String, String, i64)> = live()
            .select_only()
            .column(Column::Status)
            .column(Column::Role)
            .column(Column::Plan)
            .column_as(Expr::col(Column::Id).count(), "n")
            .filter(Column::OrgId.eq(org.as_uuid()))
            .group_by(Column::Status)
            .group_by(Column::Role)
            .group_by(Column::Plan)
            .into_tuple()
            .all(&self.r())
            .await
            .map_err(db_err)?;
        let mut counts = MemberCounts::default();
        for (status, role, plan, n) in groups {
            counts.add(
                MemberStatus::parse(&status).ok_or_else(|| corrupt("members.status"))?,
                Role::parse(&role).ok_or_else(|| corrupt("members.role"))?,
                &parse("members.plan", PlanName::from_stored(&plan))?,
                narrow("count(members)", n)?,
            );
        }
        Ok(counts)
    }

    async fn move_to_plan(
        &mut self,
        org: OrganisationId,
        from: &PlanName,
        to: &PlanName,
    ) -> Result<u64, StoreError> {
        let done = Entity::update_many()
            .col_expr(Column::Plan, Expr::value(to.as_str()))
            .filter(Column::OrgId.eq(org.as_uuid()))
            .filter(Column::Plan.eq(from.as_str()))
            .filter(Column::ErasedAt.is_null())
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected)
    }
}
