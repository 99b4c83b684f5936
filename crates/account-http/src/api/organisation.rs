//! The organisation page: the organisation (registration number read-only), its customer info
//! (ETag / If-Match) and its contact addresses (add, verify by code, roles, remove).

use crate::json::Json;
use account_core::domain::contact::ContactRole as CoreContactRole;
use account_core::ids::ContactId;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use uuid::Uuid;

use super::{ApiTags, State};
use crate::auth::SessionAuth;
use crate::body::JsonBody;
use crate::dto::me::CodeRequest;
use crate::dto::organisation::{
    AddContactRequest, Contact, ContactPage, CustomerInfo, Organisation, SetRolesRequest,
};
use crate::etag::{etag, required_version};
use crate::pagination;
use crate::responses::responses;

responses! {
    /// Responses of `getOrganisation`.
    pub enum GetOrganisationResponse {
        /// The caller's organisation.
        #[oai(status = 200)]
        Ok(Json<Organisation>),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `getCustomerInfo`.
    pub enum GetCustomerInfoResponse {
        /// The customer info; `ETag` names its version.
        #[oai(status = 200)]
        Ok(
            Json<CustomerInfo>,
            /// The version, as a strong ETag; send it back in `If-Match`.
            #[oai(header = "ETag")]
            String,
        ),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `saveCustomerInfo`.
    pub enum SaveCustomerInfoResponse {
        /// Saved; `ETag` names the new version.
        #[oai(status = 200)]
        Ok(
            Json<CustomerInfo>,
            /// The version, as a strong ETag; send it back in `If-Match`.
            #[oai(header = "ETag")]
            String,
        ),
    }
    errors: [400, 401, 403, 412, 413, 415, 422, 428]
}

responses! {
    /// Responses of `listContacts`.
    pub enum ListContactsResponse {
        /// The contact addresses.
        #[oai(status = 200)]
        Ok(Json<ContactPage>),
    }
    errors: [400, 401, 403, 404, 409, 422, 429]
}

responses! {
    /// Responses of `addContact`.
    pub enum AddContactResponse {
        /// Added, unverified, without roles; a code was mailed to it.
        #[oai(status = 201)]
        Created(Json<Contact>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `verifyContact`.
    pub enum ContactResponse {
        /// The address afterwards.
        #[oai(status = 200)]
        Ok(Json<Contact>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `setContactRoles`.
    pub enum SetContactRolesResponse {
        /// The address afterwards.
        #[oai(status = 200)]
        Ok(Json<Contact>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `resendContactCode`.
    pub enum ResendContactCodeResponse {
        /// A new code was mailed; the previous one no longer works.
        #[oai(status = 200)]
        Ok(Json<Contact>),
    }
    errors: [400, 401, 403, 404, 409, 422, 429]
}

responses! {
    /// Responses of `removeContact`.
    pub enum RemoveContactResponse {
        /// Removed.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 403, 404, 409, 422, 429]
}

fn contact_id(id: &Path<Uuid>) -> ContactId {
    ContactId::from_uuid(id.0)
}

/// The organisation page.
#[derive(Debug)]
pub(crate) struct OrganisationApi;

#[OpenApi]
impl OrganisationApi {
    /// Read my organisation
    ///
    /// Name, registration number (read-only: support changes it through a transfer), plan,
    /// licences and customer info.
    #[oai(
        path = "/organisation",
        method = "get",
        operation_id = "getOrganisation",
        tag = "ApiTags::Organisation"
    )]
    async fn get_organisation(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> GetOrganisationResponse {
        GetOrganisationResponse::from_result(
            state
                .accounts
                .organisation()
                .get(&auth.actor())
                .await
                .map(|o| GetOrganisationResponse::Ok(Json((&o).into())))
                .map_err(Into::into),
        )
    }

    /// Read the customer info
    ///
    /// Contact person, postal address, company name and purchase-order number, with their
    /// version as `ETag`.
    #[oai(
        path = "/organisation/customer-info",
        method = "get",
        operation_id = "getCustomerInfo",
        tag = "ApiTags::Organisation"
    )]
    async fn get_customer_info(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> GetCustomerInfoResponse {
        GetCustomerInfoResponse::from_result(
            state
                .accounts
                .organisation()
                .get(&auth.actor())
                .await
                .map(|o| {
                    GetCustomerInfoResponse::Ok(Json((&o).into()), etag(o.customer_info_version))
                })
                .map_err(Into::into),
        )
    }

    /// Save the customer info
    ///
    /// Replaces it if `If-Match` still names its version (412 otherwise).
    #[oai(
        path = "/organisation/customer-info",
        method = "put",
        operation_id = "saveCustomerInfo",
        tag = "ApiTags::Organisation"
    )]
    async fn save_customer_info(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The `ETag` of the customer info the change is based on.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<CustomerInfo>,
    ) -> SaveCustomerInfoResponse {
        SaveCustomerInfoResponse::from_result(
            async {
                let version = required_version(if_match.0.as_deref())?;
                let org = state
                    .accounts
                    .organisation()
                    .save_customer_info(&auth.actor(), &body.to_input(), version)
                    .await?;
                Ok(SaveCustomerInfoResponse::Ok(
                    Json((&org).into()),
                    etag(org.customer_info_version),
                ))
            }
            .await,
        )
    }

    /// List contact addresses
    ///
    /// Each with its roles (billing, tech, DPO); a sole address holds every role.
    #[oai(
        path = "/organisation/contacts",
        method = "get",
        operation_id = "listContacts",
        tag = "ApiTags::Organisation"
    )]
    async fn list_contacts(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListContactsResponse {
        ListContactsResponse::from_result(
            async {
                let contacts = state.accounts.contacts().list(&auth.actor()).await?;
                let (items, next_cursor) = pagination::in_memory(
                    contacts,
                    "contacts",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |c| c.id.to_string(),
                )?;
                let items = items.iter().map(Contact::from).collect();
                Ok(ListContactsResponse::Ok(Json(ContactPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Add a contact address
    ///
    /// A verification code is mailed to it ("Please confirm your new address", naming the
    /// organisation); it holds no role until verified.
    #[oai(
        path = "/organisation/contacts",
        method = "post",
        operation_id = "addContact",
        tag = "ApiTags::Organisation"
    )]
    async fn add_contact(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        body: JsonBody<AddContactRequest>,
    ) -> AddContactResponse {
        AddContactResponse::from_result(
            state
                .accounts
                .contacts()
                .add(&auth.actor(), &body.email)
                .await
                .map(|c| AddContactResponse::Created(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Verify a contact address
    ///
    /// With the code mailed to it. A wrong code is counted; after five, remove the address and
    /// add it again.
    #[oai(
        path = "/organisation/contacts/:contact_id/verify",
        method = "post",
        operation_id = "verifyContact",
        tag = "ApiTags::Organisation"
    )]
    async fn verify_contact(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The address.
        contact_id: Path<Uuid>,
        body: JsonBody<CodeRequest>,
    ) -> ContactResponse {
        ContactResponse::from_result(
            state
                .accounts
                .contacts()
                .verify(&auth.actor(), self::contact_id(&contact_id), &body.code)
                .await
                .map(|c| ContactResponse::Ok(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Resend a contact address's code
    ///
    /// At most once a minute (429 with `Retry-After`); the previous code stops working.
    #[oai(
        path = "/organisation/contacts/:contact_id/resend-code",
        method = "post",
        operation_id = "resendContactCode",
        tag = "ApiTags::Organisation"
    )]
    async fn resend_contact_code(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The address.
        contact_id: Path<Uuid>,
    ) -> ResendContactCodeResponse {
        ResendContactCodeResponse::from_result(
            state
                .accounts
                .contacts()
                .resend_code(&auth.actor(), self::contact_id(&contact_id))
                .await
                .map(|c| ResendContactCodeResponse::Ok(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Set a contact address's roles
    ///
    /// Replaces the roles of a verified address. Refused, naming the roles, when a role would
    /// be left without a verified address.
    #[oai(
        path = "/organisation/contacts/:contact_id/roles",
        method = "put",
        operation_id = "setContactRoles",
        tag = "ApiTags::Organisation"
    )]
    async fn set_contact_roles(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The address.
        contact_id: Path<Uuid>,
        body: JsonBody<SetRolesRequest>,
    ) -> SetContactRolesResponse {
        let roles: Vec<CoreContactRole> = body.roles.iter().map(|r| (*r).into()).collect();
        SetContactRolesResponse::from_result(
            state
                .accounts
                .contacts()
                .set_roles(&auth.actor(), self::contact_id(&contact_id), &roles)
                .await
                .map(|c| SetContactRolesResponse::Ok(Json((&c).into())))
                .map_err(Into::into),
        )
    }

    /// Remove a contact address
    ///
    /// Refused, naming the roles, when a role it holds would be left without a verified
    /// address.
    #[oai(
        path = "/organisation/contacts/:contact_id",
        method = "delete",
        operation_id = "removeContact",
        tag = "ApiTags::Organisation"
    )]
    async fn remove_contact(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The address.
        contact_id: Path<Uuid>,
    ) -> RemoveContactResponse {
        RemoveContactResponse::from_result(
            state
                .accounts
                .contacts()
                .remove(&auth.actor(), self::contact_id(&contact_id))
                .await
                .map(|()| RemoveContactResponse::NoContent)
                .map_err(Into::into),
        )
    }
}
