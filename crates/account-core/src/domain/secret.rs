//! Secrets the system hands out (session tokens, API keys, invitation and password-reset
//! tokens, verification codes) and the keyed digests stored in their place. Nothing here prints a secret.

use std::fmt;

use uuid::Uuid;

use crate::ports::Random;

/// A keyed digest (HMAC-SHA-256 with the server key in production) of a secret: what stores
/// keep instead of the secret itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Wraps digest bytes from a keyring or a store.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest bytes, for storage.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads back stored bytes; `None` if the length is wrong.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`.
#[must_use]
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// The value of one lower-case hex digit.
const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Exactly `2 * N` lower-case hex digits as `N` bytes. Works on bytes, never on `str`
/// positions, so any input (multi-byte characters included) gives `None`, not a panic.
fn decode_hex<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let &[high, low] = pair else { return None };
        *byte = (hex_digit(high)? << 4) | hex_digit(low)?;
    }
    Some(out)
}

/// The kind of a bearer token, shown as its prefix so that a leaked token is recognisable
/// (secret scanners key on such prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A login or impersonation session: `acs_…`.
    Session,
    /// An API key: `ack_…`.
    ApiKey,
    /// An invitation to set a password: `aci_…`.
    Invitation,
    /// A password reset (rule 22), mailed as a link and typed as a code: `acr_…`.
    PasswordReset,
}

impl TokenKind {
    const fn prefix(self) -> &'static str {
        match self {
            Self::Session => "acs_",
            Self::ApiKey => "ack_",
            Self::Invitation => "aci_",
            Self::PasswordReset => "acr_",
        }
    }

    /// The keyring context its secrets are digested in.
    #[must_use]
    pub const fn context(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::ApiKey => "api-key",
            Self::Invitation => "invitation",
            Self::PasswordReset => "password-reset",
        }
    }
}

/// A bearer token: `<prefix><32 hex id><64 hex secret>`. The id finds the stored record; the
/// 256-bit secret is compared, through its keyed digest, in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    kind: TokenKind,
    id: Uuid,
    secret: [u8; 32],
}

impl Token {
    /// A fresh token for the record `id`, with a secret from `random` (a CSPRNG in production).
    #[must_use]
    pub fn generate(kind: TokenKind, id: Uuid, random: &dyn Random) -> Self {
        let mut secret = [0u8; 32];
        random.fill(&mut secret);
        Self { kind, id, secret }
    }

    /// Parses a token of the expected kind; `None` for anything else.
    #[must_use]
    pub fn parse(kind: TokenKind, input: &str) -> Option<Self> {
        // Bytes, not `str` positions: a multi-byte character where a hex digit belongs must
        // read as "not a token", never split a character (which panics).
        let rest = input.trim().as_bytes().strip_prefix(kind.prefix().as_bytes())?;
        if rest.len() != 96 {
            return None;
        }
        let (id, secret) = rest.split_at(32);
        let id = Uuid::from_bytes(decode_hex::<16>(id)?);
        let secret = decode_hex::<32>(secret)?;
        Some(Self { kind, id, secret })
    }

    /// The id of the record the token belongs to.
    #[must_use]
    pub const fn id(&self) -> Uuid {
        self.id
    }

    /// The secret bytes, for the keyring only.
    #[must_use]
    pub const fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The kind.
    #[must_use]
    pub const fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The full token, to hand to its owner once.
    #[must_use]
    pub fn reveal(&self) -> String {
        format!("{}{}{}", self.kind.prefix(), to_hex(self.id.as_bytes()), to_hex(&self.secret))
    }

    /// The start of the token that identifies it in lists: the kind, the record's id and the
    /// secret's first two bytes (`ack_0193a1b2…e4f5` + 4 hex digits). The id names the record,
    /// which a rotation keeps; the secret's digits tell the new secret from the old, so that
    /// an owner can see which one a client still holds. 240 bits of the secret stay unknown.
    #[must_use]
    pub fn display_prefix(&self) -> String {
        format!("{}{}{}", self.kind.prefix(), to_hex(self.id.as_bytes()), to_hex(&self.secret[..2]))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?}, {}, REDACTED)", self.kind, self.id)
    }
}

/// A verification code: 6 decimal digits, uniformly drawn.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Number of digits.
    pub const DIGITS: usize = 6;

    /// Draws a code from `random` (a CSPRNG in production), by rejection sampling so that
    /// every code is equally likely.
    #[must_use]
    pub fn generate(random: &dyn Random) -> Self {
        const SPACE: u32 = 1_000_000;
        const LIMIT: u32 = u32::MAX - (u32::MAX % SPACE);
        loop {
            let mut buf = [0u8; 4];
            random.fill(&mut buf);
            let n = u32::from_le_bytes(buf);
            if n < LIMIT {
                return Self(format!("{:06}", n % SPACE));
            }
        }
    }

    /// Reads a code typed by a user: 6 digits, spaces and hyphens ignored.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        (digits.len() == Self::DIGITS && digits.chars().all(|c| c.is_ascii_digit()))
            .then_some(Self(digits))
    }

    /// The code, to put in a mail or to digest.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Counter(Mutex<u8>);
    impl Random for Counter {
        fn fill(&self, dest: &mut [u8]) {
            let mut n = self.0.lock().unwrap();
            for b in dest {
                *b = *n;
                *n = n.wrapping_add(37);
            }
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_other_kinds() {
        let rng = Counter(Mutex::new(1));
        let t = Token::generate(TokenKind::Session, Uuid::from_u128(42), &rng);
        let text = t.reveal();
        assert!(text.starts_with("acs_") && text.len() == 4 + 96);
        assert_eq!(Token::parse(TokenKind::Session, &text), Some(t.clone()));
        assert_eq!(Token::parse(TokenKind::ApiKey, &text), None);
        assert_eq!(Token::parse(TokenKind::Session, &text[..90]), None);
        assert!(!format!("{t:?}").contains(&text[40..]));
        assert_eq!(t.display_prefix(), &text[..40]);
    }

    #[test]
    fn tokens_with_multi_byte_characters_are_refused_not_split() {
        let rng = Counter(Mutex::new(3));
        let text = Token::generate(TokenKind::Invitation, Uuid::from_u128(7), &rng).reveal();
        // A two-byte character straddling every boundary the parser looks at (the end of the
        // prefix, the id and the secret), keeping the byte length a token has.
        for at in [3, 4, 35, 36, 37, 98] {
            let mut bytes = text.as_bytes().to_vec();
            bytes.splice(at..at + 2, "é".bytes());
            let bent = String::from_utf8(bytes).unwrap();
            assert_eq!(bent.len(), text.len());
            assert_eq!(Token::parse(TokenKind::Invitation, &bent), None, "at {at}");
        }
        // Upper-case hex is not ours either.
        let upper = format!("aci_{}", text[4..].to_uppercase());
        assert_ne!(upper, text);
        assert_eq!(Token::parse(TokenKind::Invitation, &upper), None);
    }

    #[test]
    fn codes_are_six_digits_and_parse_leniently() {
        let rng = Counter(Mutex::new(9));
        let code = VerificationCode::generate(&rng);
        assert_eq!(code.expose().len(), 6);
        assert_eq!(VerificationCode::parse("123 456").unwrap().expose(), "123456");
        assert!(VerificationCode::parse("12345").is_none());
        assert!(VerificationCode::parse("12a456").is_none());
        assert_eq!(format!("{code:?}"), "VerificationCode(REDACTED)");
    }
}
