//! Sets of HTTP statuses computed at compile time: what an operation declares and what an error
//! type can become, so that "every problem an operation can return is declared" is a constant
//! check (`StatusSet::covers`) rather than a run-time fallback. See `responses.rs`.

/// Every status a problem of ours can have, in bit order. A status outside this list cannot
/// be put in a set: in a constant that is a compile error.
const KNOWN: [u16; 15] =
    [400, 401, 403, 404, 405, 408, 409, 412, 413, 415, 422, 428, 429, 500, 503];

/// A set of HTTP statuses, one bit per entry of `KNOWN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct StatusSet(u32);

impl StatusSet {
    /// No status.
    #[cfg(test)]
    pub(crate) const EMPTY: Self = Self(0);

    /// The two statuses any operation may meet and always declares: an internal fault (500)
    /// and an unavailable dependency (503).
    pub(crate) const FAULTS: Self = Self::of(&[500, 503]);

    const fn bit(status: u16) -> Option<u32> {
        let mut i = 0;
        while i < KNOWN.len() {
            if KNOWN[i] == status {
                return Some(1 << i);
            }
            i += 1;
        }
        None
    }

    /// The set of `statuses`.
    ///
    /// # Panics
    /// When a status is not one of ours: in a constant, a compile error.
    #[must_use]
    #[allow(clippy::panic, reason = "evaluated in constants, where a panic is a compile error")]
    pub(crate) const fn of(statuses: &[u16]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < statuses.len() {
            match Self::bit(statuses[i]) {
                Some(b) => bits |= b,
                None => panic!("a status that is not in status.rs's KNOWN list"),
            }
            i += 1;
        }
        Self(bits)
    }

    /// Both sets.
    #[must_use]
    pub(crate) const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether `status` is in the set.
    #[cfg(test)]
    #[must_use]
    pub(crate) const fn contains(self, status: u16) -> bool {
        match Self::bit(status) {
            Some(b) => self.0 & b != 0,
            None => false,
        }
    }

    /// Whether every status of `other` is in this set.
    #[must_use]
    pub(crate) const fn covers(self, other: Self) -> bool {
        other.0 & !self.0 == 0
    }

    /// The first status of `other` that this set lacks.
    #[must_use]
    pub(crate) const fn first_missing(self, other: Self) -> Option<u16> {
        let missing = other.0 & !self.0;
        let mut i = 0;
        while i < KNOWN.len() {
            if missing & (1 << i) != 0 {
                return Some(KNOWN[i]);
            }
            i += 1;
        }
        None
    }

    /// The statuses, ascending.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn to_vec(self) -> Vec<u16> {
        KNOWN.iter().copied().filter(|s| self.contains(*s)).collect()
    }

    /// Compile-time check that `self` covers `produced`, naming the first missing status.
    ///
    /// # Panics
    /// When a status is missing; called in a `const` block, so that is a compile error.
    #[allow(clippy::panic, reason = "called in `const` blocks only: a compile error")]
    pub(crate) const fn assert_covers(self, produced: Self) {
        if self.covers(produced) {
            return;
        }
        match self.first_missing(produced) {
            None => {}
            Some(400) => panic!("an error here can be 400: declare it in `errors: [..]`"),
            Some(401) => panic!("an error here can be 401: declare it in `errors: [..]`"),
            Some(403) => panic!("an error here can be 403: declare it in `errors: [..]`"),
            Some(404) => panic!("an error here can be 404: declare it in `errors: [..]`"),
            Some(409) => panic!("an error here can be 409: declare it in `errors: [..]`"),
            Some(412) => panic!("an error here can be 412: declare it in `errors: [..]`"),
            Some(413) => panic!("an error here can be 413: declare it in `errors: [..]`"),
            Some(415) => panic!("an error here can be 415: declare it in `errors: [..]`"),
            Some(422) => panic!("an error here can be 422: declare it in `errors: [..]`"),
            Some(428) => panic!("an error here can be 428: declare it in `errors: [..]`"),
            Some(429) => panic!("an error here can be 429: declare it in `errors: [..]`"),
            Some(_) => panic!("an error here has a status its operation does not declare"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_union_and_cover() {
        let a = StatusSet::of(&[400, 422]);
        let b = StatusSet::of(&[422]).with(StatusSet::FAULTS);
        assert!(a.with(b).covers(a) && a.with(b).covers(b));
        assert!(!a.covers(b));
        assert_eq!(a.first_missing(b), Some(500));
        assert_eq!(a.with(b).to_vec(), [400, 422, 500, 503]);
        assert!(!a.contains(418) && a.contains(400));
        assert!(StatusSet::EMPTY.covers(StatusSet::EMPTY));
    }
}
