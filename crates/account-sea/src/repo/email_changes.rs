//! `EmailChangeRepo` over the `email_changes` table (one row per member).

use account_core::domain::email::EmailAddress;
use account_core::domain::email_change::{EmailChange, EmailChangeStage};
use account_core::ids::{EmailChangeId, MemberId};
use account_core::ports::{EmailChangeRepo, StoreError};
use async_trait::async_trait;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter};

use super::{CodeColumns, micros, parse, required};
use crate::entity::email_changes::{ActiveModel, Column, Entity, Model};
use crate::error::{corrupt, db_err};
use crate::store::SeaTx;

fn row(f: &EmailChange) -> ActiveModel {
    let code = CodeColumns::of(f.code.as_ref());
    let new_email = match &f.stage {
        EmailChangeStage::AwaitingNewCode { new_email } => Some(new_email.as_str().to_owned()),
        EmailChangeStage::AwaitingCurrentCode | EmailChangeStage::AwaitingNewAddress => None,
    };
    ActiveModel {
        member_id: Set(f.member_id.as_uuid()),
        id: Set(f.id.as_uuid()),
        stage: Set(f.stage.as_str().to_owned()),
        new_email: Set(new_email),
        code_digest: Set(code.digest),
        code_sent_at: Set(code.sent_at),
        code_expires_at: Set(code.expires_at),
        code_wrong_tries: Set(code.wrong_tries),
        code_sends: Set(code.sends),
        started_at: Set(micros(f.started_at)),
        expires_at: Set(micros(f.expires_at)),
    }
}

fn flow(m: Model) -> Result<EmailChange, StoreError> {
    let stage = match m.stage.as_str() {
        "awaiting_current_code" => EmailChangeStage::AwaitingCurrentCode,
        "awaiting_new_address" => EmailChangeStage::AwaitingNewAddress,
        "awaiting_new_code" => EmailChangeStage::AwaitingNewCode {
            new_email: parse(
                "email_changes.new_email",
                EmailAddress::parse(required("email_changes.new_email", m.new_email.as_deref())?),
            )?,
        },
        _ => return Err(corrupt("email_changes.stage")),
    };
    let code = CodeColumns {
        digest: m.code_digest,
        sent_at: m.code_sent_at,
        expires_at: m.code_expires_at,
        wrong_tries: m.code_wrong_tries,
        sends: m.code_sends,
    };
    Ok(EmailChange {
        id: EmailChangeId::from_uuid(m.id),
        member_id: MemberId::from_uuid(m.member_id),
        stage,
        code: code.read("email_changes")?,
        started_at: m.started_at,
        expires_at: m.expires_at,
    })
}

#[async_trait]
impl EmailChangeRepo for SeaTx {
    async fn get(&mut self, member: MemberId) -> Result<Option<EmailChange>, StoreError> {
        let found = Entity::find_by_id(member.as_uuid()).one(&self.r()).await.map_err(db_err)?;
        found.map(flow).transpose()
    }

    async fn put(&mut self, f: &EmailChange) -> Result<(), StoreError> {
        let replace = OnConflict::column(Column::MemberId)
            .update_columns(Column::iter().filter(|c| !matches!(c, Column::MemberId)))
            .to_owned();
        Entity::insert(row(f))
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
}
