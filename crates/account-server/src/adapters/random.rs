//! `OsRandom`: the operating system's CSPRNG (getrandom), for ids, tokens and codes.

use account_core::ports::Random;

/// Fills buffers from the operating system's cryptographically secure generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        if let Err(error) = getrandom::fill(dest) {
            // Without a working CSPRNG no token or code would be safe: stop at once rather
            // than hand out predictable secrets.
            tracing::error!(%error, "the operating system's random generator failed; stopping");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_with_different_bytes_each_time() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        OsRandom.fill(&mut a);
        OsRandom.fill(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
