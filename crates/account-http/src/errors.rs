//! Every domain error, mapped to its problem. Each `match` is exhaustive with no catch-all, so
//! a new variant in `account-core` fails to compile here until it is given a status and type.
//! Each error type also states every status it can become ([`Problems`]), which the tests
//! prove exact and `responses.rs` holds each operation's declared statuses to.

use account_core::domain::idempotency::KeyConflict;
use account_core::domain::limits::Exhausted;
use account_core::domain::organisation::SeatsBelowMembers;
use account_core::domain::verification::{CodeError, ResendError};
use account_core::services::api_keys::ApiKeyError;
use account_core::services::auth::{AcceptInvitationError, AuthError, LoginError, SessionError};
use account_core::services::contacts::ContactError;
use account_core::services::credits::{AllocateError, ConsumeError, UsageReportError};
use account_core::services::email_change::EmailChangeError;
use account_core::services::impersonation::ImpersonationError;
use account_core::services::operator::OperatorError;
use account_core::services::organisation::SaveCustomerInfoError;
use account_core::services::password_reset::{
    CompleteResetError, RequestResetError, SendResetError,
};
use account_core::services::profile::{
    AccessError, ChangePasswordError, DeleteAccountError, SaveProfileError, SetOfferingsError,
    SetPreferencesError,
};
use account_core::services::team::{
    AddMemberError, ChangeMemberError, ChangePlanError, EditMemberProfileError,
};
use account_core::{Denied, InternalError, ValidationErrors};

use crate::etag::etag;
use crate::problem::{FieldProblem, Problem, ProblemType};
use crate::status::StatusSet;

/// A fault of ours: logged with its cause (the request id comes from the request's span),
/// answered without it.
pub(crate) fn internal(error: &InternalError) -> Problem {
    if error.is_unavailable() {
        tracing::warn!(error = %error, "a dependency is unavailable");
        Problem::unavailable()
    } else {
        tracing::error!(error = %error, source = ?std::error::Error::source(error), "internal error");
        Problem::internal()
    }
}

/// A budget is spent (rule 24): 429 with `Retry-After`.
pub(crate) fn throttled(e: Exhausted) -> Problem {
    Problem::new(ProblemType::TooManyRequests, e.to_string()).retry_after(e.retry_after_secs())
}

/// Invalid fields, each named.
pub(crate) fn validation(errors: &ValidationErrors) -> Problem {
    let mut p = Problem::new(ProblemType::ValidationFailed, errors.to_string());
    p.errors = Some(
        errors
            .fields()
            .iter()
            .map(|e| FieldProblem { field: e.field.clone(), message: e.message.clone() })
            .collect(),
    );
    p
}

/// One invalid field found by the HTTP layer while shaping a request for the domain.
pub(crate) fn invalid_field(field: &str, message: &str) -> Invalid {
    Status::new(validation(&ValidationErrors::single(field, message)))
}

/// An error type and every status its problem can have. `Failure` (see `responses.rs`) takes
/// only such types, and refuses at compile time one whose statuses its operation does not
/// declare. For each core error type, a test below builds every variant and checks that the
/// statuses of their problems are exactly `STATUSES`.
pub(crate) trait Problems: Into<Problem> {
    /// Every status [`Problem::from`] can give a value of this type.
    const STATUSES: StatusSet;
}

/// `STATUSES` of each error type: its own statuses, plus those of the errors it wraps.
macro_rules! statuses {
    ($($t:ty => $own:expr $(, $inner:ty)*;)*) => {
        $(impl Problems for $t {
            const STATUSES: StatusSet = StatusSet::of(&$own)$(.with(<$inner as Problems>::STATUSES))*;
        })*
    };
}

statuses! {
    Denied => [401, 403];
    InternalError => [500, 503];
    Exhausted => [429];
    ValidationErrors => [422];
    CodeError => [422];
    ResendError => [422, 429];
    KeyConflict => [409, 422];
    LoginError => [401, 403], Exhausted, InternalError;
    AuthError => [401], InternalError;
    SessionError => [404], Denied, InternalError;
    AcceptInvitationError => [422], Exhausted, InternalError;
    RequestResetError => [422], Exhausted, InternalError;
    CompleteResetError => [422], Exhausted, InternalError;
    SendResetError => [404, 409, 422], Exhausted, Denied, InternalError;
    AccessError => [], Denied, InternalError;
    SaveProfileError => [412, 422], Denied, InternalError;
    SetPreferencesError => [422], Denied, InternalError;
    SetOfferingsError => [422], Denied, InternalError;
    ChangePasswordError => [422], Exhausted, Denied, InternalError;
    DeleteAccountError => [409, 422], Exhausted, Denied, InternalError;
    EmailChangeError => [409, 422], CodeError, ResendError, Exhausted, Denied, InternalError;
    ApiKeyError => [404, 409, 422], Denied, InternalError;
    AddMemberError => [404, 409, 422], KeyConflict, Exhausted, Denied, InternalError;
    ChangeMemberError => [404, 409], Exhausted, Denied, InternalError;
    ChangePlanError => [404, 409, 422], Denied, InternalError;
    EditMemberProfileError => [404, 412, 422], Denied, InternalError;
    AllocateError => [404, 409, 422], KeyConflict, Denied, InternalError;
    ConsumeError => [409, 422], KeyConflict, Denied, InternalError;
    UsageReportError => [404, 422], Denied, InternalError;
    SaveCustomerInfoError => [412, 422], Denied, InternalError;
    ContactError => [404, 409, 422], CodeError, ResendError, Exhausted, Denied, InternalError;
    ImpersonationError => [404, 409, 422], Denied, InternalError;
    OperatorError => [404, 409, 422], KeyConflict, InternalError;
}

/// A problem the HTTP layer makes itself, of status `CODE` (a cursor or header that does not
/// parse, a field the domain does not check, an absent resource).
#[derive(Debug)]
pub(crate) struct Status<const CODE: u16>(Box<Problem>);

