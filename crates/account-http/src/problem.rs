//! RFC 9457 problem details: the one error body of the API, its catalogue of stable types,
//! and the payload that sends it as `application/problem+json`.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::Object;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};

use crate::dto::{ContactRole, CreditKind};

/// Where the problem types are documented; a type URI is this base plus the type's slug, which
/// is also an anchor in `docs/api.md`.
pub const PROBLEM_BASE: &str = "https://github.com/accounts-rs/accounts/blob/main/docs/api.md#";

macro_rules! problem_types {
    ($($variant:ident => ($slug:literal, $status:literal, $title:literal, $doc:literal),)*) => {
        /// A stable problem type: its slug (the last part of the `type` URI), HTTP status and
        /// title never change once released; clients may switch on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ProblemType { $(#[doc = $doc] $variant,)* }

        impl ProblemType {
            /// Every problem type, in documentation order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The slug, such as `validation-failed`.
            #[must_use]
            pub const fn slug(self) -> &'static str {
                match self { $(Self::$variant => $slug,)* }
            }

            /// The HTTP status it is sent with.
            #[must_use]
            pub const fn status(self) -> u16 {
                match self { $(Self::$variant => $status,)* }
            }

            /// The short, fixed title.
            #[must_use]
            pub const fn title(self) -> &'static str {
                match self { $(Self::$variant => $title,)* }
            }

            /// When it is sent, for the documentation.
            #[must_use]
            pub const fn description(self) -> &'static str {
                match self { $(Self::$variant => $doc,)* }
            }
        }
    };
}

