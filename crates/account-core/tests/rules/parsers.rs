//! No input panics a parser of `account-core/src/domain`: arbitrary strings, arbitrary bytes,
//! and near-valid shapes (a token with a multi-byte character where a hex digit belongs, an
//! address with accents, …) that reach the deep branches random text rarely does. A parser
//! answers `Ok`, `Some`, `Err` or `None`; a panic is a request the server cannot answer.

use account_core::domain::audit::{AuditAction, AuditTarget};
use account_core::domain::contact::ContactRole;
use account_core::domain::credits::{CreditAmount, CreditKind, EntryType};
use account_core::domain::email::EmailAddress;
use account_core::domain::linkedin::LinkedInUrl;
use account_core::domain::mail::{MailKind, MailMessage};
use account_core::domain::member::{MemberStatus, Role};
use account_core::domain::password::{Password, PasswordAttempt};
use account_core::domain::phone::PhoneNumber;
use account_core::domain::preferences::ExportFormat;
use account_core::domain::products::{OfferingInput, ProductName, normalise_offerings};
use account_core::domain::secret::{SecretDigest, Token, TokenKind, VerificationCode};
use account_core::domain::text::{
    ClientName, CompanyName, DataType, EventId, FullName, JobTitle, KeyLabel, OrganisationName,
    PersonName, PlanName, PostalAddress, Provider, PurchaseOrderNumber, Reason, RegistrationNumber,
};
use account_core::domain::timezone::Timezone;
use account_core::domain::username::Username;
use account_core::domain::verification::PendingCode;
use account_memory::{SeededRandom, TestKeyring};
use chrono::{DateTime, Duration};
use proptest::prelude::*;

/// Text of every kind: any Unicode, lossily decoded bytes, and shapes close to valid input.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => bent_token(),
        1 => any::<String>(),
        1 => proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => "(acs_|ack_|aci_)[0-9a-fé€𝄞]{0,100}",
        1 => "[a-zé.+_-]{0,70}@[a-z0-9é-]{0,20}(\\.[a-z0-9é-]{0,10}){0,3}",
        1 => "\\+?[0-9 ().é-]{0,24}",
        1 => "(https?://)?([a-zé]{0,5}\\.)?linkedin\\.com/(in|company|pub|school)?/[^/]{0,20}/?",
        1 => "(organisation|member|credit_pool|api_key)?:[0-9a-fé-]{0,40}",
        1 => "[0-9 é-]{0,10}",
        1 => "[ \\t\u{200b}\u{202e}\u{2028}a-zé]{0,40}",
    ]
}

/// A well-formed token of the right byte length with a multi-byte character written over
/// some of its hex digits, mostly around where the id ends: the shape that split a character
/// in `Token::parse`.
fn bent_token() -> impl Strategy<Value = String> {
    let kinds = prop_oneof![Just("acs_"), Just("ack_"), Just("aci_")];
    let wide = prop_oneof![Just('é'), Just('€'), Just('𝄞')];
    let at = prop_oneof![3 => 28usize..36, 1 => any::<usize>()];
    (kinds, "[0-9a-f]{96}", at, wide).prop_map(|(prefix, hex, at, c)| {
        let mut bytes = hex.into_bytes();
        let len = c.len_utf8();
        let at = at % (bytes.len() - len + 1);
        let mut buf = [0u8; 4];
        bytes.splice(at..at + len, c.encode_utf8(&mut buf).bytes());
        format!("{prefix}{}", String::from_utf8(bytes).unwrap_or_default())
    })
}

/// Every `&str` parser of the domain, with whatever it offers on the value it built.
fn parse_everything(s: &str) {
    let _ = (AuditAction::parse(s), AuditTarget::parse(s), ContactRole::parse(s));
    let _ = (CreditKind::parse(s), EntryType::parse(s), MailKind::parse(s));
    let _ = (Role::parse(s), MemberStatus::parse(s), ExportFormat::parse(s));
    if let Ok(email) = EmailAddress::parse(s) {
        let _ = (email.key(), email.local_part(), format!("{email:?} {email}"));
    }
    let _ = LinkedInUrl::parse(s).map(|u| u.to_string());
    let _ = PhoneNumber::parse(s).map(|p| format!("{p:?} {p}"));
    if let Ok(password) = Password::parse(s) {
        let _ = password.check_not_containing(&[s, "ab", &s.to_uppercase()]);
    }
    let _ = PasswordAttempt::new(s);
    let _ = ProductName::parse(s).map(|p| p.key());
    let _ = normalise_offerings(&[OfferingInput::Text(s.to_owned())], &[], &[]);
    for kind in [TokenKind::Session, TokenKind::ApiKey, TokenKind::Invitation] {
        if let Some(token) = Token::parse(kind, s) {
            let _ = (token.display_prefix(), token.reveal(), format!("{token:?}"));
        }
    }
    let _ = VerificationCode::parse(s);
    let _ = (PersonName::parse(s), FullName::parse(s), CompanyName::parse(s));
    let _ = (JobTitle::parse(s), OrganisationName::parse(s), PlanName::parse(s));
    let _ = (
        PostalAddress::parse(&[s]),
        PostalAddress::parse_text(s),
        PurchaseOrderNumber::parse(s),
        Reason::parse(s),
    );
    let _ = (KeyLabel::parse(s), DataType::parse(s), Provider::parse(s), EventId::parse(s));
    let _ = (ClientName::parse(s), ClientName::lossy(s), RegistrationNumber::parse(s));
    let _ = (PersonName::from_stored(s), ProductName::from_stored(s));
    let _ = Timezone::parse(s);
    let _ = Username::parse(s);
}

proptest! {
    #[test]
    fn no_string_panics_a_domain_parser(s in text()) {
        parse_everything(&s);
    }

    #[test]
    fn no_string_panics_username_derivation(s in text(), suffix in any::<u32>()) {
        let derived = Username::derive_from(&s, suffix);
        // What it derives is always a valid username.
        prop_assert_eq!(Username::parse(derived.as_str()), Ok(derived.clone()));
    }

    #[test]
    fn no_bytes_panic_the_byte_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = MailMessage::decode(&bytes);
        let _ = SecretDigest::from_slice(&bytes);
    }

    #[test]
    fn no_typed_code_panics_a_code_check(typed in text(), wrong in 0u8..8, amount in any::<i64>()) {
        let keyring = TestKeyring::new(b"parsers");
        let now = DateTime::UNIX_EPOCH;
        let (mut pending, _) = PendingCode::issue(now, "flow", &SeededRandom::new(1), &keyring);
        pending.wrong_tries = wrong;
        let _ = pending.check(now + Duration::minutes(1), "flow", &typed, &keyring);
        let _ = CreditAmount::new(amount);
    }
}

#[test]
fn the_invitation_token_of_the_report_is_refused_without_a_panic() {
    // `aci_`, 31 hex digits, then a two-byte character over bytes 35 and 36, where the id
    // ends: what crashed the handler.
    let token = format!("aci_{}é{}", "0".repeat(31), "f".repeat(63));
    assert_eq!(token.len(), 100);
    assert!(Token::parse(TokenKind::Invitation, &token).is_none());
    parse_everything(&token);
}
