//! The admin's team page: summary, credit overview, members (enabled / disabled tabs), adding
//! sub-users, profiles, status and role, credits, members' API keys, usage, ledger, audit log.

use crate::json::Json;
use account_core::domain::audit::AuditCursor;
use account_core::ids::{ApiKeyId, AuditEntryId, LedgerEntryId, MemberId};
use account_core::ports::{LedgerCursor, LedgerFilter, Page};
use account_core::services::audit_log::MAX_PAGE;
use account_core::services::credits::UsageScope;
use account_core::services::team::NewMember;
use chrono::NaiveDate;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::{OpenApi, ResponseContent};
use uuid::Uuid;

use super::me::{UsageContent, UsageResponse, usage_content, usage_query};
use super::{ApiTags, State};
use crate::auth::SessionAuth;
use crate::body::JsonBody;
use crate::download::{Csv, Download, body_of, wants_csv};
use crate::dto::me::Profile;
use crate::dto::team::{
    AddMemberRequest, AllocationResult, AuditEntry, AuditPage, CreditMoveRequest, LedgerEntry,
    LedgerPage, Member, MemberPage, PoolOverview, SetMemberPlanRequest, SetRoleRequest,
    TeamCredits, TeamSummary,
};
use crate::dto::{ApiKey, ApiKeyPage, Bucket, CreditKind, Done, EntryType, MemberStatus};
use crate::errors::problem;
use crate::etag::{etag, required_version};
use crate::idempotency::{self, Replayable};
use crate::pagination;
use crate::responses::responses;

