//! Production adapters for the non-storage ports: the system clock, the operating system's
//! CSPRNG, argon2id password hashing, and the keyring (HMAC-SHA-256 digests and
//! XChaCha20-Poly1305 sealing under the server key).

mod clock;
mod keyring;
mod passwords;
mod random;

pub use clock::SystemClock;
pub use keyring::{ServerKey, ServerKeyring};
pub use passwords::{Argon2Hasher, DEFAULT_QUEUE as DEFAULT_HASH_QUEUE};
pub use random::OsRandom;
