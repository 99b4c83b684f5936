//! The caller's own account: profile (ETag / If-Match), preferences, products and services,
//! password, the email change, deletion, API keys, credits and usage.

use crate::json::Json;
use account_core::ids::ApiKeyId;
use account_core::services::auth::Authenticated;
use account_core::services::credits::{UsageQuery, UsageReport as CoreUsageReport, UsageScope};
use account_core::services::export::usage_csv;
use account_core::services::profile::DeleteConfirmation;
use chrono::NaiveDate;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::{OpenApi, ResponseContent};
use uuid::Uuid;

use super::{ApiTags, State};
use crate::auth::{SessionAuth, SessionMeAuth};
use crate::body::JsonBody;
use crate::download::{Csv, Download, JsonDocument, body_of, wants_csv};
use crate::dto::me::{
    ChangePasswordRequest, CodeRequest, CreateApiKeyRequest, DeleteAccountRequest, EmailChange,
    EmailChanged, ImpersonationState, Me, MyCredits, NewEmailRequest, Offering, Offerings,
    OfferingsRequest, Preferences, Product, ProductPage, Profile,
};
use crate::dto::{ApiKey, ApiKeyPage, Bucket, CreatedApiKey, UsageReport};
use crate::errors::{FieldAt, invalid_field, problem};
use crate::etag::{etag, required_version};
use crate::pagination;
use crate::responses::responses;

responses! {
    /// Responses of `getMe`.
    pub enum GetMeResponse {
        /// The caller.
        #[oai(status = 200)]
        Ok(Json<Me>),
    }
    errors: [401]
}

responses! {
    /// Responses of `getMyProfile`.
    pub enum GetMyProfileResponse {
        /// The profile; `ETag` names its version, for `If-Match` on save. "Reset" is this read.
        #[oai(status = 200)]
        Ok(
            Json<Profile>,
            /// The version, as a strong ETag; send it back in `If-Match`.
            #[oai(header = "ETag")]
            String,
        ),
    }
    errors: [401]
}

responses! {
    /// Responses of `saveMyProfile`.
    pub enum SaveMyProfileResponse {
        /// Saved; `ETag` names the new version.
        #[oai(status = 200)]
        Ok(
            Json<Profile>,
            /// The version, as a strong ETag; send it back in `If-Match`.
            #[oai(header = "ETag")]
            String,
        ),
    }
    errors: [400, 401, 403, 412, 413, 415, 422, 428]
}