impl<const CODE: u16> Status<CODE> {
    /// `problem` as a problem of status `CODE`. The `problem!` macro computes `CODE` from the
    /// problem type at compile time; the helpers that pass a problem made elsewhere
    /// (`malformed_problem`, `validation`) always make one type, and are tested for its status.
    pub(crate) fn new(problem: Problem) -> Self {
        debug_assert_eq!(problem.status, CODE, "a problem's status disagrees with its type");
        Self(Box::new(problem))
    }
}

impl<const CODE: u16> From<Status<CODE>> for Problem {
    fn from(s: Status<CODE>) -> Self {
        *s.0
    }
}

impl<const CODE: u16> Problems for Status<CODE> {
    const STATUSES: StatusSet = StatusSet::of(&[CODE]);
}

/// A `malformed-request` problem made by the HTTP layer.
pub(crate) type Malformed = Status<400>;
/// A `validation-failed` problem made by the HTTP layer.
pub(crate) type Invalid = Status<422>;

/// `Status<{ ty.status() }>` of problem type `ty` with a detail: the status is the type's, by
/// construction.
macro_rules! problem {
    ($ty:ident, $detail:expr) => {
        $crate::errors::Status::<{ $crate::problem::ProblemType::$ty.status() }>::new(
            $crate::problem::Problem::new($crate::problem::ProblemType::$ty, $detail),
        )
    };
}
pub(crate) use problem;

/// One of two error types (a helper that can fail in two ways); its statuses are both sets.
#[derive(Debug)]
pub(crate) enum Either<A, B> {
    /// The first.
    A(A),
    /// The second.
    B(B),
}

impl<A: Into<Problem>, B: Into<Problem>> From<Either<A, B>> for Problem {
    fn from(e: Either<A, B>) -> Self {
        match e {
            Either::A(a) => a.into(),
            Either::B(b) => b.into(),
        }
    }
}

impl<A: Problems, B: Problems> Problems for Either<A, B> {
    const STATUSES: StatusSet = A::STATUSES.with(B::STATUSES);
}

/// An error whose problem names `field` as the one at fault when its status is `status`: the
/// status itself is left as it is, so the statuses are `E`'s.
#[derive(Debug)]
pub(crate) struct FieldAt<E> {
    problem: Problem,
    _error: std::marker::PhantomData<E>,
}

impl<E: Problems> FieldAt<E> {
    /// `error`'s problem, naming `field` when its status is `status`.
    pub(crate) fn new(error: E, field: &str, status: u16) -> Self {
        let problem = error.into();
        let problem = if problem.status == status { at(field, problem) } else { problem };
        Self { problem, _error: std::marker::PhantomData }
    }
}

impl<E> From<FieldAt<E>> for Problem {
    fn from(e: FieldAt<E>) -> Self {
        e.problem
    }
}

impl<E: Problems> Problems for FieldAt<E> {
    const STATUSES: StatusSet = E::STATUSES;
}

fn not_found(detail: &str) -> Problem {
    Problem::new(ProblemType::NotFound, detail)
}

fn stale(current: u64) -> Problem {
    let mut p = Problem::new(
        ProblemType::StaleVersion,
        format!(
            "it was changed by someone else since you read it (now {}); reload it",
            etag(current)
        ),
    );
    p.current_etag = Some(etag(current));
    p
}

/// `problem`, naming `field` as the one at fault in `errors` (its detail as the message), so
/// that a form can show it beside the field, as it does a validation error.
pub(crate) fn at(field: &str, mut problem: Problem) -> Problem {
    problem.errors =
        Some(vec![FieldProblem { field: field.to_owned(), message: problem.detail.clone() }]);
    problem
}

fn code(error: CodeError) -> Problem {
    let detail = error.to_string();
    at(
        "code",
        match error {
            CodeError::Wrong { tries_left } => {
                let mut p = Problem::new(ProblemType::CodeWrong, detail);
                p.tries_left = Some(tries_left);
                p
            }
            CodeError::Expired => Problem::new(ProblemType::CodeExpired, detail),
            CodeError::TooManyTries => Problem::new(ProblemType::CodeTriesExhausted, detail),
        },
    )
}

fn resend(error: ResendError) -> Problem {
    let detail = error.to_string();
    match error {
        ResendError::TooSoon { retry_after_secs } => {
            Problem::new(ProblemType::CodeResendTooSoon, detail).retry_after(retry_after_secs)
        }
        ResendError::Exhausted => Problem::new(ProblemType::CodeResendExhausted, detail),
    }
}

impl From<Denied> for Problem {
    fn from(d: Denied) -> Self {
        let detail = d.to_string();
        match d {
            Denied::NotActive => Self::new(ProblemType::Unauthenticated, detail),
            Denied::NotAdmin => Self::new(ProblemType::AdminOnly, detail),
            Denied::Impersonating => Self::new(ProblemType::NotWhileImpersonating, detail),
            Denied::NeedsSession => Self::new(ProblemType::SessionRequired, detail),
        }
    }
}

impl From<InternalError> for Problem {
    fn from(e: InternalError) -> Self {
        internal(&e)
    }
}

impl From<Exhausted> for Problem {
    fn from(e: Exhausted) -> Self {
        throttled(e)
    }
}

impl From<ValidationErrors> for Problem {
    fn from(e: ValidationErrors) -> Self {
        validation(&e)
    }
}

impl From<CodeError> for Problem {
    fn from(e: CodeError) -> Self {
        code(e)
    }
}

impl From<ResendError> for Problem {
    fn from(e: ResendError) -> Self {
        resend(e)
    }
}

impl From<LoginError> for Problem {
    fn from(e: LoginError) -> Self {
        let detail = e.to_string();
        match e {
            LoginError::InvalidCredentials => Self::new(ProblemType::InvalidCredentials, detail),
            LoginError::AccountDisabled => Self::new(ProblemType::AccountDisabled, detail),
            LoginError::Throttled(e) => throttled(e),
            LoginError::Internal(i) => internal(&i),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        let detail = e.to_string();
        match e {
            AuthError::InvalidToken => Self::new(ProblemType::Unauthenticated, detail),
            AuthError::Expired => Self::new(ProblemType::SessionExpired, detail),
            AuthError::Internal(i) => internal(&i),
        }
    }
}

impl From<SessionError> for Problem {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotFound => not_found("no such session of yours"),
            SessionError::Denied(d) => d.into(),
            SessionError::Internal(i) => internal(&i),
        }
    }
}

