//! Integrations with an API key (`X-Api-Key`): recording consumption (idempotent on the
//! client's event id, and on `Idempotency-Key`) and reading usage.

use crate::json::Json;
use account_core::ids::MemberId;
use account_core::services::credits::{ConsumeInput, UsageScope};
use chrono::NaiveDate;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Query};
use uuid::Uuid;

use super::me::usage_query;
use super::{ApiTags, State};
use crate::auth::ApiKeyAuth;
use crate::body::JsonBody;
use crate::dto::team::{Consumption, ConsumptionRequest};
use crate::dto::{Bucket, UsageReport};
use crate::idempotency::{self, Replayable};
use crate::responses::responses;

responses! {
    /// Responses of `recordConsumption`.
    pub enum RecordConsumptionResponse {
        /// Recorded.
        #[oai(status = 201)]
        Created(Json<Consumption>),
        /// This event id was recorded before, with the same content: that record.
        #[oai(status = 200)]
        Ok(Json<Consumption>),
    }
    errors: [400, 401, 403, 409, 413, 415, 422]
}

responses! {
    /// Responses of `getIntegrationUsage`.
    pub enum IntegrationUsageResponse {
        /// The report.
        #[oai(status = 200)]
        Ok(Json<UsageReport>),
    }
    errors: [400, 401, 403, 404, 422]
}

/// Integrations.
#[derive(Debug)]
pub(crate) struct IntegrationsApi;

#[OpenApi]
impl IntegrationsApi {
    /// Record a consumption
    ///
    /// Spends credits of the key's owner: a sub-user's allocation, or an admin's team pool.
    /// The same `event_id` with the same content returns the first record (200); with other
    /// content it is refused (422).
    #[oai(
        path = "/integrations/consumptions",
        method = "post",
        operation_id = "recordConsumption",
        tag = "ApiTags::Integrations"
    )]
    async fn record_consumption(
        &self,
        state: State<'_>,
        auth: ApiKeyAuth,
        /// Makes retries safe: the same key and body replay the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<ConsumptionRequest>,
    ) -> Replayable<RecordConsumptionResponse> {
        let actor = auth.actor();
        let mut replayed = false;
        let response = RecordConsumptionResponse::from_result(
            async {
                let key = idempotency::key(idempotency_key.0.as_deref())?;
                let input = ConsumeInput {
                    kind: account_core::domain::credits::CreditKind::from(body.kind)
                        .as_str()
                        .to_owned(),
                    amount: body.amount,
                    data_type: body.data_type.clone(),
                    provider: body.provider.clone(),
                    event_id: body.event_id.clone(),
                };
                let o = state.accounts.credits().consume(&actor, &input, key.as_ref()).await?;
                replayed = o.replayed;
                if !o.replayed {
                    let kind = account_core::domain::credits::CreditKind::from(body.kind);
                    state.metrics.credit_moved("consume", kind.as_str(), body.amount);
                }
                Ok(if o.replayed {
                    RecordConsumptionResponse::Ok(Json((&o).into()))
                } else {
                    RecordConsumptionResponse::Created(Json((&o).into()))
                })
            }
            .await,
        );
        Replayable::new(response, replayed)
    }

    /// Read usage
    ///
    /// The key owner's usage report; an admin's key may ask for the team (`scope=team`) or one
    /// member (`member_id`).
    #[oai(
        path = "/integrations/usage",
        method = "get",
        operation_id = "getIntegrationUsage",
        tag = "ApiTags::Integrations"
    )]
    // Each argument is one documented HTTP parameter; poem-openapi has no parameter structs.
    #[allow(clippy::too_many_arguments)]
    async fn get_usage(
        &self,
        state: State<'_>,
        auth: ApiKeyAuth,
        /// First local day (`2026-01-01`).
        from: Query<NaiveDate>,
        /// Last local day, inclusive.
        to: Query<NaiveDate>,
        /// Granularity (default `day`).
        bucket: Query<Option<Bucket>>,
        /// An IANA time zone overriding the key owner's preference.
        timezone: Query<Option<String>>,
        /// `own` (default) or `team` (admins).
        scope: Query<Option<UsageScopeParam>>,
        /// One member's usage (admins; overrides `scope`).
        member_id: Query<Option<Uuid>>,
    ) -> IntegrationUsageResponse {
        let scope = match (member_id.0, scope.0) {
            (Some(id), _) => UsageScope::Member(MemberId::from_uuid(id)),
            (None, Some(UsageScopeParam::Team)) => UsageScope::Team,
            (None, Some(UsageScopeParam::Own) | None) => UsageScope::Own,
        };
        let query = usage_query(scope, from.0, to.0, bucket.0, timezone.0);
        IntegrationUsageResponse::from_result(
            state
                .accounts
                .credits()
                .usage_report(&auth.actor(), &query)
                .await
                .map(|r| IntegrationUsageResponse::Ok(Json((&r).into())))
                .map_err(Into::into),
        )
    }
}

/// Whose usage.
#[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "UsageScope", rename_all = "snake_case")]
pub(crate) enum UsageScopeParam {
    /// The key owner's own.
    Own,
    /// The whole team (admins).
    Team,
}
