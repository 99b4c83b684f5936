//! `OrganisationRepo` over the `organisations` table; the licences per plan are one JSON
//! column of it (they are read and written with the organisation, under its lock).

use account_core::domain::organisation::{CustomerInfo, Organisation, PlanSeats, Seats};
use account_core::domain::text::{
    CompanyName, FullName, OrganisationName, PlanName, PostalAddress, PurchaseOrderNumber,
    RegistrationNumber,
};
use account_core::ids::OrganisationId;
use account_core::ports::{OrganisationRepo, Page, StoreError};
use async_trait::async_trait;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

use super::{corrupt, micros, narrow, parse, parse_opt, widen};
use crate::entity::organisations::{ActiveModel, Column, Entity, Model};
use crate::error::db_err;
use crate::store::SeaTx;

/// `organisations.seats`: `[{"plan": "Professional", "licences": 3}, …]`, in support's order.
fn seats_json(seats: &Seats) -> String {
    let plans =
        seats.plans().iter().map(|p| json!({"plan": p.plan.as_str(), "licences": p.licences}));
    Value::Array(plans.collect()).to_string()
}

fn seats(stored: &str) -> Result<Seats, StoreError> {
    let bad = || corrupt("organisations.seats");
    let value: Value = serde_json::from_str(stored).map_err(|_| bad())?;
    let plans = value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|p| {
            let plan = p.get("plan").and_then(Value::as_str).ok_or_else(bad)?;
            let licences = p.get("licences").and_then(Value::as_u64).ok_or_else(bad)?;
            Ok(PlanSeats {
                plan: PlanName::from_stored(plan).map_err(|_| bad())?,
                licences: u32::try_from(licences).map_err(|_| bad())?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Seats::new(plans).map_err(|_| bad())
}

fn row(org: &Organisation) -> Result<ActiveModel, StoreError> {
    let info = &org.customer_info;
    Ok(ActiveModel {
        id: Set(org.id.as_uuid()),
        name: Set(org.name.as_str().to_owned()),
        registration_number: Set(org.registration_number.as_str().to_owned()),
        seats: Set(seats_json(&org.seats)),
        contact_person: Set(info.contact_person.as_ref().map(|v| v.as_str().to_owned())),
        postal_address: Set(info.postal_address.as_ref().map(PostalAddress::to_stored)),
        company_name: Set(info.company_name.as_ref().map(|v| v.as_str().to_owned())),
        purchase_order_number: Set(info
            .purchase_order_number
            .as_ref()
            .map(|v| v.as_str().to_owned())),
        customer_info_version: Set(widen(org.customer_info_version)?),
        created_at: Set(micros(org.created_at)),
    })
}

pub(crate) fn organisation(m: Model) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: OrganisationId::from_uuid(m.id),
        name: parse("organisations.name", OrganisationName::from_stored(&m.name))?,
        registration_number: parse(
            "organisations.registration_number",
            RegistrationNumber::parse(&m.registration_number),
        )?,
        seats: seats(&m.seats)?,
        customer_info: CustomerInfo {
            contact_person: parse_opt(
                "organisations.contact_person",
                m.contact_person.as_deref(),
                FullName::from_stored,
            )?,
            postal_address: parse_opt(
                "organisations.postal_address",
                m.postal_address.as_deref(),
                PostalAddress::from_stored,
            )?,
            company_name: parse_opt(
                "organisations.company_name",
                m.company_name.as_deref(),
                CompanyName::from_stored,
            )?,
            purchase_order_number: parse_opt(
                "organisations.purchase_order_number",
                m.purchase_order_number.as_deref(),
                PurchaseOrderNumber::from_stored,
            )?,
        },
        customer_info_version: narrow(
            "organisations.customer_info_version",
            m.customer_info_version,
        )?,
        created_at: m.created_at,
    })
}

#[async_trait]
impl OrganisationRepo for SeaTx {
    async fn insert(&mut self, org: &Organisation) -> Result<(), StoreError> {
        self.exec_guarded(Entity::insert(row(org)?)).await?;
        Ok(())
    }

    async fn get(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        let found = Entity::find_by_id(id.as_uuid()).one(&self.r()).await.map_err(db_err)?;
        found.map(organisation).transpose()
    }

    async fn lock(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        let found =
            self.locking(Entity::find_by_id(id.as_uuid())).one(&self.r()).await.map_err(db_err)?;
        found.map(organisation).transpose()
    }

    async fn update(&mut self, org: &Organisation) -> Result<(), StoreError> {
        let mut changes = row(org)?;
        changes.id = NotSet;
        let done = Entity::update_many()
            .set(changes)
            .filter(Column::Id.eq(org.id.as_uuid()))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list(&mut self, page: Page<OrganisationId>) -> Result<Vec<Organisation>, StoreError> {
        let mut select = Entity::find();
        if let Some(after) = page.after {
            select = select.filter(Column::Id.gt(after.as_uuid()));
        }
        let rows = select
            .order_by_asc(Column::Id)
            .limit(u64::from(page.limit))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(organisation).collect()
    }
}
