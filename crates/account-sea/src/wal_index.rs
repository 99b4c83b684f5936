//! The change stamp of a SQLite database in WAL mode, read from its WAL index (the `-shm`
//! file next to it) without a connection.
//!
//! Every connection to a WAL database, in any process, shares the WAL index: a memory-mapped
//! file whose header says which frames of the WAL hold committed pages. A commit appends its
//! frames, then rewrites that header (both copies of it, the second copy first), and readers
//! take their snapshot from it: a commit is visible to SQLite's own readers exactly when the
//! header shows it. The header's change counter (`iChange`, one more per committed
//! transaction), last frame (`mxFrame`) and WAL salts (new each time the WAL restarts) are
//! therefore a stamp that changes with every commit. The layout is documented in
//! <https://sqlite.org/walformat.html> ("The WAL-Index Header"); SQLite is bundled at a version
//! pinned by `Cargo.lock`, and the sea contract case `change_stamp_follows_commits` checks the
//! stamp against commits from another pool. An unknown header version, a header being written
//! (copies differ) or a missing file gives no stamp, so nothing is kept.
//!
//! Reading it costs an `open`, a 96-byte `read` from the page cache and a `close` (a few
//! microseconds), and no hand-off to a connection's thread. The file is opened for each reading
//! because SQLite deletes it and makes a new one when the last connection closes.

use std::io::Read;
use std::path::PathBuf;

use account_core::ports::ChangeStamp;

/// `iVersion` of the WAL-index header SQLite 3.7.0 and later write.
const VERSION: u32 = 3_007_000;
/// One copy of the header; the file starts with two.
const HEADER: usize = 48;

/// Where a SQLite database's WAL index is.
#[derive(Debug, Clone)]
pub(crate) struct WalIndex {
    path: PathBuf,
}

impl WalIndex {
    /// The WAL index of the database file at `database` (as SQLite's `pragma_database_list`
    /// names it); `None` for an in-memory or temporary database (an empty name).
    pub(crate) fn of(database: &str) -> Option<Self> {
        (!database.is_empty()).then(|| Self { path: PathBuf::from(format!("{database}-shm")) })
    }

    /// The current stamp, or `None` when it cannot be read as a complete, known header.
    pub(crate) fn stamp(&self) -> Option<ChangeStamp> {
        let mut bytes = [0u8; 2 * HEADER];
        std::fs::File::open(&self.path).ok()?.read_exact(&mut bytes).ok()?;
        stamp_of(&bytes)
    }
}

/// The stamp in a WAL index's first 96 bytes (two copies of the header, in the host's byte
/// order): `iChange`, `mxFrame` and the two salts, when both copies agree, the header is
/// initialised and its version is known.
fn stamp_of(bytes: &[u8; 2 * HEADER]) -> Option<ChangeStamp> {
    let (first, second) = bytes.split_at(HEADER);
    let initialised = first[12] == 1;
    if first != second || !initialised || first[..4] != VERSION.to_ne_bytes() {
        return None;
    }
    let mut stamp = [0u8; 16];
    stamp[..4].copy_from_slice(&first[8..12]); // iChange
    stamp[4..8].copy_from_slice(&first[16..20]); // mxFrame
    stamp[8..].copy_from_slice(&first[32..40]); // aSalt[0], aSalt[1]
    Some(ChangeStamp::new(u128::from_ne_bytes(stamp)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(change: u32, frame: u32, salt: [u32; 2]) -> [u8; HEADER] {
        let mut h = [0u8; HEADER];
        h[..4].copy_from_slice(&VERSION.to_ne_bytes());
        h[8..12].copy_from_slice(&change.to_ne_bytes());
        h[12] = 1;
        h[16..20].copy_from_slice(&frame.to_ne_bytes());
        h[32..36].copy_from_slice(&salt[0].to_ne_bytes());
        h[36..40].copy_from_slice(&salt[1].to_ne_bytes());
        h
    }

    fn both(first: [u8; HEADER], second: [u8; HEADER]) -> [u8; 2 * HEADER] {
        let mut bytes = [0u8; 2 * HEADER];
        bytes[..HEADER].copy_from_slice(&first);
        bytes[HEADER..].copy_from_slice(&second);
        bytes
    }

    #[test]
    fn each_counted_field_changes_the_stamp() {
        let base = header(7, 40, [1, 2]);
        let stamp = stamp_of(&both(base, base)).unwrap();
        for other in [
            header(8, 40, [1, 2]),
            header(7, 41, [1, 2]),
            header(7, 40, [2, 2]),
            header(7, 40, [1, 3]),
        ] {
            assert_ne!(stamp_of(&both(other, other)), Some(stamp));
        }
        assert_eq!(stamp_of(&both(base, base)), Some(stamp));
    }

    #[test]
    fn a_header_being_written_or_unknown_gives_no_stamp() {
        let (old, new) = (header(7, 40, [1, 2]), header(8, 41, [1, 2]));
        assert_eq!(stamp_of(&both(old, new)), None, "SQLite writes the second copy first");
        let mut uninitialised = old;
        uninitialised[12] = 0;
        assert_eq!(stamp_of(&both(uninitialised, uninitialised)), None);
        let mut future = old;
        future[..4].copy_from_slice(&3_050_000u32.to_ne_bytes());
        assert_eq!(stamp_of(&both(future, future)), None);
    }

    #[test]
    fn memory_databases_have_no_index() {
        assert!(WalIndex::of("").is_none());
        assert!(WalIndex::of("/tmp/x.db").is_some_and(|w| w.path.ends_with("x.db-shm")));
    }
}