problem_types! {
    MalformedRequest => ("malformed-request", 400, "Malformed request",
        "The body is not valid JSON or has a field of the wrong type, or a parameter, header or cursor cannot be parsed."),
    Unauthenticated => ("unauthenticated", 401, "Unauthenticated",
        "Credentials are missing, unknown or revoked, or belong to a member who may no longer act (disabled, deleted)."),
    SessionExpired => ("session-expired", 401, "Session expired",
        "The session, or the impersonation's hour, has ended; log in again."),
    InvalidCredentials => ("invalid-credentials", 401, "Invalid credentials",
        "Log-in failed: the email or password is wrong. The answer is the same whether or not the account exists."),
    AccountDisabled => ("account-disabled", 403, "Account disabled",
        "Log-in with the right password for a disabled member."),
    AdminOnly => ("admin-only", 403, "Admins only",
        "Only an admin of the organisation may do this; sub-users, and admins impersonating a sub-user, may not."),
    NotWhileImpersonating => ("not-while-impersonating", 403, "Not while impersonating",
        "Password, email, API keys, sessions and account deletion cannot be touched through an impersonation."),
    SessionRequired => ("session-required", 403, "Session required",
        "This needs a login session; API keys may only record consumption and read usage."),
    NotFound => ("not-found", 404, "Not found",
        "No such route, or the resource does not exist or is not visible to the caller (a member, key, session or contact of another organisation reads as absent)."),
    MethodNotAllowed => ("method-not-allowed", 405, "Method not allowed",
        "The route exists, but not with this method."),
    EmailTaken => ("email-taken", 409, "Email address taken",
        "The email address is already the login of an account."),
    UsernameTaken => ("username-taken", 409, "Username taken",
        "Another member has this username."),
    ProductNameTaken => ("product-name-taken", 409, "Product name taken",
        "A catalogue entry has this name (case-insensitively)."),
    ContactExists => ("contact-exists", 409, "Contact address exists",
        "The organisation already has this contact address."),
    NoFreeLicence => ("no-free-licence", 409, "No free licence",
        "Every licence of the plan is taken by an enabled member (pending invitations included); disable a member, move one to another plan or buy more licences."),
    LastAdmin => ("last-admin", 409, "Last admin",
        "The organisation's last enabled admin cannot be disabled, demoted or deleted; make another member admin first."),
    LicencesBelowEnabled => ("licences-below-enabled", 409, "Licences below enabled members",
        "A plan's licences cannot be set below the number of members enabled on it."),
    PlanInUse => ("plan-in-use", 409, "Plan in use",
        "Members are on the plan: move them to another plan, or name the plan that replaces it, before removing it."),
    TooManyApiKeys => ("too-many-api-keys", 409, "Too many API keys",
        "The member holds the most API keys allowed; revoke one first."),
    TooManyContacts => ("too-many-contacts", 409, "Too many contact addresses",
        "The organisation has the most contact addresses allowed."),
    InsufficientCredits => ("insufficient-credits", 409, "Insufficient credits",
        "Not enough credits: the pool's unallocated headroom, the member's unspent allocation, or what the spender has left. `kind` and `available` say how many there are."),
    RolesUnheld => ("roles-unheld", 409, "Role would be unheld",
        "Removing a contact address, or a role from it, would leave the roles listed in `roles` without a verified address."),
    ContactNotVerified => ("contact-not-verified", 409, "Contact address not verified",
        "Verify the address with its code before giving it roles."),
    ContactAlreadyVerified => ("contact-already-verified", 409, "Contact address already verified",
        "The address is verified already: there is no code to enter or resend."),
    NotInvited => ("not-invited", 409, "Invitation already accepted",
        "The member has set a password already (or is disabled): there is no invitation to resend."),
    PasswordResetUnavailable => ("password-reset-unavailable", 409, "Password cannot be reset",
        "The member is disabled, or has not set a password yet (resend the invitation instead): no reset mail is sent."),
    EmailChangeNotStarted => ("email-change-not-started", 409, "No email change in progress",
        "No email change is in progress (never started, finished, cancelled or older than an hour); start one."),
    EmailChangeWrongStep => ("email-change-wrong-step", 409, "Email change at another step",
        "The email change is at another step; `GET /me/email-change` tells which."),
    ImpersonationActive => ("impersonation-active", 409, "Already impersonating",
        "Impersonations never nest: stop the current one first."),
    NotImpersonating => ("not-impersonating", 409, "Not impersonating",
        "This session is not an impersonation, so there is nothing to stop."),
    InFlight => ("in-flight", 409, "Request in flight",
        "Another request with the same event id is being recorded; retry after `Retry-After` seconds to get its result."),
    IdempotencyKeyUnreplayable => ("idempotency-key-unreplayable", 409, "Idempotency key unreplayable",
        "The Idempotency-Key was recorded by an older version of the server and its result cannot be replayed; check whether the change was made before retrying with a new key. Such keys are forgotten a day after their first use."),
    StaleVersion => ("stale-version", 412, "Stale version",
        "If-Match does not name the current version (`current_etag` gives it): re-read, re-apply the change and save again."),
    RequestTimeout => ("request-timeout", 408, "Request timeout",
        "The request body did not arrive within the server's body timeout; the connection is closed."),
    PayloadTooLarge => ("payload-too-large", 413, "Payload too large",
        "The request body is larger than the server accepts."),
    UnsupportedMediaType => ("unsupported-media-type", 415, "Unsupported media type",
        "The body must be sent as application/json."),
    ValidationFailed => ("validation-failed", 422, "Validation failed",
        "Fields are invalid; `errors` names each one and what to fix."),
    CodeWrong => ("code-wrong", 422, "Wrong code",
        "The verification code is wrong; `tries_left` says how many tries remain."),
    CodeExpired => ("code-expired", 422, "Code expired",
        "The verification code is older than 10 minutes; ask for a new one."),
    CodeTriesExhausted => ("code-tries-exhausted", 422, "Too many wrong codes",
        "Five wrong codes were entered: start again (a new email change, or remove and re-add the contact address)."),
    CodeResendExhausted => ("code-resend-exhausted", 422, "No more codes",
        "Too many codes were sent (or tried wrongly) for this request: start again."),
    WrongPassword => ("wrong-password", 422, "Wrong current password",
        "The current password given to change it is wrong."),
    ConfirmationFailed => ("confirmation-failed", 422, "Confirmation failed",
        "The password or typed username confirming the account's deletion does not match."),
    InvitationInvalid => ("invitation-invalid", 422, "Invitation not valid",
        "The invitation token is unknown or was used already; ask an admin to send a new one."),
    InvitationExpired => ("invitation-expired", 422, "Invitation expired",
        "The invitation has expired; ask an admin to send a new one."),
    PasswordResetInvalid => ("password-reset-invalid", 422, "Reset link not valid",
        "The password-reset token is unknown, was used or replaced by a newer one, or its member may no longer log in; ask for a new one."),
    PasswordResetExpired => ("password-reset-expired", 422, "Reset link expired",
        "The password-reset token is older than 30 minutes; ask for a new one."),
    TargetIsAdmin => ("target-is-admin", 422, "Target is an admin",
        "Admins cannot be impersonated, do not hold allocations (they spend the team pool directly), and reset their own password from the log-in page rather than by another admin."),
    TargetDisabled => ("target-disabled", 422, "Target is disabled",
        "Disabled members cannot be impersonated or receive allocations; re-enable them first."),
    IdempotencyKeyReused => ("idempotency-key-reused", 422, "Idempotency key reused",
        "The Idempotency-Key was used before with a different request (another body or target)."),
    EventIdReused => ("event-id-reused", 422, "Event id reused",
        "The consumption's event id was recorded before for a different consumption."),
    PreconditionRequired => ("precondition-required", 428, "If-Match required",
        "This update needs If-Match with the ETag of the version it is based on."),
    TooManyRequests => ("too-many-requests", 429, "Too many requests",
        "Too many attempts (log-ins, codes, tokens) or mails (codes, invitations, password resets) for this address, member or client; retry after `Retry-After` seconds."),
    CodeResendTooSoon => ("code-resend-too-soon", 429, "Code sent moments ago",
        "A code was sent less than a minute ago; retry after `Retry-After` seconds."),
    Internal => ("internal-error", 500, "Internal error",
        "Our fault. Nothing about the cause is shown; quote `request_id` when reporting it."),
    Unavailable => ("unavailable", 503, "Service unavailable",
        "A dependency (the database) is unavailable; retry later."),
}

