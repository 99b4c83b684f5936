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
    };
}

pub(crate) use responses;
