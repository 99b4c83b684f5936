//! The operations: one `OpenApi` implementation per tag. Handlers authenticate (through the
//! security schemes), shape the request for the use case, call it, and map its outcome; the
//! use cases decide who may do what.

pub(crate) mod auth;
pub(crate) mod impersonation;
pub(crate) mod integrations;
pub(crate) mod me;
pub(crate) mod operator;
pub(crate) mod organisation;
pub(crate) mod system;
pub(crate) mod team;

use std::sync::Arc;

use poem_openapi::Tags;

use crate::state::AppState;

/// The groups of operations.
#[derive(Tags)]
pub(crate) enum ApiTags {
    /// Log-in, log-out, sessions and invitations.
    #[oai(rename = "auth")]
    Auth,
    /// The caller's own account: profile, preferences, products and services, password, email,
    /// API keys, credits, usage, deletion.
    #[oai(rename = "me")]
    Me,
    /// The admin's team page: members, licences, credits, ledger, audit log.
    #[oai(rename = "team")]
    Team,
    /// An admin acting as a sub-user of their organisation.
    #[oai(rename = "impersonation")]
    Impersonation,
    /// The organisation page: customer info and contact addresses.
    #[oai(rename = "organisation")]
    Organisation,
    /// Integrations with an API key: record consumption, read usage.
    #[oai(rename = "integrations")]
    Integrations,
    /// Support staff, with the operator token.
    #[oai(rename = "operator")]
    Operator,
    /// Health.
    #[oai(rename = "system")]
    System,
}

/// The application state, as a handler argument (not part of the document).
pub(crate) type State<'a> = poem::web::Data<&'a Arc<AppState>>;

/// Every operation.
pub(crate) fn all() -> (
    auth::AuthApi,
    me::MeApi,
    team::TeamApi,
    impersonation::ImpersonationApi,
    organisation::OrganisationApi,
    integrations::IntegrationsApi,
    operator::OperatorApi,
    system::SystemApi,
) {
    (
        auth::AuthApi,
        me::MeApi,
        team::TeamApi,
        impersonation::ImpersonationApi,
        organisation::OrganisationApi,
        integrations::IntegrationsApi,
        operator::OperatorApi,
        system::SystemApi,
    )
}
