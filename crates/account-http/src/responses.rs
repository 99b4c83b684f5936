//! The `responses!` macro: one typed response enum per operation, with its success variants
//! and one problem variant per error status it can return, so that the OpenAPI document lists
//! every status, and payload / parameter / credential errors go through our problem+json
//! `bad_request_handler` instead of poem's plain-text defaults.
//!
//! ```text
//! responses! {
//!     /// Responses of `getMember`.
//!     pub enum GetMemberResponse {
//!         /// The member.
//!         #[oai(status = 200)]
//!         Ok(Json<MemberDto>),
//!     }
//!     errors: [400, 401, 403, 404]
//! }
//! ```
//!
//! 500 and 503 are always added: any use case may meet an internal fault.
//!
//! # Status coverage
//!
//! No problem reaches a client with a status its operation does not declare, and this is
//! checked before run time:
//!
//! - **Handlers, by types.** The macro gives each response type `DECLARED` (its `errors` plus
//!   500 and 503) and a `from_result` taking `Result<Self, Failure<Self>>`. The only way
//!   into a [`Failure`] is `From<E>` for an error type `E: Problems` (`errors.rs`), whose
//!   `STATUSES` are every status its problem can have; that `From` holds
//!   `const { R::DECLARED.assert_covers(E::STATUSES) }`, so a `?` or `.map_err(Into::into)` of
//!   an error with an undeclared status does not compile: the error names
//!   `Failure<R> as From<E>` and the missing status. The check runs when the conversion is
//!   instantiated, so `cargo build` and `cargo test` report it and `cargo check` and clippy do
//!   not (they stop before instantiation). Each
//!   `STATUSES` is proven exact by a test in `errors.rs` that builds every variant (a new
//!   variant fails to compile until the test lists it).
//! - **Extractors, by the document.** Credential, parameter and body errors are raised before
//!   the handler runs and reach `bad_request`. Their statuses are constants
//!   ([`crate::auth::CREDENTIAL_STATUSES`], [`crate::body::BODY_STATUSES`],
//!   [`crate::body::PARAMETER_STATUSES`]; the checkers and the body parser convert only errors
//!   those cover, again by a const assertion), and a test walks every operation of the
//!   generated document and checks that one with security, parameters or a body declares them.
//! - **Document and types agree.** For each response type, a test named after it checks that
//!   its OpenAPI responses list exactly `DECLARED` as error statuses.
//!
//! `from_problem` keeps a run-time fallback (an undeclared status becomes a logged 500) as a
//! last line; the above make it unreachable.

use std::marker::PhantomData;

use crate::errors::Problems;
use crate::problem::{Problem, ProblemResponse};

/// The error side of an operation with response type `R`: a problem whose status `R`
/// declares.
#[derive(Debug)]
pub(crate) struct Failure<R>(Box<Problem>, PhantomData<fn() -> R>);

impl<R> Failure<R> {
    /// The problem.
    pub(crate) fn into_problem(self) -> Problem {
        *self.0
    }
}

impl<E: Problems, R: ProblemResponse> From<E> for Failure<R> {
    /// A compile error names `Failure<R> as From<E>` when `E` can have a status `R` does not
    /// declare: add it to `R`'s `errors`.
    fn from(error: E) -> Self {
        const { R::DECLARED.assert_covers(E::STATUSES) };
        Self(Box::new(error.into()), PhantomData)
    }
}

/// Checks that `T`'s OpenAPI responses list exactly `T::DECLARED` as error statuses.
#[cfg(test)]
pub(crate) fn assert_document_agrees<T>()
where
    T: poem_openapi::ApiResponse + ProblemResponse,
{
    let listed: Vec<u16> =
        T::meta().responses.iter().filter_map(|r| r.status).filter(|s| *s >= 400).collect();
    let mut listed = listed;
    listed.sort_unstable();
    assert_eq!(listed, T::DECLARED.to_vec(), "{}", std::any::type_name::<T>());
}