impl From<AcceptInvitationError> for Problem {
    fn from(e: AcceptInvitationError) -> Self {
        let detail = e.to_string();
        match e {
            AcceptInvitationError::InvalidToken => {
                at("token", Self::new(ProblemType::InvitationInvalid, detail))
            }
            AcceptInvitationError::Expired => {
                at("token", Self::new(ProblemType::InvitationExpired, detail))
            }
            AcceptInvitationError::Validation(v) => validation(&v),
            AcceptInvitationError::Throttled(e) => throttled(e),
            AcceptInvitationError::Internal(i) => internal(&i),
        }
    }
}

impl From<RequestResetError> for Problem {
    fn from(e: RequestResetError) -> Self {
        match e {
            RequestResetError::Validation(v) => validation(&v),
            RequestResetError::Throttled(e) => throttled(e),
            RequestResetError::Internal(i) => internal(&i),
        }
    }
}

impl From<CompleteResetError> for Problem {
    fn from(e: CompleteResetError) -> Self {
        let detail = e.to_string();
        match e {
            CompleteResetError::InvalidToken => {
                at("token", Self::new(ProblemType::PasswordResetInvalid, detail))
            }
            CompleteResetError::Expired => {
                at("token", Self::new(ProblemType::PasswordResetExpired, detail))
            }
            CompleteResetError::Validation(v) => validation(&v),
            CompleteResetError::Throttled(e) => throttled(e),
            CompleteResetError::Internal(i) => internal(&i),
        }
    }
}

impl From<SendResetError> for Problem {
    fn from(e: SendResetError) -> Self {
        let detail = e.to_string();
        match e {
            SendResetError::MemberNotFound => not_found(&detail),
            SendResetError::TargetIsAdmin => {
                at("member_id", Self::new(ProblemType::TargetIsAdmin, detail))
            }
            SendResetError::NotResettable => {
                Self::new(ProblemType::PasswordResetUnavailable, detail)
            }
            SendResetError::Throttled(e) => throttled(e),
            SendResetError::Denied(d) => d.into(),
            SendResetError::Internal(i) => internal(&i),
        }
    }
}

impl From<AccessError> for Problem {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Denied(d) => d.into(),
            AccessError::Internal(i) => internal(&i),
        }
    }
}

impl From<SaveProfileError> for Problem {
    fn from(e: SaveProfileError) -> Self {
        match e {
            SaveProfileError::Validation(v) => validation(&v),
            SaveProfileError::StaleVersion { current } => stale(current),
            SaveProfileError::Denied(d) => d.into(),
            SaveProfileError::Internal(i) => internal(&i),
        }
    }
}

impl From<SetPreferencesError> for Problem {
    fn from(e: SetPreferencesError) -> Self {
        match e {
            SetPreferencesError::Validation(v) => validation(&v),
            SetPreferencesError::Denied(d) => d.into(),
            SetPreferencesError::Internal(i) => internal(&i),
        }
    }
}

impl From<SetOfferingsError> for Problem {
    fn from(e: SetOfferingsError) -> Self {
        match e {
            SetOfferingsError::Validation(v) => validation(&v),
            SetOfferingsError::Denied(d) => d.into(),
            SetOfferingsError::Internal(i) => internal(&i),
        }
    }
}

impl From<ChangePasswordError> for Problem {
    fn from(e: ChangePasswordError) -> Self {
        let detail = e.to_string();
        match e {
            ChangePasswordError::WrongPassword => {
                at("current_password", Self::new(ProblemType::WrongPassword, detail))
            }
            ChangePasswordError::Validation(v) => validation(&v),
            ChangePasswordError::Denied(d) => d.into(),
            ChangePasswordError::Throttled(e) => throttled(e),
            ChangePasswordError::Internal(i) => internal(&i),
        }
    }
}

impl From<DeleteAccountError> for Problem {
    fn from(e: DeleteAccountError) -> Self {
        let detail = e.to_string();
        match e {
            DeleteAccountError::ConfirmationFailed => {
                Self::new(ProblemType::ConfirmationFailed, detail)
            }
            DeleteAccountError::LastAdmin => Self::new(ProblemType::LastAdmin, detail),
            DeleteAccountError::Denied(d) => d.into(),
            DeleteAccountError::Throttled(e) => throttled(e),
            DeleteAccountError::Internal(i) => internal(&i),
        }
    }
}

impl From<EmailChangeError> for Problem {
    fn from(e: EmailChangeError) -> Self {
        let detail = e.to_string();
        match e {
            EmailChangeError::NoFlow => Self::new(ProblemType::EmailChangeNotStarted, detail),
            EmailChangeError::WrongStage { .. } => {
                Self::new(ProblemType::EmailChangeWrongStep, detail)
            }
            EmailChangeError::Code(c) => code(c),
            EmailChangeError::Resend(r) => resend(r),
            EmailChangeError::Validation(v) => validation(&v),
            EmailChangeError::EmailTaken => Self::new(ProblemType::EmailTaken, detail),
            EmailChangeError::Denied(d) => d.into(),
            EmailChangeError::Throttled(e) => throttled(e),
            EmailChangeError::Internal(i) => internal(&i),
        }
    }
}

impl From<ApiKeyError> for Problem {
    fn from(e: ApiKeyError) -> Self {
        let detail = e.to_string();
        match e {
            ApiKeyError::Validation(v) => validation(&v),
            ApiKeyError::NotFound => not_found(&detail),
            ApiKeyError::TooMany { .. } => Self::new(ProblemType::TooManyApiKeys, detail),
            ApiKeyError::Denied(d) => d.into(),
            ApiKeyError::Internal(i) => internal(&i),
        }
    }
}

