//! Sends due weekly usage digests and schedules the next one in the member's zone as it is
//! then (rule 19: a zone change applies from the next digest on).

use std::collections::BTreeMap;

use chrono::Duration;

use super::{Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::digest::{ScheduledDigest, next_monday_morning};
use crate::domain::mail::MailKind;
use crate::domain::member::MemberStatus;
use crate::error::InternalError;

/// Weekly digests.
#[derive(Debug)]
pub struct DigestService<'a> {
    ctx: &'a Context,
}

impl<'a> DigestService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Sends up to `limit` due digests; returns how many were sent.
    ///
    /// # Errors
    /// [`InternalError`] when the store fails.
    pub async fn run_due(&self, limit: u32) -> Result<u32, InternalError> {
        let ctx = self.ctx;
        let mut tx = ctx.ports.store.write().await?;
        let due = tx.digests().due(ctx.now(), limit).await?;
        let mut sent = 0;
        for digest in due {
            let member = tx.members().get(digest.member_id).await?;
            let Some(member) = member.filter(|m| {
                m.status == MemberStatus::Enabled && m.preferences.notifications.weekly_usage_digest
            }) else {
                tx.digests().delete(digest.member_id).await?;
                continue;
            };
            let from = digest.due_at - Duration::days(7);
            let records = tx
                .credits()
                .consumption(member.org_id, Some(member.id), from, digest.due_at)
                .await?;
            let mut per_type: BTreeMap<String, i64> = BTreeMap::new();
            for r in &records {
                *per_type.entry(r.data_type.as_str().to_owned()).or_insert(0) += r.amount;
            }
            let lines: Vec<String> = per_type.iter().map(|(t, n)| format!("  {t}: {n}")).collect();
            let mail = templates::digest(
                &ctx.settings,
                &member.email,
                &member.profile.display_name(),
                &lines,
            );
            ctx.send_mail(tx.as_mut(), MailKind::WeeklyDigest, &mail).await.map_err(
                |f| match f {
                    super::common::Failure::Internal(i) => i,
                    super::common::Failure::Denied(d) => InternalError::new(d),
                },
            )?;
            let timezone = member.preferences.timezone;
            // The following week's Monday, in the zone in force now: a zone change must not
            // bring the next digest forward to later the same day.
            let after = digest.due_at + Duration::days(1);
            let next = ScheduledDigest {
                member_id: member.id,
                due_at: next_monday_morning(after, timezone),
                timezone,
            };
            tx.digests().put(&next).await?;
            ctx.audit(
                tx.as_mut(),
                Some(member.org_id),
                Principal::System,
                None,
                AuditAction::DigestSent,
                AuditTarget::Member(member.id),
                "",
            )
            .await?;
            sent += 1;
        }
        tx.commit().await?;
        Ok(sent)
    }
}