responses! {
    /// Responses of `getMyPreferences`.
    pub enum GetMyPreferencesResponse {
        /// The preferences.
        #[oai(status = 200)]
        Ok(Json<Preferences>),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `setMyPreferences`.
    pub enum SetMyPreferencesResponse {
        /// Saved.
        #[oai(status = 200)]
        Ok(Json<Preferences>),
    }
    errors: [400, 401, 403, 413, 415, 422]
}

responses! {
    /// Responses of `getMyOfferings` and `setMyOfferings`.
    pub enum OfferingsResponse {
        /// The products and services.
        #[oai(status = 200)]
        Ok(Json<Offerings>),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `setMyOfferings`.
    pub enum SetMyOfferingsResponse {
        /// Saved, de-duplicated.
        #[oai(status = 200)]
        Ok(Json<Offerings>),
    }
    errors: [400, 401, 403, 413, 415, 422]
}

responses! {
    /// Responses of `listCatalogue`.
    pub enum ListCatalogueResponse {
        /// The active catalogue entries.
        #[oai(status = 200)]
        Ok(Json<ProductPage>),
    }
    errors: [400, 401, 403]
}

responses! {
    /// Responses of `changePassword`.
    pub enum ChangePasswordResponse {
        /// Changed; every other session ended, and a notice was mailed.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 403, 413, 415, 422, 429]
}

responses! {
    /// Responses of `getEmailChange`.
    pub enum GetEmailChangeResponse {
        /// The email change in progress.
        #[oai(status = 200)]
        Ok(Json<EmailChange>),
    }
    errors: [401, 403, 404, 409, 422, 429]
}

responses! {
    /// Responses of `startEmailChange`.
    pub enum StartEmailChangeResponse {
        /// Started (or restarted): a code went to the current address.
        #[oai(status = 201)]
        Created(Json<EmailChange>),
    }
    errors: [401, 403, 409, 422, 429]
}

responses! {
    /// Responses of `cancelEmailChange`.
    pub enum CancelEmailChangeResponse {
        /// Abandoned (or there was none).
        #[oai(status = 204)]
        NoContent,
    }
    errors: [401, 403, 409, 422, 429]
}

responses! {
    /// Responses of `confirmCurrentEmailCode`.
    pub enum ConfirmCurrentEmailCodeResponse {
        /// The current address is confirmed: submit the new one.
        #[oai(status = 200)]
        Ok(Json<EmailChange>),
    }
    errors: [400, 401, 403, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `submitNewEmail`.
    pub enum SubmitNewEmailResponse {
        /// A code went to the new address.
        #[oai(status = 200)]
        Ok(Json<EmailChange>),
    }
    errors: [400, 401, 403, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `confirmNewEmailCode`.
    pub enum ConfirmNewEmailCodeResponse {
        /// The login email switched; the old address was told; other sessions ended.
        #[oai(status = 200)]
        Ok(Json<EmailChanged>),
    }
    errors: [400, 401, 403, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `resendEmailChangeCode`.
    pub enum ResendEmailChangeCodeResponse {
        /// A new code was sent; the previous one no longer works.
        #[oai(status = 200)]
        Ok(Json<EmailChange>),
    }
    errors: [401, 403, 409, 422, 429]
}

responses! {
    /// Responses of `deleteMyAccount`.
    pub enum DeleteMyAccountResponse {
        /// Deleted: personal data erased, sessions and keys ended, unspent credits returned.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 403, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `listMyApiKeys`.
    pub enum ListMyApiKeysResponse {
        /// The caller's keys, by prefix.
        #[oai(status = 200)]
        Ok(Json<ApiKeyPage>),
    }
    errors: [400, 401, 403, 404, 409, 422]
}

responses! {
    /// Responses of `createApiKey`.
    pub enum CreateApiKeyResponse {
        /// Created; the secret is shown this once.
        #[oai(status = 201)]
        Created(Json<CreatedApiKey>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `rotateApiKey`.
    pub enum RotateApiKeyResponse {
        /// The old key stopped working; the new one's secret is shown this once.
        #[oai(status = 200)]
        Ok(Json<CreatedApiKey>),
    }
    errors: [400, 401, 403, 404, 409, 422]
}

responses! {
    /// Responses of `revokeApiKey`.
    pub enum RevokeApiKeyResponse {
        /// Revoked: it stopped working at once.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 403, 404, 409, 422]
}

responses! {
    /// Responses of `getMyCredits`.
    pub enum GetMyCreditsResponse {
        /// What the caller can spend, per kind.
        #[oai(status = 200)]
        Ok(Json<MyCredits>),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `getMyUsage`.
    pub enum MyUsageResponse {
        /// The report; as CSV with `Accept: text/csv`.
        #[oai(status = 200)]
        Ok(UsageContent),
    }
    errors: [400, 401, 403, 404, 422]
}

responses! {
    /// Responses of `getTeamUsage`.
    pub enum UsageResponse {
        /// The report; as CSV with `Accept: text/csv`.
        #[oai(status = 200)]
        Ok(UsageContent),
    }
    errors: [400, 401, 403, 404, 422]
}

responses! {
    /// Responses of `exportMyData`.
    pub enum ExportMyDataResponse {
        /// The caller's own data as one JSON document, written as it is read.
        #[oai(status = 200)]
        Ok(JsonDocument),
    }
    errors: [401, 403]
}

/// A usage report as JSON, or as CSV (`breakdown,name,credits`).
#[derive(ResponseContent)]
pub(crate) enum UsageContent {
    /// The report.
    Json(Json<UsageReport>),
    /// The same figures, one row each.
    Csv(Csv),
}

/// `report` as the request asks for it: CSV when `Accept` prefers `text/csv`, else JSON.
/// `whose` names the file (`me`, `team`, a member's id).
pub(crate) fn usage_content(req: &Request, report: &CoreUsageReport, whose: &str) -> UsageContent {
    if wants_csv(req) {
        let filename = format!("usage-{whose}-{}-{}.csv", report.from, report.to);
        UsageContent::Csv(Csv(Download::new(usage_csv(report), filename)))
    } else {
        UsageContent::Json(Json(report.into()))
    }
}

/// A usage report request from query parameters.
pub(crate) fn usage_query(
    scope: UsageScope,
    from: NaiveDate,
    to: NaiveDate,
    bucket: Option<Bucket>,
    timezone: Option<String>,
) -> UsageQuery {
    UsageQuery { scope, from, to, bucket: bucket.unwrap_or(Bucket::Day).into(), timezone }
}

fn impersonation_of(auth: &Authenticated) -> Option<ImpersonationState> {
    auth.impersonation().map(|(info, expires)| ImpersonationState {
        admin_id: info.admin_id.as_uuid(),
        expires_at: expires.into(),
    })
}

/// The caller's own account.
#[derive(Debug)]
pub(crate) struct MeApi;

#[OpenApi]
impl MeApi {
    /// Who am I
    ///
    /// The caller: identity, organisation, role, profile and preferences. Under an
    /// impersonation, the sub-user acted as, with `impersonation` set.
    #[oai(path = "/me", method = "get", operation_id = "getMe", tag = "ApiTags::Me")]
    async fn get_me(&self, auth: SessionMeAuth) -> GetMeResponse {
        // Authentication read the member and organisation with the session (one statement).
        let (authenticated, me) = auth.into_parts();
        GetMeResponse::Ok(Json(Me::new(me, impersonation_of(&authenticated))))
    }

    /// Read my profile
    ///
    /// The editable profile, with its version as `ETag`. "Reset" on the profile page is this
    /// read.
    #[oai(path = "/me/profile", method = "get", operation_id = "getMyProfile", tag = "ApiTags::Me")]
    async fn get_my_profile(&self, auth: SessionMeAuth) -> GetMyProfileResponse {
        let member = &auth.me().member;
        GetMyProfileResponse::Ok(Json((&member.profile).into()), etag(member.profile_version))
    }

    /// Save my profile
    ///
    /// Replaces the profile if `If-Match` still names the stored version; a stale save is
    /// refused (412), never merged. Every invalid field is named in `errors`.
    #[oai(
        path = "/me/profile",
        method = "put",
        operation_id = "saveMyProfile",
        tag = "ApiTags::Me"
    )]
    async fn save_my_profile(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The `ETag` of the profile the change is based on.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<Profile>,
    ) -> SaveMyProfileResponse {
        SaveMyProfileResponse::from_result(
            async {
                let version = required_version(if_match.0.as_deref())?;
                let member = state
                    .accounts
                    .profile()
                    .save_profile(&auth.actor(), &body.to_input(), version)
                    .await?;
                Ok(SaveMyProfileResponse::Ok(
                    Json((&member.profile).into()),
                    etag(member.profile_version),
                ))
            }
            .await,
        )
    }

    /// Read my preferences
    #[oai(
        path = "/me/preferences",
        method = "get",
        operation_id = "getMyPreferences",
        tag = "ApiTags::Me"
    )]
    async fn get_my_preferences(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> GetMyPreferencesResponse {
        GetMyPreferencesResponse::from_result(
            state
                .accounts
                .profile()
                .me(&auth.actor())
                .await
                .map(|me| GetMyPreferencesResponse::Ok(Json((&me.member.preferences).into())))
                .map_err(Into::into),
        )
    }

    /// Save my preferences
    ///
    /// Replaces notification switches, export defaults and time zone. A time-zone change
    /// applies from now on: what was scheduled keeps the zone it was scheduled in.
    #[oai(
        path = "/me/preferences",
        method = "put",
        operation_id = "setMyPreferences",
        tag = "ApiTags::Me"
    )]
    async fn set_my_preferences(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<Preferences>,
    ) -> SetMyPreferencesResponse {
        SetMyPreferencesResponse::from_result(
            state
                .accounts
                .profile()
                .set_preferences(&auth.actor(), &body.to_input())
                .await
                .map(|p| SetMyPreferencesResponse::Ok(Json((&p).into())))
                .map_err(Into::into),
        )
    }

    /// Read my products and services
    #[oai(
        path = "/me/offerings",
        method = "get",
        operation_id = "getMyOfferings",
        tag = "ApiTags::Me"
    )]
    async fn get_my_offerings(&self, state: State<'_>, auth: SessionAuth) -> OfferingsResponse {
        OfferingsResponse::from_result(
            async {
                let actor = auth.actor();
                let me = state.accounts.profile().me(&actor).await?;
                let catalogue = state.accounts.profile().catalogue_names(&actor).await?;
                let offerings =
                    me.member.offerings.iter().map(|o| Offering::new(o, &catalogue)).collect();
                Ok(OfferingsResponse::Ok(Json(Offerings { offerings })))
            }
            .await,
        )
    }

    /// Save my products and services
    ///
    /// Replaces the list: catalogue entries and free text, de-duplicated, bounded in length
    /// and count. A retired catalogue entry (gone from `GET /catalogue/products`) is refused
    /// with 422 naming the entry (`offerings[i]`), unless the caller's saved list already
    /// holds it: what one listed before it was retired stays through later saves.
    #[oai(
        path = "/me/offerings",
        method = "put",
        operation_id = "setMyOfferings",
        tag = "ApiTags::Me"
    )]
    async fn set_my_offerings(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<OfferingsRequest>,
    ) -> SetMyOfferingsResponse {
        SetMyOfferingsResponse::from_result(
            async {
                let actor = auth.actor();
                let inputs = body.to_inputs()?;
                let saved = state.accounts.profile().set_offerings(&actor, &inputs).await?;
                let catalogue = state.accounts.profile().catalogue_names(&actor).await?;
                let offerings = saved.iter().map(|o| Offering::new(o, &catalogue)).collect();
                Ok(SetMyOfferingsResponse::Ok(Json(Offerings { offerings })))
            }
            .await,
        )
    }

    /// List the products catalogue
    ///
    /// The active entries of the operator-managed catalogue, to pick products and services
    /// from.
    #[oai(
        path = "/catalogue/products",
        method = "get",
        operation_id = "listCatalogue",
        tag = "ApiTags::Me"
    )]
    async fn list_catalogue(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListCatalogueResponse {
        ListCatalogueResponse::from_result(
            async {
                let products = state.accounts.profile().catalogue(&auth.actor()).await?;
                let (items, next_cursor) = pagination::in_memory(
                    products,
                    "catalogue",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |p| p.id.to_string(),
                )?;
                let items = items.iter().map(Product::from).collect();
                Ok(ListCatalogueResponse::Ok(Json(ProductPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Change my password
    ///
    /// Needs the current password; ends every other session and mails a notice. Not possible
    /// through an impersonation.
    #[oai(
        path = "/me/password",
        method = "put",
        operation_id = "changePassword",
        tag = "ApiTags::Me"
    )]
    async fn change_password(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<ChangePasswordRequest>,
    ) -> ChangePasswordResponse {
        ChangePasswordResponse::from_result(
            state
                .accounts
                .profile()
                .change_password(&auth.actor(), &body.current_password, &body.new_password)
                .await
                .map(|()| ChangePasswordResponse::NoContent)
                .map_err(Into::into),
        )
    }

    /// Read my email change
    ///
    /// Where the email change in progress stands; 404 when none is.
    #[oai(
        path = "/me/email-change",
        method = "get",
        operation_id = "getEmailChange",
        tag = "ApiTags::Me"
    )]
    async fn get_email_change(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> GetEmailChangeResponse {
        GetEmailChangeResponse::from_result(
            async {
                match state.accounts.email_change().status(&auth.actor()).await? {
                    Some(view) => Ok(GetEmailChangeResponse::Ok(Json((&view).into()))),
                    None => Err(problem!(NotFound, "no email change is in progress").into()),
                }
            }
            .await,
        )
    }

    /// Start an email change
    ///
    /// Sends a code to the **current** address (step 1 of 4). Starting again replaces the
    /// flow, but not within a minute of the last code (429).
    #[oai(
        path = "/me/email-change",
        method = "post",
        operation_id = "startEmailChange",
        tag = "ApiTags::Me"
    )]
    async fn start_email_change(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> StartEmailChangeResponse {
        StartEmailChangeResponse::from_result(
            state
                .accounts
                .email_change()
                .start(&auth.actor())
                .await
                .map(|v| StartEmailChangeResponse::Created(Json((&v).into())))
                .map_err(Into::into),
        )
    }

    /// Cancel my email change
    #[oai(
        path = "/me/email-change",
        method = "delete",
        operation_id = "cancelEmailChange",
        tag = "ApiTags::Me"
    )]
    async fn cancel_email_change(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> CancelEmailChangeResponse {
        CancelEmailChangeResponse::from_result(
            state
                .accounts
                .email_change()
                .cancel(&auth.actor())
                .await
                .map(|()| CancelEmailChangeResponse::NoContent)
                .map_err(Into::into),
        )
    }

    /// Confirm the current address
    ///
    /// Step 2: the code sent to the current address. A wrong code is counted; after five the
    /// flow must start again.
    #[oai(
        path = "/me/email-change/current-code",
        method = "post",
        operation_id = "confirmCurrentEmailCode",
        tag = "ApiTags::Me"
    )]
    async fn confirm_current(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<CodeRequest>,
    ) -> ConfirmCurrentEmailCodeResponse {
        ConfirmCurrentEmailCodeResponse::from_result(
            state
                .accounts
                .email_change()
                .confirm_current(&auth.actor(), &body.code)
                .await
                .map(|v| ConfirmCurrentEmailCodeResponse::Ok(Json((&v).into())))
                .map_err(Into::into),
        )
    }

    /// Submit the new address
    ///
    /// Step 3: the new address, typed twice; a code goes to it. While waiting for that code a
    /// corrected address may be submitted again (throttled like a resend).
    #[oai(
        path = "/me/email-change/new-address",
        method = "post",
        operation_id = "submitNewEmail",
        tag = "ApiTags::Me"
    )]
    async fn submit_new(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<NewEmailRequest>,
    ) -> SubmitNewEmailResponse {
        SubmitNewEmailResponse::from_result(
            state
                .accounts
                .email_change()
                .submit_new(&auth.actor(), &body.new_email, &body.new_email_repeat)
                .await
                .map(|v| SubmitNewEmailResponse::Ok(Json((&v).into())))
                .map_err(Into::into),
        )
    }

    /// Confirm the new address
    ///
    /// Step 4: the code sent to the new address. The login email switches, the old address is
    /// told, and every other session ends.
    #[oai(
        path = "/me/email-change/new-code",
        method = "post",
        operation_id = "confirmNewEmailCode",
        tag = "ApiTags::Me"
    )]
    async fn confirm_new(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<CodeRequest>,
    ) -> ConfirmNewEmailCodeResponse {
        ConfirmNewEmailCodeResponse::from_result(
            state
                .accounts
                .email_change()
                .confirm_new(&auth.actor(), &body.code)
                .await
                .map(|m| {
                    ConfirmNewEmailCodeResponse::Ok(Json(EmailChanged {
                        email: m.email.as_str().to_owned(),
                    }))
                })
                .map_err(Into::into),
        )
    }

    /// Resend the email change code
    ///
    /// Sends a new code for the current step; the old one stops working. At most once a
    /// minute (429 with `Retry-After`), at most five codes per flow.
    #[oai(
        path = "/me/email-change/resend",
        method = "post",
        operation_id = "resendEmailChangeCode",
        tag = "ApiTags::Me"
    )]
    async fn resend(&self, state: State<'_>, auth: SessionAuth) -> ResendEmailChangeCodeResponse {
        ResendEmailChangeCodeResponse::from_result(
            state
                .accounts
                .email_change()
                .resend(&auth.actor())
                .await
                .map(|v| ResendEmailChangeCodeResponse::Ok(Json((&v).into())))
                .map_err(Into::into),
        )
    }

    /// Delete my account
    ///
    /// Needs confirmation: the password, or the username typed out. Erases personal data; the
    /// ledger keeps the amounts without naming the person; unspent credits return to the
    /// pool. The last enabled admin cannot delete themselves.
    #[oai(
        path = "/me/deletion",
        method = "post",
        operation_id = "deleteMyAccount",
        tag = "ApiTags::Me"
    )]
    async fn delete_my_account(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<DeleteAccountRequest>,
    ) -> DeleteMyAccountResponse {
        DeleteMyAccountResponse::from_result(
            async {
                let confirmation = match (&body.password, &body.username) {
                    (Some(p), None) => DeleteConfirmation::Password(p.clone()),
                    (None, Some(u)) => DeleteConfirmation::TypedUsername(u.clone()),
                    _ => {
                        return Err(invalid_field(
                            "password",
                            "give either your password or your username typed out (one of them)",
                        )
                        .into());
                    }
                };
                let field = if body.password.is_some() { "password" } else { "username" };
                state
                    .accounts
                    .profile()
                    .delete_account(&auth.actor(), &confirmation)
                    .await
                    // The confirmation given is the field at fault.
                    .map_err(|e| FieldAt::new(e, field, 422))?;
                Ok(DeleteMyAccountResponse::NoContent)
            }
            .await,
        )
    }

    /// List my API keys
    ///
    /// By prefix, with created and last-used times; never the secrets.
    #[oai(
        path = "/me/api-keys",
        method = "get",
        operation_id = "listMyApiKeys",
        tag = "ApiTags::Me"
    )]
    async fn list_my_api_keys(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListMyApiKeysResponse {
        ListMyApiKeysResponse::from_result(
            async {
                let keys = state.accounts.api_keys().list(&auth.actor()).await?;
                let (items, next_cursor) = pagination::in_memory(
                    keys,
                    "api-keys",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |k| k.id.to_string(),
                )?;
                let items = items.iter().map(ApiKey::from).collect();
                Ok(ListMyApiKeysResponse::Ok(Json(ApiKeyPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Create an API key
    ///
    /// The secret is in the response, once; only its digest is stored.
    #[oai(
        path = "/me/api-keys",
        method = "post",
        operation_id = "createApiKey",
        tag = "ApiTags::Me"
    )]
    async fn create_api_key(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<CreateApiKeyRequest>,
    ) -> CreateApiKeyResponse {
        CreateApiKeyResponse::from_result(
            state
                .accounts
                .api_keys()
                .create(&auth.actor(), body.label.as_deref())
                .await
                .map(|c| CreateApiKeyResponse::Created(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Rotate an API key
    ///
    /// Gives one of the caller's keys a new secret: the key keeps its id and label, its
    /// prefix changes with the secret, and the old secret stops working at once.
    #[oai(
        path = "/me/api-keys/:key_id/rotate",
        method = "post",
        operation_id = "rotateApiKey",
        tag = "ApiTags::Me"
    )]
    async fn rotate_api_key(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The key.
        key_id: Path<Uuid>,
    ) -> RotateApiKeyResponse {
        RotateApiKeyResponse::from_result(
            state
                .accounts
                .api_keys()
                .rotate(&auth.actor(), ApiKeyId::from_uuid(key_id.0))
                .await
                .map(|c| RotateApiKeyResponse::Ok(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Revoke an API key
    #[oai(
        path = "/me/api-keys/:key_id",
        method = "delete",
        operation_id = "revokeApiKey",
        tag = "ApiTags::Me"
    )]
    async fn revoke_api_key(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The key.
        key_id: Path<Uuid>,
    ) -> RevokeApiKeyResponse {
        RevokeApiKeyResponse::from_result(
            state
                .accounts
                .api_keys()
                .revoke(&auth.actor(), ApiKeyId::from_uuid(key_id.0))
                .await
                .map(|()| RevokeApiKeyResponse::NoContent)
                .map_err(Into::into),
        )
    }

    /// Read my credits
    ///
    /// What the caller can spend, per kind: a sub-user their allocation, an admin the team
    /// pool's unallocated credits.
    #[oai(path = "/me/credits", method = "get", operation_id = "getMyCredits", tag = "ApiTags::Me")]
    async fn get_my_credits(&self, state: State<'_>, auth: SessionAuth) -> GetMyCreditsResponse {
        GetMyCreditsResponse::from_result(
            state
                .accounts
                .credits()
                .my_credits(&auth.actor())
                .await
                .map(|c| GetMyCreditsResponse::Ok(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Read my usage report
    ///
    /// Credits the caller spent per kind, data type and provider over `from`..=`to` (local
    /// days, at most 731), bucketed by day, week or month in the caller's time zone (or
    /// `timezone`), and under `credits` what the caller holds now per kind (allocated, used,
    /// available), as `GET /me/credits` gives it.
    ///
    /// With `Accept: text/csv`, the same figures as CSV: one row per figure,
    /// `breakdown,name,credits`.
    #[oai(path = "/me/usage", method = "get", operation_id = "getMyUsage", tag = "ApiTags::Me")]
    // Each argument is one documented HTTP parameter; poem-openapi has no parameter structs.
    #[allow(clippy::too_many_arguments)]
    async fn get_my_usage(
        &self,
        req: &Request,
        state: State<'_>,
        auth: SessionAuth,
        /// First local day (`2026-01-01`).
        from: Query<NaiveDate>,
        /// Last local day, inclusive.
        to: Query<NaiveDate>,
        /// Granularity (default `day`).
        bucket: Query<Option<Bucket>>,
        /// An IANA time zone overriding the caller's preference.
        timezone: Query<Option<String>>,
    ) -> MyUsageResponse {
        let query = usage_query(UsageScope::Own, from.0, to.0, bucket.0, timezone.0);
        MyUsageResponse::from_result(
            state
                .accounts
                .credits()
                .session_usage_report(auth.authenticated(), &query)
                .await
                .map(|r| MyUsageResponse::Ok(usage_content(req, &r, "me")))
                .map_err(Into::into),
        )
    }

    /// Export my data
    ///
    /// Everything the account holds of the caller, as one JSON document (`MemberExport`):
    /// member, profile, preferences, products and services, API keys and sessions (metadata,
    /// never a secret), balances, monthly usage, and every ledger entry that names them. It is
    /// as of the request (`as_of`): entries made after it are left out. Written as it is read,
    /// page by page; a response cut short is not a whole document. Not under an
    /// impersonation (403 `not-while-impersonating`), as deleting the account is not.
    #[oai(path = "/me/export", method = "get", operation_id = "exportMyData", tag = "ApiTags::Me")]
    async fn export_my_data(&self, state: State<'_>, auth: SessionAuth) -> ExportMyDataResponse {
        ExportMyDataResponse::from_result(
            async {
                let export = state.accounts.export().member(&auth.actor()).await?;
                let filename =
                    format!("accounts-export-{}.json", export.as_of().format("%Y%m%dT%H%M%SZ"));
                let body = body_of(export);
                Ok(ExportMyDataResponse::Ok(JsonDocument(Download::new(body, filename))))
            }
            .await,
        )
    }
}