impl From<AddMemberError> for Problem {
    fn from(e: AddMemberError) -> Self {
        let detail = e.to_string();
        match e {
            AddMemberError::Validation(v) => validation(&v),
            AddMemberError::NoFreeLicence { .. } => Self::new(ProblemType::NoFreeLicence, detail),
            AddMemberError::EmailTaken => Self::new(ProblemType::EmailTaken, detail),
            AddMemberError::IdempotencyKey(k) => k.into(),
            AddMemberError::AddedMemberGone => not_found(&detail),
            AddMemberError::Denied(d) => d.into(),
            AddMemberError::Throttled(e) => throttled(e),
            AddMemberError::Internal(i) => internal(&i),
        }
    }
}

impl From<ChangeMemberError> for Problem {
    fn from(e: ChangeMemberError) -> Self {
        let detail = e.to_string();
        match e {
            ChangeMemberError::MemberNotFound => not_found(&detail),
            ChangeMemberError::LastAdmin => Self::new(ProblemType::LastAdmin, detail),
            ChangeMemberError::NoFreeLicence(_) => Self::new(ProblemType::NoFreeLicence, detail),
            ChangeMemberError::NotInvited => Self::new(ProblemType::NotInvited, detail),
            ChangeMemberError::Denied(d) => d.into(),
            ChangeMemberError::Throttled(e) => throttled(e),
            ChangeMemberError::Internal(i) => internal(&i),
        }
    }
}

impl From<ChangePlanError> for Problem {
    fn from(e: ChangePlanError) -> Self {
        let detail = e.to_string();
        match e {
            ChangePlanError::Validation(v) => validation(&v),
            ChangePlanError::MemberNotFound => not_found(&detail),
            ChangePlanError::NoFreeLicence(_) => Self::new(ProblemType::NoFreeLicence, detail),
            ChangePlanError::Denied(d) => d.into(),
            ChangePlanError::Internal(i) => internal(&i),
        }
    }
}

impl From<EditMemberProfileError> for Problem {
    fn from(e: EditMemberProfileError) -> Self {
        let detail = e.to_string();
        match e {
            EditMemberProfileError::Validation(v) => validation(&v),
            EditMemberProfileError::MemberNotFound => not_found(&detail),
            EditMemberProfileError::StaleVersion { current } => stale(current),
            EditMemberProfileError::Denied(d) => d.into(),
            EditMemberProfileError::Internal(i) => internal(&i),
        }
    }
}

impl From<AllocateError> for Problem {
    fn from(e: AllocateError) -> Self {
        let detail = e.to_string();
        match e {
            AllocateError::Validation(v) => validation(&v),
            AllocateError::MemberNotFound => not_found(&detail),
            AllocateError::TargetIsAdmin => {
                at("member_id", Self::new(ProblemType::TargetIsAdmin, detail))
            }
            AllocateError::TargetDisabled => {
                at("member_id", Self::new(ProblemType::TargetDisabled, detail))
            }
            AllocateError::InsufficientHeadroom { kind, available }
            | AllocateError::InsufficientUnspent { kind, available } => {
                Self::new(ProblemType::InsufficientCredits, detail).credits(kind, available)
            }
            AllocateError::IdempotencyKey(k) => k.into(),
            AllocateError::Denied(d) => d.into(),
            AllocateError::Internal(i) => internal(&i),
        }
    }
}

impl From<ConsumeError> for Problem {
    fn from(e: ConsumeError) -> Self {
        let detail = e.to_string();
        match e {
            ConsumeError::Validation(v) => validation(&v),
            ConsumeError::InsufficientCredits { kind, available } => {
                Self::new(ProblemType::InsufficientCredits, detail).credits(kind, available)
            }
            ConsumeError::EventIdReused => {
                at("event_id", Self::new(ProblemType::EventIdReused, detail))
            }
            ConsumeError::EventIdInFlight => {
                Self::new(ProblemType::InFlight, detail).retry_after(1)
            }
            ConsumeError::IdempotencyKey(k) => k.into(),
            ConsumeError::Denied(d) => d.into(),
            ConsumeError::Internal(i) => internal(&i),
        }
    }
}

impl From<UsageReportError> for Problem {
    fn from(e: UsageReportError) -> Self {
        let detail = e.to_string();
        match e {
            UsageReportError::Validation(v) => validation(&v),
            UsageReportError::MemberNotFound => not_found(&detail),
            UsageReportError::Denied(d) => d.into(),
            UsageReportError::Internal(i) => internal(&i),
        }
    }
}

impl From<SaveCustomerInfoError> for Problem {
    fn from(e: SaveCustomerInfoError) -> Self {
        match e {
            SaveCustomerInfoError::Validation(v) => validation(&v),
            SaveCustomerInfoError::StaleVersion { current } => stale(current),
            SaveCustomerInfoError::Denied(d) => d.into(),
            SaveCustomerInfoError::Internal(i) => internal(&i),
        }
    }
}

impl From<ContactError> for Problem {
    fn from(e: ContactError) -> Self {
        let detail = e.to_string();
        match e {
            ContactError::Validation(v) => validation(&v),
            ContactError::NotFound => not_found(&detail),
            ContactError::AlreadyExists => Self::new(ProblemType::ContactExists, detail),
            ContactError::TooMany { .. } => Self::new(ProblemType::TooManyContacts, detail),
            ContactError::AlreadyVerified => Self::new(ProblemType::ContactAlreadyVerified, detail),
            ContactError::NotVerified => Self::new(ProblemType::ContactNotVerified, detail),
            ContactError::RolesUnheld { roles } => {
                let mut p = Self::new(ProblemType::RolesUnheld, detail);
                p.roles = Some(roles.into_iter().map(Into::into).collect());
                p
            }
            ContactError::Code(c) => code(c),
            ContactError::Resend(r) => resend(r),
            ContactError::Denied(d) => d.into(),
            ContactError::Throttled(e) => throttled(e),
            ContactError::Internal(i) => internal(&i),
        }
    }
}

