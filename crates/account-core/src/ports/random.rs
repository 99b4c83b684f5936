//! The `Random` port: the only source of randomness (ids, tokens, codes) for the domain.

/// Fills buffers with random bytes. Production must use a CSPRNG (the operating system's);
/// tests may use a seeded generator to make runs reproducible.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Random: Send + Sync + 'static {
    /// Fills `dest` entirely.
    fn fill(&self, dest: &mut [u8]);
}