responses! {
    /// Responses of `getTeamSummary`.
    pub enum GetTeamSummaryResponse {
        /// Enabled, disabled and licence counts.
        #[oai(status = 200)]
        Ok(Json<TeamSummary>),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `getTeamCredits`.
    pub enum GetTeamCreditsResponse {
        /// One pool per kind: total, allocated, used, headroom.
        #[oai(status = 200)]
        Ok(Json<TeamCredits>),
    }
    errors: [401, 403]
}

responses! {
    /// Responses of `listMembers`.
    pub enum ListMembersResponse {
        /// A page of members, by id.
        #[oai(status = 200)]
        Ok(Json<MemberPage>),
    }
    errors: [400, 401, 403]
}

responses! {
    /// Responses of `addMember`.
    pub enum AddMemberResponse {
        /// Added, with an invitation mailed; `Location` names the member (not on a replay of
        /// an `Idempotency-Key`, which carries the first answer's body only).
        #[oai(status = 201)]
        Created(
            Json<Member>,
            /// Where the new resource is.
            #[oai(header = "Location")]
            Option<String>,
        ),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422, 429]
}

responses! {
    /// Responses of `getMember`.
    pub enum GetMemberResponse {
        /// The member.
        #[oai(status = 200)]
        Ok(Json<Member>),
    }
    errors: [400, 401, 403, 404, 409, 429]
}

responses! {
    /// Responses of `resendInvitation`.
    pub enum ResendInvitationResponse {
        /// A fresh invitation was mailed; the old one stopped working.
        #[oai(status = 200)]
        Ok(Json<Done>),
    }
    errors: [400, 401, 403, 404, 409, 429]
}

responses! {
    /// Responses of `sendMemberPasswordReset`.
    pub enum SendMemberPasswordResetResponse {
        /// A reset mail was sent to the member; an older reset link stopped working.
        #[oai(status = 200)]
        Ok(Json<Done>),
    }
    errors: [400, 401, 403, 404, 409, 422, 429]
}

responses! {
    /// Responses of `getMemberProfile`.
    pub enum GetMemberProfileResponse {
        /// The member's profile; `ETag` names its version.
        #[oai(status = 200)]
        Ok(
            Json<Profile>,
            /// The version, as a strong ETag; send it back in `If-Match`.
            #[oai(header = "ETag")]
            String,
        ),
    }
    errors: [400, 401, 403, 404, 409, 429]
}

responses! {
    /// Responses of `editMemberProfile`.
    pub enum EditMemberProfileResponse {
        /// Saved; `ETag` names the new version.
        #[oai(status = 200)]
        Ok(
            Json<Profile>,
            /// The version, as a strong ETag; send it back in `If-Match`.
            #[oai(header = "ETag")]
            String,
        ),
    }
    errors: [400, 401, 403, 404, 412, 413, 415, 422, 428]
}

responses! {
    /// Responses of `disableMember`, `enableMember` and `setMemberRole`.
    pub enum ChangeMemberResponse {
        /// The member afterwards.
        #[oai(status = 200)]
        Ok(Json<Member>),
    }
    errors: [400, 401, 403, 404, 409, 429]
}

responses! {
    /// Responses of `setMemberRole`.
    pub enum SetMemberRoleResponse {
        /// The member afterwards.
        #[oai(status = 200)]
        Ok(Json<Member>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 429]
}

responses! {
    /// Responses of `setMemberPlan`.
    pub enum SetMemberPlanResponse {
        /// The member afterwards.
        #[oai(status = 200)]
        Ok(Json<Member>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `allocateCredits` and `reclaimCredits`.
    pub enum MoveCreditsResponse {
        /// Done; the ledger entry is in the body.
        #[oai(status = 200)]
        Ok(Json<AllocationResult>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `listMemberApiKeys`.
    pub enum ListMemberApiKeysResponse {
        /// The member's keys, by prefix.
        #[oai(status = 200)]
        Ok(Json<ApiKeyPage>),
    }
    errors: [400, 401, 403, 404, 409, 422]
}

responses! {
    /// Responses of `revokeMemberApiKey`.
    pub enum RevokeMemberApiKeyResponse {
        /// Revoked: it stopped working at once.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 403, 404, 409, 422]
}

responses! {
    /// Responses of `getMemberUsage`.
    pub enum MemberUsageResponse {
        /// The report; as CSV with `Accept: text/csv`.
        #[oai(status = 200)]
        Ok(UsageContent),
    }
    errors: [400, 401, 403, 404, 422]
}

responses! {
    /// Responses of `listLedger`.
    pub enum ListLedgerResponse {
        /// A page of the ledger, oldest first; with `Accept: text/csv`, the whole ledger as CSV.
        #[oai(status = 200)]
        Ok(LedgerContent),
    }
    errors: [400, 401, 403]
}

responses! {
    /// Responses of `listAuditLog`.
    pub enum ListAuditLogResponse {
        /// A page of the audit log, newest first; with `Accept: text/csv`, the whole log as CSV.
        #[oai(status = 200)]
        Ok(AuditContent),
    }
    errors: [400, 401, 403]
}

/// A page of the ledger as JSON, or the whole ledger as CSV.
#[derive(ResponseContent)]
pub(crate) enum LedgerContent {
    /// A page.
    Json(Json<LedgerPage>),
    /// Every entry the filters keep, oldest first, written as it is read.
    Csv(Csv),
}

/// A page of the audit log as JSON, or the whole log as CSV.
#[derive(ResponseContent)]
pub(crate) enum AuditContent {
    /// A page.
    Json(Json<AuditPage>),
    /// Every entry, newest first, written as it is read.
    Csv(Csv),
}

/// The file name of a CSV export made at `at`.
fn csv_name(what: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{what}-{}.csv", at.format("%Y%m%dT%H%M%SZ"))
}

fn member_id(id: &Path<Uuid>) -> MemberId {
    MemberId::from_uuid(id.0)
}

/// The admin's team page.
#[derive(Debug)]
pub(crate) struct TeamApi;

#[OpenApi]
impl TeamApi {
    /// Read the team summary
    ///
    /// Enabled users (pending invitations included), disabled users and licences, in all and
    /// per plan.
    #[oai(
        path = "/team/summary",
        method = "get",
        operation_id = "getTeamSummary",
        tag = "ApiTags::Team"
    )]
    async fn get_summary(&self, state: State<'_>, auth: SessionAuth) -> GetTeamSummaryResponse {
        GetTeamSummaryResponse::from_result(
            state
                .accounts
                .team()
                .summary(&auth.actor())
                .await
                .map(|s| GetTeamSummaryResponse::Ok(Json((&s).into())))
                .map_err(Into::into),
        )
    }

    /// Read the team credit overview
    ///
    /// One pool per kind (export, direct dial, calling credits, calling minutes): granted,
    /// allocated, used, and the headroom left to allocate.
    #[oai(
        path = "/team/credits",
        method = "get",
        operation_id = "getTeamCredits",
        tag = "ApiTags::Team"
    )]
    async fn get_credits(&self, state: State<'_>, auth: SessionAuth) -> GetTeamCreditsResponse {
        GetTeamCreditsResponse::from_result(
            state
                .accounts
                .credits()
                .overview(&auth.actor())
                .await
                .map(|pools| {
                    GetTeamCreditsResponse::Ok(Json(TeamCredits {
                        pools: pools.iter().map(PoolOverview::from).collect(),
                    }))
                })
                .map_err(Into::into),
        )
    }

    /// List members
    ///
    /// The enabled or disabled tab (`status`), or both: name, email, plan, credits.
    #[oai(
        path = "/team/members",
        method = "get",
        operation_id = "listMembers",
        tag = "ApiTags::Team"
    )]
    async fn list_members(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// Only members with this status.
        status: Query<Option<MemberStatus>>,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListMembersResponse {
        ListMembersResponse::from_result(
            async {
                let actor = auth.actor();
                let after = pagination::decode_parsed::<MemberId>("members", cursor.0.as_deref())?;
                let limit = pagination::limit(limit.0);
                let rows = state
                    .accounts
                    .team()
                    .members(&actor, status.0.map(Into::into), Page { after, limit: limit + 1 })
                    .await?;
                let (rows, next_cursor) =
                    pagination::finish(rows, limit, "members", |r| r.member.id.to_string());
                let items = rows.iter().map(Member::new).collect();
                Ok(ListMembersResponse::Ok(Json(MemberPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Add a sub-user
    ///
    /// With name and email, on a plan with a free licence (the plan may be left out when the
    /// organisation has only one); the member gets an invitation mail to set a password, and no
    /// credits. Send an `Idempotency-Key` to retry safely.
    #[oai(
        path = "/team/members",
        method = "post",
        operation_id = "addMember",
        tag = "ApiTags::Team"
    )]
    async fn add_member(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// Makes retries safe: the same key and body replay the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<AddMemberRequest>,
    ) -> Replayable<AddMemberResponse> {
        let actor = auth.actor();
        let mut replayed = false;
        let response = AddMemberResponse::from_result(
            async {
                let key = idempotency::key(idempotency_key.0.as_deref())?;
                let new = NewMember {
                    first_name: body.first_name.clone(),
                    last_name: body.last_name.clone(),
                    email: body.email.clone(),
                    plan: body.plan.clone(),
                };
                let added = state.accounts.team().add_member(&actor, &new, key.as_ref()).await?;
                replayed = added.replayed;
                let id = added.member.id;
                let row = state.accounts.team().member(&actor, id).await?;
                let location = format!("{}/team/members/{id}", crate::server::BASE_PATH);
                Ok(AddMemberResponse::Created(Json(Member::new(&row)), Some(location)))
            }
            .await,
        );
        Replayable::new(response, replayed)
    }

    /// Read a member
    #[oai(
        path = "/team/members/:member_id",
        method = "get",
        operation_id = "getMember",
        tag = "ApiTags::Team"
    )]
    async fn get_member(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> GetMemberResponse {
        GetMemberResponse::from_result(
            async {
                let actor = auth.actor();
                let row = state.accounts.team().member(&actor, self::member_id(&member_id)).await?;
                Ok(GetMemberResponse::Ok(Json(Member::new(&row))))
            }
            .await,
        )
    }

    /// Resend an invitation
    ///
    /// Mails a fresh invitation to a member who has not set a password yet; the old one stops
    /// working.
    #[oai(
        path = "/team/members/:member_id/invitation",
        method = "post",
        operation_id = "resendInvitation",
        tag = "ApiTags::Team"
    )]
    async fn resend_invitation(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> ResendInvitationResponse {
        ResendInvitationResponse::from_result(
            state
                .accounts
                .team()
                .resend_invitation(&auth.actor(), self::member_id(&member_id))
                .await
                .map(|()| {
                    ResendInvitationResponse::Ok(Json(Done::new("a new invitation was sent")))
                })
                .map_err(Into::into),
        )
    }

    /// Send a sub-user a password reset
    ///
    /// Mails the sub-user a link to choose a new password (valid 30 minutes, once); the admin
    /// never sees or sets it. Not for admins (they use "forgot password" themselves), disabled
    /// members, or members who have not accepted their invitation yet.
    #[oai(
        path = "/team/members/:member_id/password-reset",
        method = "post",
        operation_id = "sendMemberPasswordReset",
        tag = "ApiTags::Team"
    )]
    async fn send_member_password_reset(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> SendMemberPasswordResetResponse {
        SendMemberPasswordResetResponse::from_result(
            state
                .accounts
                .password_reset()
                .send_by_admin(&auth.actor(), self::member_id(&member_id))
                .await
                .map(|()| {
                    SendMemberPasswordResetResponse::Ok(Json(Done::new(
                        "a password reset mail was sent",
                    )))
                })
                .map_err(Into::into),
        )
    }

    /// Read a member's profile
    ///
    /// With its version as `ETag`, for `If-Match` on edit.
    #[oai(
        path = "/team/members/:member_id/profile",
        method = "get",
        operation_id = "getMemberProfile",
        tag = "ApiTags::Team"
    )]
    async fn get_member_profile(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> GetMemberProfileResponse {
        GetMemberProfileResponse::from_result(
            state
                .accounts
                .team()
                .member(&auth.actor(), self::member_id(&member_id))
                .await
                .map(|row| {
                    GetMemberProfileResponse::Ok(
                        Json((&row.member.profile).into()),
                        etag(row.member.profile_version),
                    )
                })
                .map_err(Into::into),
        )
    }

    /// Edit a member's profile
    ///
    /// Replaces the member's profile if `If-Match` still names its version (412 otherwise).
    #[oai(
        path = "/team/members/:member_id/profile",
        method = "put",
        operation_id = "editMemberProfile",
        tag = "ApiTags::Team"
    )]
    async fn edit_member_profile(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
        /// The `ETag` of the profile the change is based on.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<Profile>,
    ) -> EditMemberProfileResponse {
        EditMemberProfileResponse::from_result(
            async {
                let version = required_version(if_match.0.as_deref())?;
                let member = state
                    .accounts
                    .team()
                    .edit_profile(
                        &auth.actor(),
                        self::member_id(&member_id),
                        &body.to_input(),
                        version,
                    )
                    .await?;
                Ok(EditMemberProfileResponse::Ok(
                    Json((&member.profile).into()),
                    etag(member.profile_version),
                ))
            }
            .await,
        )
    }

    /// Disable a member
    ///
    /// Keeps their data; their sessions end and their API keys stop working at once; the
    /// licence is freed. The last enabled admin cannot be disabled.
    #[oai(
        path = "/team/members/:member_id/disable",
        method = "post",
        operation_id = "disableMember",
        tag = "ApiTags::Team"
    )]
    async fn disable_member(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> ChangeMemberResponse {
        ChangeMemberResponse::from_result(
            async {
                let actor = auth.actor();
                let id = self::member_id(&member_id);
                state.accounts.team().disable(&actor, id).await?;
                let row = state.accounts.team().member(&actor, id).await?;
                Ok(ChangeMemberResponse::Ok(Json(Member::new(&row))))
            }
            .await,
        )
    }

    /// Re-enable a member
    ///
    /// Needs a free licence.
    #[oai(
        path = "/team/members/:member_id/enable",
        method = "post",
        operation_id = "enableMember",
        tag = "ApiTags::Team"
    )]
    async fn enable_member(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
    ) -> ChangeMemberResponse {
        ChangeMemberResponse::from_result(
            async {
                let actor = auth.actor();
                let id = self::member_id(&member_id);
                state.accounts.team().enable(&actor, id).await?;
                let row = state.accounts.team().member(&actor, id).await?;
                Ok(ChangeMemberResponse::Ok(Json(Member::new(&row))))
            }
            .await,
        )
    }

    /// Change a member's role
    ///
    /// Admin or sub-user. The last enabled admin cannot be demoted; a promoted sub-user's
    /// unspent credits return to the pool.
    #[oai(
        path = "/team/members/:member_id/role",
        method = "put",
        operation_id = "setMemberRole",
        tag = "ApiTags::Team"
    )]
    async fn set_member_role(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
        body: JsonBody<SetRoleRequest>,
    ) -> SetMemberRoleResponse {
        SetMemberRoleResponse::from_result(
            async {
                let actor = auth.actor();
                let id = self::member_id(&member_id);
                state.accounts.team().set_role(&actor, id, body.role.into()).await?;
                let row = state.accounts.team().member(&actor, id).await?;
                Ok(SetMemberRoleResponse::Ok(Json(Member::new(&row))))
            }
            .await,
        )
    }

    /// Move a member to another plan
    ///
    /// The seat takes one of the organisation's plans (`GET /team/summary` lists them). An
    /// enabled member, or a pending invitation, needs a free licence of the new plan; a
    /// disabled member holds none and moves freely.
    #[oai(
        path = "/team/members/:member_id/plan",
        method = "put",
        operation_id = "setMemberPlan",
        tag = "ApiTags::Team"
    )]
    async fn set_member_plan(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
        body: JsonBody<SetMemberPlanRequest>,
    ) -> SetMemberPlanResponse {
        SetMemberPlanResponse::from_result(
            async {
                let actor = auth.actor();
                let id = self::member_id(&member_id);
                let row = state.accounts.team().set_plan(&actor, id, &body.plan).await?;
                Ok(SetMemberPlanResponse::Ok(Json(Member::new(&row))))
            }
            .await,
        )
    }

    /// Allocate credits
    ///
    /// Hands credits of one kind from the pool's unallocated headroom to a sub-user; never
    /// overdraws the pool. Send an `Idempotency-Key` to retry safely.
    #[oai(
        path = "/team/members/:member_id/allocations",
        method = "post",
        operation_id = "allocateCredits",
        tag = "ApiTags::Team"
    )]
    async fn allocate(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The sub-user.
        member_id: Path<Uuid>,
        /// Makes retries safe: the same key and body replay the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<CreditMoveRequest>,
    ) -> Replayable<MoveCreditsResponse> {
        move_credits(&state, &auth, &member_id, idempotency_key.0, &body.0, Direction::Allocate)
            .await
    }

    /// Reclaim credits
    ///
    /// Takes unspent credits of one kind back from a sub-user into the pool. Send an
    /// `Idempotency-Key` to retry safely.
    #[oai(
        path = "/team/members/:member_id/reclaims",
        method = "post",
        operation_id = "reclaimCredits",
        tag = "ApiTags::Team"
    )]
    async fn reclaim(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The sub-user.
        member_id: Path<Uuid>,
        /// Makes retries safe: the same key and body replay the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<CreditMoveRequest>,
    ) -> Replayable<MoveCreditsResponse> {
        move_credits(&state, &auth, &member_id, idempotency_key.0, &body.0, Direction::Reclaim)
            .await
    }

    /// List a member's API keys
    #[oai(
        path = "/team/members/:member_id/api-keys",
        method = "get",
        operation_id = "listMemberApiKeys",
        tag = "ApiTags::Team"
    )]
    async fn list_member_api_keys(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListMemberApiKeysResponse {
        ListMemberApiKeysResponse::from_result(
            async {
                let keys = state
                    .accounts
                    .api_keys()
                    .list_for_member(&auth.actor(), self::member_id(&member_id))
                    .await?;
                let (items, next_cursor) = pagination::in_memory(
                    keys,
                    "member-api-keys",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |k| k.id.to_string(),
                )?;
                let items = items.iter().map(ApiKey::from).collect();
                Ok(ListMemberApiKeysResponse::Ok(Json(ApiKeyPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Revoke a member's API key
    #[oai(
        path = "/team/members/:member_id/api-keys/:key_id",
        method = "delete",
        operation_id = "revokeMemberApiKey",
        tag = "ApiTags::Team"
    )]
    async fn revoke_member_api_key(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
        /// The key.
        key_id: Path<Uuid>,
    ) -> RevokeMemberApiKeyResponse {
        RevokeMemberApiKeyResponse::from_result(
            async {
                let actor = auth.actor();
                let key = ApiKeyId::from_uuid(key_id.0);
                // The path names the member: the key must be theirs (the use case checks that
                // the caller may see the member's keys and revoke the key).
                let keys = state
                    .accounts
                    .api_keys()
                    .list_for_member(&actor, self::member_id(&member_id))
                    .await?;
                if !keys.iter().any(|k| k.id == key) {
                    return Err(problem!(NotFound, "no such API key of this member").into());
                }
                state.accounts.api_keys().revoke(&actor, key).await?;
                Ok(RevokeMemberApiKeyResponse::NoContent)
            }
            .await,
        )
    }

    /// Read a member's usage report
    ///
    /// With `Accept: text/csv`, the same figures as CSV (`breakdown,name,credits`).
    #[oai(
        path = "/team/members/:member_id/usage",
        method = "get",
        operation_id = "getMemberUsage",
        tag = "ApiTags::Team"
    )]
    // Each argument is one documented HTTP parameter; poem-openapi has no parameter structs.
    #[allow(clippy::too_many_arguments)]
    async fn get_member_usage(
        &self,
        req: &Request,
        state: State<'_>,
        auth: SessionAuth,
        /// The member.
        member_id: Path<Uuid>,
        /// First local day (`2026-01-01`).
        from: Query<NaiveDate>,
        /// Last local day, inclusive.
        to: Query<NaiveDate>,
        /// Granularity (default `day`).
        bucket: Query<Option<Bucket>>,
        /// An IANA time zone overriding the caller's preference.
        timezone: Query<Option<String>>,
    ) -> MemberUsageResponse {
        let query = usage_query(
            UsageScope::Member(self::member_id(&member_id)),
            from.0,
            to.0,
            bucket.0,
            timezone.0,
        );
        MemberUsageResponse::from_result(
            state
                .accounts
                .credits()
                .session_usage_report(auth.authenticated(), &query)
                .await
                .map(|r| MemberUsageResponse::Ok(usage_content(req, &r, &member_id.0.to_string())))
                .map_err(Into::into),
        )
    }

    /// Read the team usage report
    ///
    /// The whole team's spending per kind, data type and provider, with a per-member
    /// breakdown.
    #[oai(
        path = "/team/usage",
        method = "get",
        operation_id = "getTeamUsage",
        tag = "ApiTags::Team"
    )]
    // Each argument is one documented HTTP parameter; poem-openapi has no parameter structs.
    #[allow(clippy::too_many_arguments)]
    async fn get_team_usage(
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
    ) -> UsageResponse {
        let query = usage_query(UsageScope::Team, from.0, to.0, bucket.0, timezone.0);
        UsageResponse::from_result(
            state
                .accounts
                .credits()
                .session_usage_report(auth.authenticated(), &query)
                .await
                .map(|r| UsageResponse::Ok(usage_content(req, &r, "team")))
                .map_err(Into::into),
        )
    }

    /// List the credit ledger
    ///
    /// Every grant, allocation, reclaim, consumption and expiry, oldest first.
    ///
    /// With `Accept: text/csv`, every entry the filters keep (`limit` and `cursor` do not
    /// apply) as one CSV download, written as it is read, as of the request: entries made
    /// after it are left out.
    #[oai(
        path = "/team/ledger",
        method = "get",
        operation_id = "listLedger",
        tag = "ApiTags::Team"
    )]
    // Each argument is one documented HTTP parameter; poem-openapi has no parameter structs.
    #[allow(clippy::too_many_arguments)]
    async fn list_ledger(
        &self,
        req: &Request,
        state: State<'_>,
        auth: SessionAuth,
        /// Only entries of this member.
        member_id: Query<Option<Uuid>>,
        /// Only this kind.
        kind: Query<Option<CreditKind>>,
        /// Only this type.
        entry_type: Query<Option<EntryType>>,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListLedgerResponse {
        ListLedgerResponse::from_result(
            async {
                let filter = LedgerFilter {
                    member: member_id.0.map(MemberId::from_uuid),
                    kind: kind.0.map(Into::into),
                    entry_type: entry_type.0.map(Into::into),
                    naming: None,
                };
                if wants_csv(req) {
                    let export = state.accounts.export().ledger_csv(&auth.actor(), filter).await?;
                    let filename = csv_name("ledger", export.as_of());
                    let csv = Csv(Download::new(body_of(export), filename));
                    return Ok(ListLedgerResponse::Ok(LedgerContent::Csv(csv)));
                }
                let after =
                    pagination::decode_time_id::<LedgerEntryId>("ledger", cursor.0.as_deref())?
                        .map(|(at, id)| LedgerCursor { at, id });
                let limit = pagination::limit(limit.0);
                let rows = state
                    .accounts
                    .credits()
                    .ledger(&auth.actor(), filter, Page { after, limit: limit + 1 })
                    .await?;
                let (rows, next_cursor) =
                    pagination::finish(rows, limit, "ledger", |e| pagination::time_id(e.at, &e.id));
                let items = rows.iter().map(LedgerEntry::from).collect();
                Ok(ListLedgerResponse::Ok(LedgerContent::Json(Json(LedgerPage {
                    items,
                    next_cursor,
                }))))
            }
            .await,
        )
    }

    /// List the audit log
    ///
    /// Who, acting as whom, did what, on what, when, in the caller's organisation; newest
    /// first.
    ///
    /// With `Accept: text/csv`, the whole log (`limit` and `cursor` do not apply) as one CSV
    /// download, written as it is read, as of the request: entries made after it are left
    /// out.
    #[oai(
        path = "/team/audit-log",
        method = "get",
        operation_id = "listAuditLog",
        tag = "ApiTags::Team"
    )]
    async fn list_audit_log(
        &self,
        req: &Request,
        state: State<'_>,
        auth: SessionAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListAuditLogResponse {
        ListAuditLogResponse::from_result(
            async {
                if wants_csv(req) {
                    let export = state.accounts.export().audit_csv(&auth.actor()).await?;
                    let filename = csv_name("audit-log", export.as_of());
                    let csv = Csv(Download::new(body_of(export), filename));
                    return Ok(ListAuditLogResponse::Ok(AuditContent::Csv(csv)));
                }
                let after =
                    pagination::decode_time_id::<AuditEntryId>("audit", cursor.0.as_deref())?
                        .map(|(at, id)| AuditCursor { at, id });
                // The log hands out at most MAX_PAGE rows; one is needed to see a next page.
                let limit = pagination::limit(limit.0).min(MAX_PAGE - 1);
                let rows = state
                    .accounts
                    .audit()
                    .list(&auth.actor(), Page { after, limit: limit + 1 })
                    .await?;
                let (rows, next_cursor) =
                    pagination::finish(rows, limit, "audit", |e| pagination::time_id(e.at, &e.id));
                let items = rows.iter().map(AuditEntry::from).collect();
                Ok(ListAuditLogResponse::Ok(AuditContent::Json(Json(AuditPage {
                    items,
                    next_cursor,
                }))))
            }
            .await,
        )
    }
}