impl From<ImpersonationError> for Problem {
    fn from(e: ImpersonationError) -> Self {
        let detail = e.to_string();
        match e {
            ImpersonationError::Validation(v) => validation(&v),
            ImpersonationError::MemberNotFound => not_found(&detail),
            ImpersonationError::TargetIsAdmin => {
                at("member_id", Self::new(ProblemType::TargetIsAdmin, detail))
            }
            ImpersonationError::TargetDisabled => {
                at("member_id", Self::new(ProblemType::TargetDisabled, detail))
            }
            ImpersonationError::Nested => Self::new(ProblemType::ImpersonationActive, detail),
            ImpersonationError::NotImpersonating => {
                Self::new(ProblemType::NotImpersonating, detail)
            }
            ImpersonationError::Denied(d) => d.into(),
            ImpersonationError::Internal(i) => internal(&i),
        }
    }
}

impl From<OperatorError> for Problem {
    fn from(e: OperatorError) -> Self {
        let detail = e.to_string();
        match e {
            OperatorError::Validation(v) => validation(&v),
            OperatorError::OrganisationNotFound
            | OperatorError::MemberNotFound
            | OperatorError::ApiKeyNotFound
            | OperatorError::ProductNotFound => not_found(&detail),
            OperatorError::EmailTaken => Self::new(ProblemType::EmailTaken, detail),
            OperatorError::UsernameTaken => Self::new(ProblemType::UsernameTaken, detail),
            OperatorError::ProductNameTaken => Self::new(ProblemType::ProductNameTaken, detail),
            OperatorError::SeatsBelowMembers(SeatsBelowMembers::Enabled { .. }) => {
                Self::new(ProblemType::LicencesBelowEnabled, detail)
            }
            OperatorError::SeatsBelowMembers(SeatsBelowMembers::PlanInUse { .. }) => {
                Self::new(ProblemType::PlanInUse, detail)
            }
            OperatorError::InsufficientHeadroom { kind, available } => {
                Self::new(ProblemType::InsufficientCredits, detail).credits(kind, available)
            }
            OperatorError::IdempotencyKey(k) => k.into(),
            OperatorError::Internal(i) => internal(&i),
        }
    }
}

impl From<KeyConflict> for Problem {
    fn from(e: KeyConflict) -> Self {
        let detail = e.to_string();
        let kind = match e {
            KeyConflict::Reused => ProblemType::IdempotencyKeyReused,
            KeyConflict::Unreplayable => ProblemType::IdempotencyKeyUnreplayable,
        };
        at("Idempotency-Key", Self::new(kind, detail))
    }
}

#[cfg(test)]
mod tests {
    use account_core::domain::contact::ContactRole;
    use account_core::domain::credits::CreditKind;
    use account_core::domain::organisation::NoFreeLicence;
    use account_core::domain::text::PlanName;

    use super::*;

