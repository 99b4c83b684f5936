//! Members and their API keys, for support: find a member, rename a username (rule 7), send a
//! password-reset mail (rule 22), list, rotate and revoke API keys.

use super::{Operator, OperatorError, OperatorService, validation};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::email::EmailAddress;
use crate::domain::member::Member;
use crate::domain::session::ApiKey;
use crate::domain::username::Username;
use crate::ids::{ApiKeyId, MemberId};
use crate::ports::{StoreError, UniqueKey};
use crate::services::api_keys::{CreatedApiKey, reissue_key};
use crate::services::password_reset::{SendResetError, send_by_support};

impl OperatorService<'_> {
    /// Finds a member by login email or username.
    ///
    /// # Errors
    /// [`OperatorError::MemberNotFound`].
    pub async fn find_member(
        &self,
        _op: &Operator,
        email_or_username: &str,
    ) -> Result<Member, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let found = match EmailAddress::parse(email_or_username) {
            Ok(email) => tx.members().find_by_email(&email).await?,
            Err(_) => match Username::parse(email_or_username) {
                Ok(username) => tx.members().find_by_username(&username).await?,
                Err(_) => None,
            },
        };
        found.ok_or(OperatorError::MemberNotFound)
    }

    /// Renames a member's username (rule 7: support only).
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn rename_username(
        &self,
        _op: &Operator,
        id: MemberId,
        username: &str,
    ) -> Result<Member, OperatorError> {
        let username = Username::parse(username).map_err(|e| validation("username", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut member = tx.members().lock(id).await?.ok_or(OperatorError::MemberNotFound)?;
        if member.username == username {
            return Ok(member);
        }
        if tx.members().find_by_username(&username).await?.is_some() {
            return Err(OperatorError::UsernameTaken);
        }
        member.username = username;
        match tx.members().update(&member).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::Username)) => {
                return Err(OperatorError::UsernameTaken);
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            tx.as_mut(),
            Some(member.org_id),
            AuditAction::UsernameChanged,
            AuditTarget::Member(id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Sends a password-reset mail to a member (rule 22): support never sees or sets the
    /// password. Disabled and invited members get nothing.
    ///
    /// # Errors
    /// [`SendResetError`] (never `Denied` or `TargetIsAdmin`).
    pub async fn send_password_reset(
        &self,
        _op: &Operator,
        id: MemberId,
    ) -> Result<(), SendResetError> {
        let mut tx = self.ctx.ports.store.write().await?;
        let member = tx.members().lock(id).await?.ok_or(SendResetError::MemberNotFound)?;
        send_by_support(self.ctx, tx.as_mut(), member).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A member's API keys.
    ///
    /// # Errors
    /// [`OperatorError::MemberNotFound`].
    pub async fn api_keys(
        &self,
        _op: &Operator,
        member: MemberId,
    ) -> Result<Vec<ApiKey>, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        tx.members().get(member).await?.ok_or(OperatorError::MemberNotFound)?;
        Ok(tx.api_keys().list_for_member(member).await?)
    }

    /// Regenerates a member's API key: same id and label, a new secret and prefix; the old
    /// secret stops working; the new one is returned once, for support to hand over.
    ///
    /// # Errors
    /// [`OperatorError::ApiKeyNotFound`].
    pub async fn rotate_api_key(
        &self,
        _op: &Operator,
        id: ApiKeyId,
    ) -> Result<CreatedApiKey, OperatorError> {
        let mut tx = self.ctx.ports.store.write().await?;
        let old = tx.api_keys().get(id).await?.ok_or(OperatorError::ApiKeyNotFound)?;
        // The key's owner must still exist when the new key is issued: locked until the end.
        let member =
            tx.members().lock(old.member_id).await?.ok_or(OperatorError::MemberNotFound)?;
        let created = reissue_key(self.ctx, tx.as_mut(), &old).await?;
        self.audit(
            tx.as_mut(),
            Some(member.org_id),
            AuditAction::ApiKeyRotated,
            AuditTarget::ApiKey(id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Revokes an API key.
    ///
    /// # Errors
    /// [`OperatorError::ApiKeyNotFound`].
    pub async fn revoke_api_key(&self, _op: &Operator, id: ApiKeyId) -> Result<(), OperatorError> {
        let mut tx = self.ctx.ports.store.write().await?;
        let key = tx.api_keys().get(id).await?.ok_or(OperatorError::ApiKeyNotFound)?;
        tx.api_keys().delete(id).await?;
        self.audit(
            tx.as_mut(),
            Some(key.org_id),
            AuditAction::ApiKeyRevoked,
            AuditTarget::ApiKey(id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
