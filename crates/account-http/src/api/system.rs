//! Health: whether the server runs and its store answers (for load balancers and probes).

use crate::json::Json;
use poem_openapi::{Object, OpenApi};

use super::{ApiTags, State};
use crate::responses::responses;

/// The server is up and its store answers.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Health {
    /// Always `ok`.
    pub status: String,
}

responses! {
    /// Responses of `health`.
    pub enum HealthResponse {
        /// Up, and the store answers.
        #[oai(status = 200)]
        Ok(Json<Health>),
    }
    errors: []
}

/// Health.
#[derive(Debug)]
pub(crate) struct SystemApi;

#[OpenApi]
impl SystemApi {
    /// Check health
    ///
    /// 200 when the server runs and its store answers; 503 when the store does not.
    #[oai(path = "/health", method = "get", operation_id = "health", tag = "ApiTags::System")]
    async fn health(&self, state: State<'_>) -> HealthResponse {
        HealthResponse::from_result(match state.accounts.ping().await {
            Ok(()) => Ok(HealthResponse::Ok(Json(Health { status: "ok".to_owned() }))),
            Err(e) => Err(account_core::InternalError::from(e).into()),
        })
    }
}