/// Which way credits move between the pool and a sub-user.
#[derive(Clone, Copy)]
enum Direction {
    Allocate,
    Reclaim,
}

/// Allocation and reclaim: the same request, idempotency and response, another use case.
async fn move_credits(
    state: &State<'_>,
    auth: &SessionAuth,
    member: &Path<Uuid>,
    key: Option<String>,
    body: &CreditMoveRequest,
    direction: Direction,
) -> Replayable<MoveCreditsResponse> {
    let actor = auth.actor();
    let mut replayed = false;
    let response = MoveCreditsResponse::from_result(
        async {
            let key = idempotency::key(key.as_deref())?;
            let credits = state.accounts.credits();
            let (target, kind, reason) =
                (member_id(member), body.kind.into(), body.reason.as_deref());
            let outcome = match direction {
                Direction::Allocate => {
                    credits.allocate(&actor, target, kind, body.amount, reason, key.as_ref()).await
                }
                Direction::Reclaim => {
                    credits.reclaim(&actor, target, kind, body.amount, reason, key.as_ref()).await
                }
            }?;
            replayed = outcome.replayed;
            if !outcome.replayed {
                let entry_type = match direction {
                    Direction::Allocate => "allocate",
                    Direction::Reclaim => "reclaim",
                };
                state.metrics.credit_moved(entry_type, kind.as_str(), body.amount);
            }
            Ok(MoveCreditsResponse::Ok(Json((&outcome).into())))
        }
        .await,
    );
    Replayable::new(response, replayed)
}