/// Declares an operation's response enum; see the module documentation.
macro_rules! responses {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($body:tt)*
        }
        errors: [$($errs:tt)*]
    ) => {
        $crate::responses::responses!(@munch [$(#[$meta])*] $name [$($body)*] [] [] [$($errs)*]);
    };

    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [400 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// Malformed request: the body is not valid JSON or has a wrong type, or a
            /// parameter or header cannot be parsed (`malformed-request`).
            #[oai(status = 400)]
            BadRequest($crate::problem::ProblemJson),
        ] [$($a)* 400 => BadRequest,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [401 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// Missing, invalid, revoked or expired credentials (`unauthenticated`,
            /// `session-expired`, `invalid-credentials`).
            #[oai(status = 401)]
            Unauthorized($crate::problem::ProblemJson),
        ] [$($a)* 401 => Unauthorized,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [403 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// The caller may not do this (`admin-only`, `not-while-impersonating`,
            /// `session-required`, `account-disabled`).
            #[oai(status = 403)]
            Forbidden($crate::problem::ProblemJson),
        ] [$($a)* 403 => Forbidden,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [404 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// The resource does not exist, or is not visible to the caller (`not-found`).
            #[oai(status = 404)]
            NotFound($crate::problem::ProblemJson),
        ] [$($a)* 404 => NotFound,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [409 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// The request collides with the current state; `type` says how.
            #[oai(status = 409)]
            Conflict($crate::problem::ProblemJson),
        ] [$($a)* 409 => Conflict,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [412 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// If-Match does not name the current version (`stale-version`).
            #[oai(status = 412)]
            PreconditionFailed($crate::problem::ProblemJson),
        ] [$($a)* 412 => PreconditionFailed,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [413 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// The body is too large (`payload-too-large`).
            #[oai(status = 413)]
            PayloadTooLarge($crate::problem::ProblemJson),
        ] [$($a)* 413 => PayloadTooLarge,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [415 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// The body is not sent as application/json (`unsupported-media-type`).
            #[oai(status = 415)]
            UnsupportedMediaType($crate::problem::ProblemJson),
        ] [$($a)* 415 => UnsupportedMediaType,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [422 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// Refused: invalid fields (`validation-failed`, listed in `errors`) or a rule;
            /// `type` says which.
            #[oai(status = 422)]
            UnprocessableEntity($crate::problem::ProblemJson),
        ] [$($a)* 422 => UnprocessableEntity,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [428 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// If-Match is missing (`precondition-required`).
            #[oai(status = 428)]
            PreconditionRequired($crate::problem::ProblemJson),
        ] [$($a)* 428 => PreconditionRequired,] [$($($rest)*)?]);
    };
    (@munch $meta:tt $name:ident $body:tt [$($v:tt)*] [$($a:tt)*] [429 $(, $($rest:tt)*)?]) => {
        $crate::responses::responses!(@munch $meta $name $body [$($v)*
            /// Throttled; retry after `Retry-After` seconds (`too-many-requests`,
            /// `code-resend-too-soon`).
            #[oai(status = 429, header(name = "Retry-After", ty = "u64", description = "Seconds to wait before retrying."))]
            TooManyRequests($crate::problem::ProblemJson),
        ] [$($a)* 429 => TooManyRequests,] [$($($rest)*)?]);
    };

    (@munch [$($meta:tt)*] $name:ident [$($body:tt)*] [$($v:tt)*] [$($code:literal => $variant:ident,)*] []) => {
        $($meta)*
        #[derive(poem_openapi::ApiResponse)]
        #[oai(bad_request_handler = "crate::problem::bad_request::<Self>")]
        pub(crate) enum $name {
            $($body)*
            $($v)*
            /// Our fault; nothing about the cause is shown (`internal-error`).
            #[oai(status = 500)]
            InternalServerError($crate::problem::ProblemJson),
            /// A dependency is unavailable; retry later (`unavailable`).
            #[oai(status = 503, header(name = "Retry-After", ty = "u64", description = "Seconds to wait before retrying."))]
            ServiceUnavailable($crate::problem::ProblemJson),
        }

        impl $crate::problem::ProblemResponse for $name {
            const DECLARED: $crate::status::StatusSet =
                $crate::status::StatusSet::of(&[$($code,)*]).with($crate::status::StatusSet::FAULTS);

            fn from_problem(problem: $crate::problem::Problem) -> Self {
                match problem.status {
                    $($code => Self::$variant($crate::problem::ProblemJson(problem)),)*
                    503 => Self::ServiceUnavailable($crate::problem::ProblemJson(problem)),
                    500 => Self::InternalServerError($crate::problem::ProblemJson(problem)),
                    other => {
                        tracing::error!(
                            status = other,
                            response = stringify!($name),
                            "a problem's status is not declared by its operation"
                        );
                        Self::InternalServerError($crate::problem::ProblemJson(
                            $crate::problem::Problem::internal(),
                        ))
                    }
                }
            }
        }

        impl $name {
            /// `Ok` as is, `Err` as the variant of its status; the error is one whose statuses
            /// this operation declares (see `Failure`).
            #[allow(dead_code, reason = "operations that cannot fail answer without it")]
            pub(crate) fn from_result(
                result: Result<Self, $crate::responses::Failure<Self>>,
            ) -> Self {
                result.unwrap_or_else(|f| {
                    <Self as $crate::problem::ProblemResponse>::from_problem(f.into_problem())
                })
            }
        }

        /// The document lists exactly the declared statuses of this response type.
        #[cfg(test)]
        #[test]
        #[allow(non_snake_case)]
        fn $name() {
            $crate::responses::assert_document_agrees::<$name>();
        }
    };
}

pub(crate) use responses;

#[cfg(test)]
mod tests {
    use crate::status::StatusSet;

    /// The statuses an operation's extractors can refuse a request with, from what the document
    /// says it takes: credentials, parameters, a body. 500 and 503 are always possible.
    fn extractor_statuses(operation: &serde_json::Value) -> StatusSet {
        let mut needed = StatusSet::FAULTS;
        if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
            needed = needed.with(crate::auth::CREDENTIAL_STATUSES);
        }
        if operation["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
            needed = needed.with(crate::body::PARAMETER_STATUSES);
        }
        if operation.get("requestBody").is_some() {
            needed = needed.with(crate::body::BODY_STATUSES);
        }
        needed
    }

    #[test]
    fn every_operation_declares_what_its_extractors_can_refuse_with() {
        let paths = crate::server::document()["paths"].as_object().unwrap();
        let mut operations = 0;
        let mut missing = Vec::new();
        for (path, methods) in paths {
            for (method, operation) in methods.as_object().unwrap() {
                operations += 1;
                let declared: Vec<u16> = operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter_map(|s| s.parse().ok())
                    .collect();
                for status in extractor_statuses(operation).to_vec() {
                    if !declared.contains(&status) {
                        missing.push(format!("{method} {path}: {status}"));
                    }
                }
            }
        }
        assert!(operations > 60, "the document lists {operations} operations");
        assert!(missing.is_empty(), "undeclared statuses:\n{}", missing.join("\n"));
    }

    #[test]
    fn extractor_statuses_are_what_the_refusals_make() {
        assert_eq!(crate::auth::CREDENTIAL_STATUSES.to_vec(), [401, 500, 503]);
        assert_eq!(crate::body::BODY_STATUSES.to_vec(), [400, 413, 415]);
        assert_eq!(crate::body::PARAMETER_STATUSES.to_vec(), [400]);
    }
}