    #[test]
    fn validation_names_every_field_without_values() {
        let mut v = ValidationErrors::new();
        v.push("phone", "must be in E.164");
        v.push("first_name", "must not be empty");
        let p = validation(&v);
        assert_eq!(p.status, 422);
        let fields: Vec<_> = p.errors.unwrap().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["phone", "first_name"]);
    }

    #[test]
    fn domain_errors_get_their_types() {
        let p = Problem::from(ContactError::RolesUnheld {
            roles: vec![account_core::domain::contact::ContactRole::Dpo],
        });
        assert_eq!((p.status, p.roles), (409, Some(vec![crate::dto::ContactRole::Dpo])));
        assert!(p.detail.contains("dpo"));
        let p =
            Problem::from(EmailChangeError::Resend(ResendError::TooSoon { retry_after_secs: 42 }));
        assert_eq!((p.status, p.retry_after), (429, Some(42)));
        let p = Problem::from(EmailChangeError::Code(CodeError::Wrong { tries_left: 3 }));
        assert_eq!((p.status, p.tries_left), (422, Some(3)));
        let p = Problem::from(AllocateError::InsufficientHeadroom {
            kind: CreditKind::Export,
            available: 7,
        });
        assert_eq!(
            (p.status, p.kind, p.available),
            (409, Some(crate::dto::CreditKind::Export), Some(7))
        );
        let p = Problem::from(SaveProfileError::StaleVersion { current: 4 });
        assert_eq!((p.status, p.current_etag.as_deref()), (412, Some("\"4\"")));
        assert_eq!(Problem::from(Denied::NotAdmin).status, 403);
        assert_eq!(Problem::from(Denied::NotActive).status, 401);
        assert_eq!(Problem::from(InternalError::new("disk on fire")).status, 500);
        assert!(!Problem::from(InternalError::new("disk on fire")).detail.contains("disk"));
    }

    /// Every shape of an error type whose problems can differ in status: at least one value per
    /// variant, and per status a wrapped error can take.
    trait Samples: Sized {
        fn samples() -> Vec<Self>;
    }

    /// Wraps every sample of an inner error type with `variant`.
    fn each<I: Samples, O>(variant: impl Fn(I) -> O) -> Vec<O> {
        I::samples().into_iter().map(variant).collect()
    }

    fn no_free_licence() -> NoFreeLicence {
        NoFreeLicence { plan: PlanName::parse("Basic").unwrap(), licences: 3 }
    }

    /// `Samples` for `$t`, one arm per variant: the arms also make an exhaustive `match` with no
    /// wildcard, so a variant added in `account-core` fails to compile here until it is listed
    /// with its samples; every sample is checked to be of the arm it is listed under.
    macro_rules! samples {
        ($t:ident { $($pat:pat => $samples:expr,)* }) => {
            impl Samples for $t {
                fn samples() -> Vec<Self> {
                    fn arm(e: &$t) -> &'static str {
                        #[allow(unused_variables)]
                        match e {
                            $($pat => stringify!($pat),)*
                        }
                    }
                    let mut all = Vec::new();
                    $(
                        let listed: Vec<$t> = $samples;
                        assert!(!listed.is_empty(), "no sample of {}", stringify!($pat));
                        for e in &listed {
                            assert_eq!(arm(e), stringify!($pat), "a sample listed under another arm");
                        }
                        all.extend(listed);
                    )*
                    all
                }
            }
        };
    }

    fn fields() -> ValidationErrors {
        ValidationErrors::single("field", "is wrong")
    }

    fn fault() -> InternalError {
        InternalError::new("disk on fire")
    }

    fn outage() -> InternalError {
        InternalError::from(account_core::ports::StoreError::Unavailable("down".into()))
    }

    fn spent() -> Exhausted {
        Exhausted { wait: chrono::Duration::seconds(30) }
    }

    impl Samples for InternalError {
        fn samples() -> Vec<Self> {
            vec![fault(), outage()]
        }
    }

    impl Samples for Exhausted {
        fn samples() -> Vec<Self> {
            vec![spent()]
        }
    }

    impl Samples for ValidationErrors {
        fn samples() -> Vec<Self> {
            vec![fields()]
        }
    }

    samples!(Denied {
        Denied::NotActive => vec![Denied::NotActive],
        Denied::NotAdmin => vec![Denied::NotAdmin],
        Denied::Impersonating => vec![Denied::Impersonating],
        Denied::NeedsSession => vec![Denied::NeedsSession],
    });
    samples!(CodeError {
        CodeError::Wrong { .. } => vec![CodeError::Wrong { tries_left: 2 }],
        CodeError::Expired => vec![CodeError::Expired],
        CodeError::TooManyTries => vec![CodeError::TooManyTries],
    });
    samples!(ResendError {
        ResendError::TooSoon { .. } => vec![ResendError::TooSoon { retry_after_secs: 30 }],
        ResendError::Exhausted => vec![ResendError::Exhausted],
    });
    samples!(KeyConflict {
        KeyConflict::Reused => vec![KeyConflict::Reused],
        KeyConflict::Unreplayable => vec![KeyConflict::Unreplayable],
    });
    samples!(LoginError {
        LoginError::InvalidCredentials => vec![LoginError::InvalidCredentials],
        LoginError::AccountDisabled => vec![LoginError::AccountDisabled],
        LoginError::Throttled(_) => each(LoginError::Throttled),
        LoginError::Internal(_) => each(LoginError::Internal),
    });
    samples!(AuthError {
        AuthError::InvalidToken => vec![AuthError::InvalidToken],
        AuthError::Expired => vec![AuthError::Expired],
        AuthError::Internal(_) => each(AuthError::Internal),
    });
    samples!(SessionError {
        SessionError::NotFound => vec![SessionError::NotFound],
        SessionError::Denied(_) => each(SessionError::Denied),
        SessionError::Internal(_) => each(SessionError::Internal),
    });
    samples!(AcceptInvitationError {
        AcceptInvitationError::InvalidToken => vec![AcceptInvitationError::InvalidToken],
        AcceptInvitationError::Expired => vec![AcceptInvitationError::Expired],
        AcceptInvitationError::Validation(_) => each(AcceptInvitationError::Validation),
        AcceptInvitationError::Throttled(_) => each(AcceptInvitationError::Throttled),
        AcceptInvitationError::Internal(_) => each(AcceptInvitationError::Internal),
    });
    samples!(RequestResetError {
        RequestResetError::Validation(_) => each(RequestResetError::Validation),
        RequestResetError::Throttled(_) => each(RequestResetError::Throttled),
        RequestResetError::Internal(_) => each(RequestResetError::Internal),
    });
    samples!(CompleteResetError {
        CompleteResetError::InvalidToken => vec![CompleteResetError::InvalidToken],
        CompleteResetError::Expired => vec![CompleteResetError::Expired],
        CompleteResetError::Validation(_) => each(CompleteResetError::Validation),
        CompleteResetError::Throttled(_) => each(CompleteResetError::Throttled),
        CompleteResetError::Internal(_) => each(CompleteResetError::Internal),
    });
    samples!(SendResetError {
        SendResetError::MemberNotFound => vec![SendResetError::MemberNotFound],
        SendResetError::TargetIsAdmin => vec![SendResetError::TargetIsAdmin],
        SendResetError::NotResettable => vec![SendResetError::NotResettable],
        SendResetError::Throttled(_) => each(SendResetError::Throttled),
        SendResetError::Denied(_) => each(SendResetError::Denied),
        SendResetError::Internal(_) => each(SendResetError::Internal),
    });
    samples!(AccessError {
        AccessError::Denied(_) => each(AccessError::Denied),
        AccessError::Internal(_) => each(AccessError::Internal),
    });
    samples!(SaveProfileError {
        SaveProfileError::Validation(_) => each(SaveProfileError::Validation),
        SaveProfileError::StaleVersion { .. } => vec![SaveProfileError::StaleVersion { current: 3 }],
        SaveProfileError::Denied(_) => each(SaveProfileError::Denied),
        SaveProfileError::Internal(_) => each(SaveProfileError::Internal),
    });
    samples!(SetPreferencesError {
        SetPreferencesError::Validation(_) => each(SetPreferencesError::Validation),
        SetPreferencesError::Denied(_) => each(SetPreferencesError::Denied),
        SetPreferencesError::Internal(_) => each(SetPreferencesError::Internal),
    });
    samples!(SetOfferingsError {
        SetOfferingsError::Validation(_) => each(SetOfferingsError::Validation),
        SetOfferingsError::Denied(_) => each(SetOfferingsError::Denied),
        SetOfferingsError::Internal(_) => each(SetOfferingsError::Internal),
    });
    samples!(ChangePasswordError {
        ChangePasswordError::WrongPassword => vec![ChangePasswordError::WrongPassword],
        ChangePasswordError::Throttled(_) => each(ChangePasswordError::Throttled),
        ChangePasswordError::Validation(_) => each(ChangePasswordError::Validation),
        ChangePasswordError::Denied(_) => each(ChangePasswordError::Denied),
        ChangePasswordError::Internal(_) => each(ChangePasswordError::Internal),
    });
    samples!(DeleteAccountError {
        DeleteAccountError::ConfirmationFailed => vec![DeleteAccountError::ConfirmationFailed],
        DeleteAccountError::LastAdmin => vec![DeleteAccountError::LastAdmin],
        DeleteAccountError::Throttled(_) => each(DeleteAccountError::Throttled),
        DeleteAccountError::Denied(_) => each(DeleteAccountError::Denied),
        DeleteAccountError::Internal(_) => each(DeleteAccountError::Internal),
    });
    samples!(EmailChangeError {
        EmailChangeError::NoFlow => vec![EmailChangeError::NoFlow],
        EmailChangeError::WrongStage { .. } => vec![EmailChangeError::WrongStage { stage: "new" }],
        EmailChangeError::Code(_) => each(EmailChangeError::Code),
        EmailChangeError::Resend(_) => each(EmailChangeError::Resend),
        EmailChangeError::Validation(_) => each(EmailChangeError::Validation),
        EmailChangeError::EmailTaken => vec![EmailChangeError::EmailTaken],
        EmailChangeError::Throttled(_) => each(EmailChangeError::Throttled),
        EmailChangeError::Denied(_) => each(EmailChangeError::Denied),
        EmailChangeError::Internal(_) => each(EmailChangeError::Internal),
    });
    samples!(ApiKeyError {
        ApiKeyError::Validation(_) => each(ApiKeyError::Validation),
        ApiKeyError::NotFound => vec![ApiKeyError::NotFound],
        ApiKeyError::TooMany { .. } => vec![ApiKeyError::TooMany { max: 10 }],
        ApiKeyError::Denied(_) => each(ApiKeyError::Denied),
        ApiKeyError::Internal(_) => each(ApiKeyError::Internal),
    });
    samples!(AddMemberError {
        AddMemberError::Validation(_) => each(AddMemberError::Validation),
        AddMemberError::NoFreeLicence(_) => vec![AddMemberError::NoFreeLicence(no_free_licence())],
        AddMemberError::EmailTaken => vec![AddMemberError::EmailTaken],
        AddMemberError::IdempotencyKey(_) => each(AddMemberError::IdempotencyKey),
        AddMemberError::Throttled(_) => each(AddMemberError::Throttled),
        AddMemberError::AddedMemberGone => vec![AddMemberError::AddedMemberGone],
        AddMemberError::Denied(_) => each(AddMemberError::Denied),
        AddMemberError::Internal(_) => each(AddMemberError::Internal),
    });
    samples!(ChangeMemberError {
        ChangeMemberError::MemberNotFound => vec![ChangeMemberError::MemberNotFound],
        ChangeMemberError::LastAdmin => vec![ChangeMemberError::LastAdmin],
        ChangeMemberError::NoFreeLicence(_) => {
            vec![ChangeMemberError::NoFreeLicence(no_free_licence())]
        },
        ChangeMemberError::NotInvited => vec![ChangeMemberError::NotInvited],
        ChangeMemberError::Throttled(_) => each(ChangeMemberError::Throttled),
        ChangeMemberError::Denied(_) => each(ChangeMemberError::Denied),
        ChangeMemberError::Internal(_) => each(ChangeMemberError::Internal),
    });
    samples!(ChangePlanError {
        ChangePlanError::Validation(_) => each(ChangePlanError::Validation),
        ChangePlanError::MemberNotFound => vec![ChangePlanError::MemberNotFound],
        ChangePlanError::NoFreeLicence(_) => vec![ChangePlanError::NoFreeLicence(no_free_licence())],
        ChangePlanError::Denied(_) => each(ChangePlanError::Denied),
        ChangePlanError::Internal(_) => each(ChangePlanError::Internal),
    });
    samples!(EditMemberProfileError {
        EditMemberProfileError::Validation(_) => each(EditMemberProfileError::Validation),
        EditMemberProfileError::MemberNotFound => vec![EditMemberProfileError::MemberNotFound],
        EditMemberProfileError::StaleVersion { .. } => {
            vec![EditMemberProfileError::StaleVersion { current: 2 }]
        },
        EditMemberProfileError::Denied(_) => each(EditMemberProfileError::Denied),
        EditMemberProfileError::Internal(_) => each(EditMemberProfileError::Internal),
    });
    samples!(AllocateError {
        AllocateError::Validation(_) => each(AllocateError::Validation),
        AllocateError::MemberNotFound => vec![AllocateError::MemberNotFound],
        AllocateError::TargetIsAdmin => vec![AllocateError::TargetIsAdmin],
        AllocateError::TargetDisabled => vec![AllocateError::TargetDisabled],
        AllocateError::InsufficientHeadroom { .. } => {
            vec![AllocateError::InsufficientHeadroom { kind: CreditKind::Export, available: 1 }]
        },
        AllocateError::InsufficientUnspent { .. } => {
            vec![AllocateError::InsufficientUnspent { kind: CreditKind::Export, available: 1 }]
        },
        AllocateError::IdempotencyKey(_) => each(AllocateError::IdempotencyKey),
        AllocateError::Denied(_) => each(AllocateError::Denied),
        AllocateError::Internal(_) => each(AllocateError::Internal),
    });
    samples!(ConsumeError {
        ConsumeError::Validation(_) => each(ConsumeError::Validation),
        ConsumeError::InsufficientCredits { .. } => {
            vec![ConsumeError::InsufficientCredits { kind: CreditKind::Export, available: 0 }]
        },
        ConsumeError::EventIdReused => vec![ConsumeError::EventIdReused],
        ConsumeError::EventIdInFlight => vec![ConsumeError::EventIdInFlight],
        ConsumeError::IdempotencyKey(_) => each(ConsumeError::IdempotencyKey),
        ConsumeError::Denied(_) => each(ConsumeError::Denied),
        ConsumeError::Internal(_) => each(ConsumeError::Internal),
    });
    samples!(UsageReportError {
        UsageReportError::Validation(_) => each(UsageReportError::Validation),
        UsageReportError::MemberNotFound => vec![UsageReportError::MemberNotFound],
        UsageReportError::Denied(_) => each(UsageReportError::Denied),
        UsageReportError::Internal(_) => each(UsageReportError::Internal),
    });
    samples!(SaveCustomerInfoError {
        SaveCustomerInfoError::Validation(_) => each(SaveCustomerInfoError::Validation),
        SaveCustomerInfoError::StaleVersion { .. } => {
            vec![SaveCustomerInfoError::StaleVersion { current: 5 }]
        },
        SaveCustomerInfoError::Denied(_) => each(SaveCustomerInfoError::Denied),
        SaveCustomerInfoError::Internal(_) => each(SaveCustomerInfoError::Internal),
    });
    samples!(ContactError {
        ContactError::Validation(_) => each(ContactError::Validation),
        ContactError::NotFound => vec![ContactError::NotFound],
        ContactError::AlreadyExists => vec![ContactError::AlreadyExists],
        ContactError::TooMany { .. } => vec![ContactError::TooMany { max: 10 }],
        ContactError::AlreadyVerified => vec![ContactError::AlreadyVerified],
        ContactError::NotVerified => vec![ContactError::NotVerified],
        ContactError::RolesUnheld { .. } => {
            vec![ContactError::RolesUnheld { roles: vec![ContactRole::Billing] }]
        },
        ContactError::Code(_) => each(ContactError::Code),
        ContactError::Resend(_) => each(ContactError::Resend),
        ContactError::Throttled(_) => each(ContactError::Throttled),
        ContactError::Denied(_) => each(ContactError::Denied),
        ContactError::Internal(_) => each(ContactError::Internal),
    });
    samples!(ImpersonationError {
        ImpersonationError::Validation(_) => each(ImpersonationError::Validation),
        ImpersonationError::MemberNotFound => vec![ImpersonationError::MemberNotFound],
        ImpersonationError::TargetIsAdmin => vec![ImpersonationError::TargetIsAdmin],
        ImpersonationError::TargetDisabled => vec![ImpersonationError::TargetDisabled],
        ImpersonationError::Nested => vec![ImpersonationError::Nested],
        ImpersonationError::NotImpersonating => vec![ImpersonationError::NotImpersonating],
        ImpersonationError::Denied(_) => each(ImpersonationError::Denied),
        ImpersonationError::Internal(_) => each(ImpersonationError::Internal),
    });
    samples!(OperatorError {
        OperatorError::Validation(_) => each(OperatorError::Validation),
        OperatorError::OrganisationNotFound => vec![OperatorError::OrganisationNotFound],
        OperatorError::MemberNotFound => vec![OperatorError::MemberNotFound],
        OperatorError::ApiKeyNotFound => vec![OperatorError::ApiKeyNotFound],
        OperatorError::ProductNotFound => vec![OperatorError::ProductNotFound],
        OperatorError::EmailTaken => vec![OperatorError::EmailTaken],
        OperatorError::UsernameTaken => vec![OperatorError::UsernameTaken],
        OperatorError::ProductNameTaken => vec![OperatorError::ProductNameTaken],
        OperatorError::SeatsBelowMembers(_) => {
            let plan = PlanName::parse("Basic").unwrap();
            vec![
                OperatorError::SeatsBelowMembers(SeatsBelowMembers::Enabled {
                    plan: plan.clone(),
                    enabled: 4,
                }),
                OperatorError::SeatsBelowMembers(SeatsBelowMembers::PlanInUse { plan, members: 2 }),
            ]
        },
        OperatorError::InsufficientHeadroom { .. } => {
            vec![OperatorError::InsufficientHeadroom { kind: CreditKind::Export, available: 0 }]
        },
        OperatorError::IdempotencyKey(_) => each(OperatorError::IdempotencyKey),
        OperatorError::Internal(_) => each(OperatorError::Internal),
    });

    /// The statuses of every sample of `E`'s problems are exactly `E::STATUSES`: none
    /// undeclared (which could reach a client as a status its operation does not declare) and
    /// none declared in vain.
    fn assert_exact<E: Samples + Problems>() {
        let mut produced = StatusSet::EMPTY;
        for e in E::samples() {
            let status = e.into().status;
            assert!(
                E::STATUSES.contains(status),
                "{} can be {status}, which its STATUSES lacks",
                std::any::type_name::<E>()
            );
            produced = produced.with(StatusSet::of(&[status]));
        }
        assert_eq!(
            produced,
            E::STATUSES,
            "{} declares a status none of its values has",
            std::any::type_name::<E>()
        );
    }

    macro_rules! exact {
        ($($t:ty),* $(,)?) => {
            #[test]
            fn every_error_type_can_have_exactly_its_statuses() {
                $(assert_exact::<$t>();)*
            }
        };
    }

    exact!(
        Denied,
        InternalError,
        Exhausted,
        ValidationErrors,
        CodeError,
        ResendError,
        KeyConflict,
        LoginError,
        AuthError,
        SessionError,
        AcceptInvitationError,
        RequestResetError,
        CompleteResetError,
        SendResetError,
        AccessError,
        SaveProfileError,
        SetPreferencesError,
        SetOfferingsError,
        ChangePasswordError,
        DeleteAccountError,
        EmailChangeError,
        ApiKeyError,
        AddMemberError,
        ChangeMemberError,
        EditMemberProfileError,
        AllocateError,
        ConsumeError,
        UsageReportError,
        SaveCustomerInfoError,
        ContactError,
        ImpersonationError,
        OperatorError,
    );

    #[test]
    fn problems_made_by_the_http_layer_have_their_status() {
        assert_eq!(Problem::from(problem!(NotFound, "gone")).status, 404);
        assert_eq!(Problem::from(invalid_field("a", "b")).status, 422);
        assert_eq!(Problem::from(crate::body::malformed_problem(vec![])).status, 400);
        let p =
            Problem::from(FieldAt::new(DeleteAccountError::ConfirmationFailed, "password", 422));
        assert_eq!(
            (p.status, p.errors.map(|e| e[0].field.clone())),
            (422, Some("password".to_owned()))
        );
        let p = Problem::from(FieldAt::new(DeleteAccountError::LastAdmin, "password", 422));
        assert_eq!((p.status, p.errors), (409, None));
        let e: Either<Status<428>, Malformed> = Either::A(problem!(PreconditionRequired, "x"));
        assert_eq!(Problem::from(e).status, 428);
        assert_eq!(
            <Either<Status<428>, Malformed> as Problems>::STATUSES,
            StatusSet::of(&[400, 428])
        );
    }
}
