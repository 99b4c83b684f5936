//! API keys (rule 17): shown once, stored as a keyed digest, listed by prefix with created
//! and last-used times; rotated or revoked by their owner; revoked by admins and support.
//! None of it works under impersonation (rule 16).

use super::common::{
    Denied, acting_admin, acting_member, locked_member, member_of_org, not_impersonating, op_error,
    session_only,
};
use super::{Actor, Context};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::member::Member;
use crate::domain::secret::{Token, TokenKind};
use crate::domain::session::ApiKey;
use crate::domain::text::KeyLabel;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::{ApiKeyId, MemberId};
use crate::ports::Tx;

/// Most keys one member may hold.
pub const MAX_KEYS_PER_MEMBER: usize = 20;

/// An API-key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The label is invalid.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such key of the caller's (or, for admins, of their organisation's).
    #[error("no such API key")]
    NotFound,
    /// The member holds the most keys allowed.
    #[error("you already have {max} API keys; revoke one first")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ApiKeyError);

/// A new key and its secret, shown once.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The stored key (prefix, times).
    pub key: ApiKey,
    /// The full key, for the `X-Api-Key` header. Only its digest is stored.
    pub secret: String,
}

/// API keys.
#[derive(Debug)]
pub struct ApiKeyService<'a> {
    ctx: &'a Context,
}

impl<'a> ApiKeyService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    async fn owner(&self, actor: &Actor) -> Result<(Box<dyn Tx>, Member), ApiKeyError> {
        session_only(actor)?;
        not_impersonating(actor)?;
        let mut tx = self.ctx.ports.store.write().await?;
        let member = locked_member(tx.as_mut(), actor).await?;
        Ok((tx, member))
    }

    /// Creates a key; its secret is returned once.
    ///
    /// # Errors
    /// [`ApiKeyError`].
    pub async fn create(
        &self,
        actor: &Actor,
        label: Option<&str>,
    ) -> Result<CreatedApiKey, ApiKeyError> {
        let label = match label.filter(|l| !l.trim().is_empty()) {
            Some(l) => Some(
                KeyLabel::parse(l)
                    .map_err(|e| ApiKeyError::Validation(ValidationErrors::single("label", e)))?,
            ),
            None => None,
        };
        let (mut tx, member) = self.owner(actor).await?;
        if tx.api_keys().list_for_member(member.id).await?.len() >= MAX_KEYS_PER_MEMBER {
            return Err(ApiKeyError::TooMany { max: MAX_KEYS_PER_MEMBER });
        }
        let created = issue_key(self.ctx, tx.as_mut(), &member, label).await?;
        self.ctx
            .audit_by(
                tx.as_mut(),
                actor,
                AuditAction::ApiKeyCreated,
                AuditTarget::ApiKey(created.key.id),
                "",
            )
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// The caller's keys, by prefix.
    ///
    /// # Errors
    /// [`ApiKeyError::Denied`].
    pub async fn list(&self, actor: &Actor) -> Result<Vec<ApiKey>, ApiKeyError> {
        session_only(actor)?;
        not_impersonating(actor)?;
        let mut tx = self.ctx.ports.store.read().await?;
        let member = acting_member(tx.as_mut(), actor).await?;
        Ok(tx.api_keys().list_for_member(member.id).await?)
    }

    /// Gives one of the caller's keys a new secret: the key keeps its id and label (a client
    /// that stored the id finds it again), its prefix changes with the secret, and the old
    /// secret stops working at once.
    ///
    /// # Errors
    /// [`ApiKeyError`].
    pub async fn rotate(&self, actor: &Actor, id: ApiKeyId) -> Result<CreatedApiKey, ApiKeyError> {
        let (mut tx, member) = self.owner(actor).await?;
        let old = tx
            .api_keys()
            .get(id)
            .await?
            .filter(|k| k.member_id == member.id)
            .ok_or(ApiKeyError::NotFound)?;
        let created = reissue_key(self.ctx, tx.as_mut(), &old).await?;
        self.ctx
            .audit_by(
                tx.as_mut(),
                actor,
                AuditAction::ApiKeyRotated,
                AuditTarget::ApiKey(old.id),
                "",
            )
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Revokes a key: the caller's own, or (for admins) any key of their organisation.
    ///
    /// # Errors
    /// [`ApiKeyError`].
    pub async fn revoke(&self, actor: &Actor, id: ApiKeyId) -> Result<(), ApiKeyError> {
        let (mut tx, member) = self.owner(actor).await?;
        let key = tx.api_keys().get(id).await?.ok_or(ApiKeyError::NotFound)?;
        let allowed = key.member_id == member.id
            || (member.is_enabled_admin() && key.org_id == member.org_id);
        if !allowed {
            return Err(ApiKeyError::NotFound);
        }
        tx.api_keys().delete(id).await?;
        self.ctx
            .audit_by(tx.as_mut(), actor, AuditAction::ApiKeyRevoked, AuditTarget::ApiKey(id), "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A member's keys, for an admin of their organisation.
    ///
    /// # Errors
    /// [`ApiKeyError`].
    pub async fn list_for_member(
        &self,
        actor: &Actor,
        member: MemberId,
    ) -> Result<Vec<ApiKey>, ApiKeyError> {
        session_only(actor)?;
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        member_of_org(tx.as_mut(), admin.org_id, member).await?.ok_or(ApiKeyError::NotFound)?;
        Ok(tx.api_keys().list_for_member(member).await?)
    }
}

/// Creates and stores a key for `member`.
pub(crate) async fn issue_key(
    ctx: &Context,
    tx: &mut dyn Tx,
    member: &Member,
    label: Option<KeyLabel>,
) -> Result<CreatedApiKey, crate::ports::StoreError> {
    let id: ApiKeyId = ctx.new_id();
    let token = Token::generate(TokenKind::ApiKey, id.as_uuid(), ctx.ports.random.as_ref());
    let key = ApiKey {
        id,
        member_id: member.id,
        org_id: member.org_id,
        label,
        prefix: token.display_prefix(),
        secret: ctx.ports.keyring.digest(TokenKind::ApiKey.context(), token.secret()),
        created_at: ctx.now(),
        last_used_at: None,
    };
    tx.api_keys().insert(&key).await?;
    Ok(CreatedApiKey { key, secret: token.reveal() })
}

/// Replaces `old`'s secret (rule 17): same id, owner and label; a new secret, prefix and
/// creation time (`created_at` dates the secret in use); never used yet. The old secret's
/// digest is gone when this unit commits, so it stops working at once.
pub(crate) async fn reissue_key(
    ctx: &Context,
    tx: &mut dyn Tx,
    old: &ApiKey,
) -> Result<CreatedApiKey, crate::ports::StoreError> {
    let token = Token::generate(TokenKind::ApiKey, old.id.as_uuid(), ctx.ports.random.as_ref());
    let key = ApiKey {
        prefix: token.display_prefix(),
        secret: ctx.ports.keyring.digest(TokenKind::ApiKey.context(), token.secret()),
        created_at: ctx.now(),
        last_used_at: None,
        ..old.clone()
    };
    tx.api_keys().delete(old.id).await?;
    tx.api_keys().insert(&key).await?;
    Ok(CreatedApiKey { key, secret: token.reveal() })
}
