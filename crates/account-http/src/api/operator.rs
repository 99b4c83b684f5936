//! Support staff, with the operator token: organisations (create, list, licences, plan,
//! registration number, credits), members (find, rename, password reset, API keys), the products catalogue,
//! the mail outbox and weekly digests.

use crate::json::Json;
use account_core::domain::credits::EntryType;
use account_core::ids::{ApiKeyId, MemberId, OrganisationId, ProductId};
use account_core::ports::Page;
use account_core::services::operator::NewPlanSeats;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use uuid::Uuid;

use super::{ApiTags, State};
use crate::auth::OperatorAuth;
use crate::body::JsonBody;
use crate::dto::me::{Product, ProductPage};
use crate::dto::operator::{
    CreateOrganisationRequest, CreateProductRequest, CreatedOrganisation, DigestRun,
    FindMemberRequest, OperatorMember, OrganisationDetail, PendingMail, PendingMailPage,
    PoolChangeRequest, RenameUsernameRequest, RunDigestsRequest, SetRegistrationNumberRequest,
    SetSeatsRequest, UpdateProductRequest,
};
use crate::dto::organisation::{Organisation, OrganisationPage};
use crate::dto::team::Pool;
use crate::dto::{ApiKey, ApiKeyPage, CreatedApiKey, Done};
use crate::idempotency::{self, Replayable};
use crate::pagination;
use crate::responses::responses;