impl ProblemType {
    /// The full `type` URI.
    #[must_use]
    pub fn uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

/// One invalid field and what to fix.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct FieldProblem {
    /// The field as sent, such as `phone` or `offerings[2]`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// An RFC 9457 problem: `type`, `title`, `status` and a human `detail`, plus the extension
/// members a client may act on. Members that do not apply are left out.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Problem {
    /// A URI naming the problem type (stable; see the list in the API guide).
    #[oai(rename = "type")]
    pub type_uri: String,
    /// A short summary of the type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// For `malformed-request` and `validation-failed`: every field at fault.
    pub errors: Option<Vec<FieldProblem>>,
    /// For `code-wrong`: wrong tries left.
    pub tries_left: Option<u8>,
    /// For `roles-unheld`: the roles that would be left without a verified address.
    pub roles: Option<Vec<ContactRole>>,
    /// For `stale-version`: the current ETag.
    pub current_etag: Option<String>,
    /// For `insufficient-credits`: the credit kind.
    pub kind: Option<CreditKind>,
    /// For `insufficient-credits`: how many are available.
    pub available: Option<i64>,
    /// For `too-many-requests` and `in-flight`: seconds to wait (also sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// For 5xx: the request id, to quote when reporting it.
    pub request_id: Option<String>,
}

