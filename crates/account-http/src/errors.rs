//! Every domain error, mapped to its problem. Each `match` is exhaustive with no catch-all, so
//! a new variant in `account-core` fails to compile here until it is given a status and type.

use account_core::domain::idempotency::KeyConflict;
use account_core::domain::limits::Exhausted;
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
use account_core::services::team::{AddMemberError, ChangeMemberError, EditMemberProfileError};
use account_core::{Denied, InternalError, ValidationErrors};

use crate::etag::etag;
use crate::problem::{FieldProblem, Problem, ProblemType};

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
pub(crate) fn invalid_field(field: &str, message: &str) -> Box<Problem> {
    Box::new(validation(&ValidationErrors::single(field, message)))
}

/// `?` in handlers: a domain error becomes a boxed problem (boxed because problems are large
/// and live only on the error path).
macro_rules! boxed {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Box<Problem> {
            fn from(e: $t) -> Self {
                Box::new(Problem::from(e))
            }
        })*
    };
}

boxed!(
    Denied,
    InternalError,
    LoginError,
    AuthError,
    SessionError,
    AcceptInvitationError,
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
    RequestResetError,
    CompleteResetError,
    SendResetError,
);

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
            ChangeMemberError::NoFreeLicence { .. } => {
                Self::new(ProblemType::NoFreeLicence, detail)
            }
            ChangeMemberError::NotInvited => Self::new(ProblemType::NotInvited, detail),
            ChangeMemberError::Denied(d) => d.into(),
            ChangeMemberError::Throttled(e) => throttled(e),
            ChangeMemberError::Internal(i) => internal(&i),
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
            OperatorError::LicencesBelowEnabled { .. } => {
                Self::new(ProblemType::LicencesBelowEnabled, detail)
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
    use account_core::domain::credits::CreditKind;

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
}
