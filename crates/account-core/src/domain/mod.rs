//! Domain types: validated values and the records the rules are about.

pub mod audit;
pub mod contact;
pub mod credits;
pub mod digest;
pub mod email;
pub mod email_change;
pub mod idempotency;
pub mod limits;
pub mod linkedin;
pub mod mail;
pub mod member;
pub mod organisation;
pub mod password;
pub mod phone;
pub mod preferences;
pub mod products;
pub mod secret;
pub mod session;
pub mod text;
pub mod timezone;
pub mod username;
pub mod verification;