responses! {
    /// Responses of `createOrganisation`.
    pub enum CreateOrganisationResponse {
        /// Created, with four empty pools, its first admin and its sole contact address.
        #[oai(status = 201)]
        Created(
            Json<CreatedOrganisation>,
            /// Where the new resource is.
            #[oai(header = "Location")]
            String,
        ),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `listOrganisations`.
    pub enum ListOrganisationsResponse {
        /// A page of organisations, by id.
        #[oai(status = 200)]
        Ok(Json<OrganisationPage>),
    }
    errors: [400, 401, 404, 409, 422]
}

responses! {
    /// Responses of `getOrganisationDetail`.
    pub enum GetOrganisationDetailResponse {
        /// The organisation with counts and pools.
        #[oai(status = 200)]
        Ok(Json<OrganisationDetail>),
    }
    errors: [400, 401, 404, 409, 422]
}

responses! {
    /// Responses of `setSeats` and `changeRegistrationNumber`.
    pub enum ChangeOrganisationResponse {
        /// The organisation afterwards.
        #[oai(status = 200)]
        Ok(Json<Organisation>),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `grantCredits` and `expireCredits`.
    pub enum PoolChangeResponse {
        /// The pool afterwards.
        #[oai(status = 200)]
        Ok(Json<Pool>),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `findMember`.
    pub enum FindMemberResponse {
        /// The member.
        #[oai(status = 200)]
        Ok(Json<OperatorMember>),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `sendPasswordResetAsOperator`.
    pub enum SendPasswordResetAsOperatorResponse {
        /// A reset mail was sent to the member; an older reset link stopped working.
        #[oai(status = 200)]
        Ok(Json<Done>),
    }
    errors: [400, 401, 403, 404, 409, 422, 429]
}

responses! {
    /// Responses of `renameUsername`.
    pub enum RenameUsernameResponse {
        /// The member afterwards.
        #[oai(status = 200)]
        Ok(Json<OperatorMember>),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `listMemberApiKeysAsOperator`.
    pub enum OperatorListApiKeysResponse {
        /// The member's keys, by prefix.
        #[oai(status = 200)]
        Ok(Json<ApiKeyPage>),
    }
    errors: [400, 401, 404, 409, 422]
}

responses! {
    /// Responses of `rotateApiKeyAsOperator`.
    pub enum OperatorRotateApiKeyResponse {
        /// The old key stopped working; the new secret is shown this once, to hand over.
        #[oai(status = 200)]
        Ok(Json<CreatedApiKey>),
    }
    errors: [400, 401, 404, 409, 422]
}

responses! {
    /// Responses of `revokeApiKeyAsOperator`.
    pub enum OperatorRevokeApiKeyResponse {
        /// Revoked.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 404, 409, 422]
}

responses! {
    /// Responses of `listProducts`.
    pub enum ListProductsResponse {
        /// Every catalogue entry, active or not.
        #[oai(status = 200)]
        Ok(Json<ProductPage>),
    }
    errors: [400, 401, 404, 409, 422]
}

responses! {
    /// Responses of `createProduct`.
    pub enum CreateProductResponse {
        /// Created, active.
        #[oai(status = 201)]
        Created(Json<Product>),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `updateProduct`.
    pub enum UpdateProductResponse {
        /// The entry afterwards.
        #[oai(status = 200)]
        Ok(Json<Product>),
    }
    errors: [400, 401, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `listPendingMail`.
    pub enum ListPendingMailResponse {
        /// Mails not yet sent, oldest first (never their content).
        #[oai(status = 200)]
        Ok(Json<PendingMailPage>),
    }
    errors: [400, 401]
}

responses! {
    /// Responses of `runDueDigests`.
    pub enum RunDueDigestsResponse {
        /// How many digests were put in the outbox.
        #[oai(status = 200)]
        Ok(Json<DigestRun>),
    }
    errors: [400, 401, 413, 415]
}

fn org_id(id: &Path<Uuid>) -> OrganisationId {
    OrganisationId::from_uuid(id.0)
}

/// Support staff.
#[derive(Debug)]
pub(crate) struct OperatorApi;

#[OpenApi]
impl OperatorApi {
    /// Create an organisation
    ///
    /// With its first admin (invited by mail, or given a first password) and the admin's
    /// address as sole, verified contact address holding every role.
    #[oai(
        path = "/operator/organisations",
        method = "post",
        operation_id = "createOrganisation",
        tag = "ApiTags::Operator"
    )]
    async fn create_organisation(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        body: JsonBody<CreateOrganisationRequest>,
    ) -> CreateOrganisationResponse {
        CreateOrganisationResponse::from_result(
            state
                .accounts
                .operator()
                .create_organisation(auth.operator(), &body.to_input())
                .await
                .map(|c| {
                    let location = format!(
                        "{}/operator/organisations/{}",
                        crate::server::BASE_PATH,
                        c.organisation.id
                    );
                    CreateOrganisationResponse::Created(Json((&c).into()), location)
                })
                .map_err(Into::into),
        )
    }

    /// List organisations
    #[oai(
        path = "/operator/organisations",
        method = "get",
        operation_id = "listOrganisations",
        tag = "ApiTags::Operator"
    )]
    async fn list_organisations(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListOrganisationsResponse {
        ListOrganisationsResponse::from_result(
            async {
                let after = pagination::decode_parsed::<OrganisationId>(
                    "organisations",
                    cursor.0.as_deref(),
                )?;
                let limit = pagination::limit(limit.0);
                let rows = state
                    .accounts
                    .operator()
                    .list_organisations(auth.operator(), Page { after, limit: limit + 1 })
                    .await?;
                let (rows, next_cursor) =
                    pagination::finish(rows, limit, "organisations", |o| o.id.to_string());
                let items = rows.iter().map(Organisation::from).collect();
                Ok(ListOrganisationsResponse::Ok(Json(OrganisationPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Read an organisation
    ///
    /// With member counts and pools.
    #[oai(
        path = "/operator/organisations/:organisation_id",
        method = "get",
        operation_id = "getOrganisationDetail",
        tag = "ApiTags::Operator"
    )]
    async fn get_organisation(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The organisation.
        organisation_id: Path<Uuid>,
    ) -> GetOrganisationDetailResponse {
        GetOrganisationDetailResponse::from_result(
            state
                .accounts
                .operator()
                .organisation(auth.operator(), org_id(&organisation_id))
                .await
                .map(|d| GetOrganisationDetailResponse::Ok(Json((&d).into())))
                .map_err(Into::into),
        )
    }

    /// Set the licences per plan
    ///
    /// Replaces the organisation's plans and their licences. Each plan keeps at least as many
    /// licences as members enabled on it (pending invitations included); a plan that members
    /// are on stays, unless a new plan names it in `replaces`, which moves its members over.
    #[oai(
        path = "/operator/organisations/:organisation_id/seats",
        method = "put",
        operation_id = "setSeats",
        tag = "ApiTags::Operator"
    )]
    async fn set_seats(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The organisation.
        organisation_id: Path<Uuid>,
        body: JsonBody<SetSeatsRequest>,
    ) -> ChangeOrganisationResponse {
        let plans: Vec<_> = body
            .plans
            .iter()
            .map(|p| NewPlanSeats {
                plan: p.plan.clone(),
                licences: p.licences,
                replaces: p.replaces.clone(),
            })
            .collect();
        ChangeOrganisationResponse::from_result(
            state
                .accounts
                .operator()
                .set_seats(auth.operator(), org_id(&organisation_id), &plans)
                .await
                .map(|o| ChangeOrganisationResponse::Ok(Json((&o).into())))
                .map_err(Into::into),
        )
    }

    /// Change the registration number
    ///
    /// A transfer: the organisation or personal number, which self-service cannot change.
    #[oai(
        path = "/operator/organisations/:organisation_id/registration-number",
        method = "put",
        operation_id = "changeRegistrationNumber",
        tag = "ApiTags::Operator"
    )]
    async fn change_registration_number(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The organisation.
        organisation_id: Path<Uuid>,
        body: JsonBody<SetRegistrationNumberRequest>,
    ) -> ChangeOrganisationResponse {
        ChangeOrganisationResponse::from_result(
            state
                .accounts
                .operator()
                .change_registration_number(
                    auth.operator(),
                    org_id(&organisation_id),
                    &body.registration_number,
                )
                .await
                .map(|o| ChangeOrganisationResponse::Ok(Json((&o).into())))
                .map_err(Into::into),
        )
    }

    /// Grant credits
    ///
    /// Adds credits of one kind to an organisation's pool (billing's effect). Send an
    /// `Idempotency-Key` to retry safely.
    #[oai(
        path = "/operator/organisations/:organisation_id/grants",
        method = "post",
        operation_id = "grantCredits",
        tag = "ApiTags::Operator"
    )]
    async fn grant_credits(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The organisation.
        organisation_id: Path<Uuid>,
        /// Makes retries safe: the same key and body replay the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<PoolChangeRequest>,
    ) -> Replayable<PoolChangeResponse> {
        change_pool(&state, &auth, &organisation_id, idempotency_key.0, &body.0, EntryType::Grant)
            .await
    }

    /// Expire credits
    ///
    /// Removes unallocated credits of one kind from an organisation's pool. Send an
    /// `Idempotency-Key` to retry safely.
    #[oai(
        path = "/operator/organisations/:organisation_id/expiries",
        method = "post",
        operation_id = "expireCredits",
        tag = "ApiTags::Operator"
    )]
    async fn expire_credits(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The organisation.
        organisation_id: Path<Uuid>,
        /// Makes retries safe: the same key and body replay the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<PoolChangeRequest>,
    ) -> Replayable<PoolChangeResponse> {
        change_pool(&state, &auth, &organisation_id, idempotency_key.0, &body.0, EntryType::Expire)
            .await
    }

    /// Find a member
    ///
    /// By login email or username.
    #[oai(
        path = "/operator/members/lookup",
        method = "post",
        operation_id = "findMember",
        tag = "ApiTags::Operator"
    )]
    async fn find_member(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        body: JsonBody<FindMemberRequest>,
    ) -> FindMemberResponse {
        FindMemberResponse::from_result(
            state
                .accounts
                .operator()
                .find_member(auth.operator(), &body.query)
                .await
                .map(|m| FindMemberResponse::Ok(Json((&m).into())))
                .map_err(Into::into),
        )
    }

    /// Rename a username
    ///
    /// Only support changes usernames.
    #[oai(
        path = "/operator/members/:member_id/username",
        method = "put",
        operation_id = "renameUsername",
        tag = "ApiTags::Operator"
    )]
    async fn rename_username(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The member.
        member_id: Path<Uuid>,
        body: JsonBody<RenameUsernameRequest>,
    ) -> RenameUsernameResponse {
        RenameUsernameResponse::from_result(
            state
                .accounts
                .operator()
                .rename_username(auth.operator(), MemberId::from_uuid(member_id.0), &body.username)
                .await
                .map(|m| RenameUsernameResponse::Ok(Json((&m).into())))
                .map_err(Into::into),
        )
    }

    /// Send a member a password reset
    ///
    /// Mails the member a link to choose a new password (valid 30 minutes, once); support
    /// never sees or sets it. Not for disabled members or members still invited.
    #[oai(
        path = "/operator/members/:member_id/password-reset",
        method = "post",
        operation_id = "sendPasswordResetAsOperator",
        tag = "ApiTags::Operator"
    )]
    async fn send_password_reset(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> SendPasswordResetAsOperatorResponse {
        SendPasswordResetAsOperatorResponse::from_result(
            state
                .accounts
                .operator()
                .send_password_reset(auth.operator(), MemberId::from_uuid(member_id.0))
                .await
                .map(|()| {
                    SendPasswordResetAsOperatorResponse::Ok(Json(Done::new(
                        "a password reset mail was sent",
                    )))
                })
                .map_err(Into::into),
        )
    }

    /// List a member's API keys
    #[oai(
        path = "/operator/members/:member_id/api-keys",
        method = "get",
        operation_id = "listMemberApiKeysAsOperator",
        tag = "ApiTags::Operator"
    )]
    async fn list_member_api_keys(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The member.
        member_id: Path<Uuid>,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> OperatorListApiKeysResponse {
        OperatorListApiKeysResponse::from_result(
            async {
                let keys = state
                    .accounts
                    .operator()
                    .api_keys(auth.operator(), MemberId::from_uuid(member_id.0))
                    .await?;
                let (items, next_cursor) = pagination::in_memory(
                    keys,
                    "operator-api-keys",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |k| k.id.to_string(),
                )?;
                let items = items.iter().map(ApiKey::from).collect();
                Ok(OperatorListApiKeysResponse::Ok(Json(ApiKeyPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Regenerate an API key
    ///
    /// The key keeps its id and label; its old secret stops working; the new secret (and
    /// prefix) is returned once, for support to hand over.
    #[oai(
        path = "/operator/api-keys/:key_id/rotate",
        method = "post",
        operation_id = "rotateApiKeyAsOperator",
        tag = "ApiTags::Operator"
    )]
    async fn rotate_api_key(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The key.
        key_id: Path<Uuid>,
    ) -> OperatorRotateApiKeyResponse {
        OperatorRotateApiKeyResponse::from_result(
            state
                .accounts
                .operator()
                .rotate_api_key(auth.operator(), ApiKeyId::from_uuid(key_id.0))
                .await
                .map(|c| OperatorRotateApiKeyResponse::Ok(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Revoke an API key
    #[oai(
        path = "/operator/api-keys/:key_id",
        method = "delete",
        operation_id = "revokeApiKeyAsOperator",
        tag = "ApiTags::Operator"
    )]
    async fn revoke_api_key(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The key.
        key_id: Path<Uuid>,
    ) -> OperatorRevokeApiKeyResponse {
        OperatorRevokeApiKeyResponse::from_result(
            state
                .accounts
                .operator()
                .revoke_api_key(auth.operator(), ApiKeyId::from_uuid(key_id.0))
                .await
                .map(|()| OperatorRevokeApiKeyResponse::NoContent)
                .map_err(Into::into),
        )
    }

    /// List the products catalogue
    ///
    /// Every entry, active or not.
    #[oai(
        path = "/operator/products",
        method = "get",
        operation_id = "listProducts",
        tag = "ApiTags::Operator"
    )]
    async fn list_products(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListProductsResponse {
        ListProductsResponse::from_result(
            async {
                let products = state.accounts.operator().products(auth.operator()).await?;
                let (items, next_cursor) = pagination::in_memory(
                    products,
                    "products",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |p| p.id.to_string(),
                )?;
                let items = items.iter().map(Product::from).collect();
                Ok(ListProductsResponse::Ok(Json(ProductPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Add a catalogue entry
    #[oai(
        path = "/operator/products",
        method = "post",
        operation_id = "createProduct",
        tag = "ApiTags::Operator"
    )]
    async fn create_product(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        body: JsonBody<CreateProductRequest>,
    ) -> CreateProductResponse {
        CreateProductResponse::from_result(
            state
                .accounts
                .operator()
                .create_product(auth.operator(), &body.name)
                .await
                .map(|p| CreateProductResponse::Created(Json((&p).into())))
                .map_err(Into::into),
        )
    }

    /// Change a catalogue entry
    ///
    /// Rename it, or (de)activate it; members who listed an inactive entry keep it.
    #[oai(
        path = "/operator/products/:product_id",
        method = "patch",
        operation_id = "updateProduct",
        tag = "ApiTags::Operator"
    )]
    async fn update_product(
        &self,
        state: State<'_>,
        auth: OperatorAuth,
        /// The entry.
        product_id: Path<Uuid>,
        body: JsonBody<UpdateProductRequest>,
    ) -> UpdateProductResponse {
        UpdateProductResponse::from_result(
            state
                .accounts
                .operator()
                .update_product(
                    auth.operator(),
                    ProductId::from_uuid(product_id.0),
                    body.name.as_deref(),
                    body.active,
                )
                .await
                .map(|p| UpdateProductResponse::Ok(Json((&p).into())))
                .map_err(Into::into),
        )
    }

    /// List mail waiting in the outbox
    ///
    /// Kind, attempts and last error of mails not yet delivered (their content is sealed and
    /// never shown). Delivery itself is the server's background work.
    #[oai(
        path = "/operator/outbox",
        method = "get",
        operation_id = "listPendingMail",
        tag = "ApiTags::Operator"
    )]
    async fn list_pending_mail(
        &self,
        state: State<'_>,
        _auth: OperatorAuth,
        /// At most this many (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> ListPendingMailResponse {
        ListPendingMailResponse::from_result(
            state
                .accounts
                .mail()
                .pending(pagination::limit(limit.0))
                .await
                .map(|mails| {
                    let items = mails.iter().map(PendingMail::from).collect();
                    ListPendingMailResponse::Ok(Json(PendingMailPage { items, next_cursor: None }))
                })
                .map_err(Into::into),
        )
    }

    /// Send due weekly digests now
    ///
    /// Puts due usage digests in the outbox and schedules the next ones (the server also runs
    /// this on a timer).
    #[oai(
        path = "/operator/digests/run",
        method = "post",
        operation_id = "runDueDigests",
        tag = "ApiTags::Operator"
    )]
    async fn run_due_digests(
        &self,
        state: State<'_>,
        _auth: OperatorAuth,
        body: JsonBody<RunDigestsRequest>,
    ) -> RunDueDigestsResponse {
        RunDueDigestsResponse::from_result(
            state
                .accounts
                .digests()
                .run_due(body.limit.unwrap_or(100).min(1000))
                .await
                .map(|sent| RunDueDigestsResponse::Ok(Json(DigestRun { sent })))
                .map_err(Into::into),
        )
    }
}

/// Grants and expiries: the same request, idempotency and response, another use case.
async fn change_pool(
    state: &State<'_>,
    auth: &OperatorAuth,
    organisation: &Path<Uuid>,
    key: Option<String>,
    body: &PoolChangeRequest,
    entry_type: EntryType,
) -> Replayable<PoolChangeResponse> {
    let mut replayed = false;
    let response = PoolChangeResponse::from_result(
        async {
            let key = idempotency::key(key.as_deref())?;
            let (ops, org) = (state.accounts.operator(), org_id(organisation));
            let change = (body.kind.into(), body.amount, body.reason.as_str());
            let done = if entry_type == EntryType::Grant {
                ops.grant_credits(auth.operator(), org, change, key.as_ref()).await
            } else {
                ops.expire_credits(auth.operator(), org, change, key.as_ref()).await
            }?;
            replayed = done.replayed;
            if !done.replayed {
                let verb = if entry_type == EntryType::Grant { "grant" } else { "expire" };
                state.metrics.credit_moved(verb, done.pool.kind().as_str(), body.amount);
            }
            Ok(PoolChangeResponse::Ok(Json((&done.pool).into())))
        }
        .await,
    );
    Replayable::new(response, replayed)
}