impl Problem {
    /// A problem of type `ty` with `detail`.
    #[must_use]
    pub(crate) fn new(ty: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            type_uri: ty.uri(),
            title: ty.title().to_owned(),
            status: ty.status(),
            detail: detail.into(),
            errors: None,
            tries_left: None,
            roles: None,
            current_etag: None,
            kind: None,
            available: None,
            retry_after: None,
            request_id: None,
        }
    }

    /// The HTTP status.
    #[must_use]
    pub(crate) fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Sets `retry_after`.
    #[must_use]
    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// Sets `available` and `kind`.
    #[must_use]
    pub(crate) fn credits(mut self, kind: impl Into<CreditKind>, available: i64) -> Self {
        self.kind = Some(kind.into());
        self.available = Some(available);
        self
    }

    /// Sends the problem as the response to a failed request.
    #[must_use]
    pub(crate) fn into_poem_error(self) -> poem::Error {
        let mut err = poem::Error::from_status(self.status_code());
        err.set_data(self);
        err
    }

    /// A problem for a poem error raised outside an operation (no route, wrong method, body
    /// too large, a path that does not parse), keeping the status.
    #[must_use]
    pub(crate) fn from_poem_status(status: StatusCode, message: &str) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::new(ProblemType::NotFound, "there is no such route"),
            StatusCode::METHOD_NOT_ALLOWED => {
                Self::new(ProblemType::MethodNotAllowed, "this route does not accept this method")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(ProblemType::PayloadTooLarge, "the request body is too large")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                ProblemType::UnsupportedMediaType,
                "send the body as application/json (Content-Type: application/json)",
            ),
            StatusCode::UNAUTHORIZED => Self::new(
                ProblemType::Unauthenticated,
                "send valid credentials (Authorization: Bearer <token>, or X-Api-Key)",
            ),
            s if s.is_server_error() => Self::internal(),
            _ => Self::new(ProblemType::MalformedRequest, message),
        }
    }

    /// The opaque 500 problem; the cause is logged where it happened, never shown.
    #[must_use]
    pub(crate) fn internal() -> Self {
        let mut p = Self::new(
            ProblemType::Internal,
            "something went wrong on our side; quote the request id when reporting it",
        );
        p.request_id = crate::middleware::current_request_id();
        p
    }

    /// The 503 problem.
    #[must_use]
    pub(crate) fn unavailable() -> Self {
        let mut p = Self::new(
            ProblemType::Unavailable,
            "a service we depend on is unavailable; retry in a moment",
        );
        p.request_id = crate::middleware::current_request_id();
        p.retry_after = Some(5);
        p
    }
}

/// The `application/problem+json` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProblemJson(pub Problem);

impl Payload for ProblemJson {
    const CONTENT_TYPE: &'static str = "application/problem+json";

    fn schema_ref() -> MetaSchemaRef {
        <Problem as Type>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Problem as Type>::register(registry);
    }
}

impl IntoResponse for ProblemJson {
    fn into_response(self) -> Response {
        let status = self.0.status_code();
        let body = self.0.to_json().map(|v| v.to_string()).unwrap_or_default();
        let mut resp = Response::builder()
            .status(status)
            .content_type(<Self as Payload>::CONTENT_TYPE)
            .body(body);
        if let Some(secs) = self.0.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"accounts\""),
            );
        }
        resp
    }
}

/// A response enum that can carry any [`Problem`]: implemented by every operation's response
/// type (see the `responses!` macro), which picks the variant of the problem's status.
pub(crate) trait ProblemResponse: Sized {
    /// The error statuses the operation declares (its `errors`, plus 500 and 503).
    const DECLARED: crate::status::StatusSet;

    /// The variant for `problem`'s status. A status the operation does not declare becomes a
    /// logged 500: a last line only, unreachable by the checks that `responses.rs` describes.
    fn from_problem(problem: Problem) -> Self;
}

/// The `bad_request_handler` of every operation: payload, parameter and security-scheme errors
/// become problems. A checker that failed with a [`Problem`] keeps it.
pub(crate) fn bad_request<T: ProblemResponse>(err: poem::Error) -> T {
    if let Some(problem) = err.data::<Problem>() {
        return T::from_problem(problem.clone());
    }
    if let Some(problem) = crate::body::parameter_problem(&err) {
        return T::from_problem(problem);
    }
    let message = err.to_string();
    T::from_problem(Problem::from_poem_status(err.status(), &message))
}
