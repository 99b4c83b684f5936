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
//! pinned by `Cargo.lock`, and the sea check `kept_sessions_follow_commits_of_any_pool` checks
//! the stamp against commits from another pool. An unknown header version, a header being written
//! (copies differ) or a missing file gives no stamp, so nothing is kept.
//!
//! Reading it costs a 96-byte `pread` from the page cache and an `fstat` of the open file (a
//! microsecond or two), and no hand-off to a connection's thread; the path is looked up again
//! (`stat`) only when the file read last has been deleted.
//!
//! **The file stays open.** SQLite coordinates processes with POSIX advisory locks on this
//! file (a shared lock that every process with a connection holds, among others), and POSIX
//! drops *all* of a process's locks on a file when the process closes *any* descriptor of
//! it. Opening and closing the file for each reading, as this module first did, dropped the
//! server's locks; a second process (the `accounts` CLI, the `sqlite3` shell, a backup) then
//! took itself for the only user, rebuilt the WAL index, and the server died of `SIGBUS` on
//! the truncated mapping (<https://sqlite.org/howtocorrupt.html>, 2.2). So each WAL index is
//! opened once per process and kept in [`HELD`] while it is the file at its path; SQLite
//! deletes it and makes a new one when the last connection closes, so each reading checks
//! that the file it read still has a name, looks the path up again when it has not, and a
//! file no longer at its path (which nothing can open again, so its locks coordinate nobody)
//! is let go when a new one is taken. (SQLite never renames a WAL index; a file moved aside
//! by hand while the server runs is followed as SQLite's open connections follow it.) The sea
//! check `reading_the_stamp_keeps_sqlites_locks` reads `/proc/locks` before and after.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The committed state of a database as its WAL index shows it: two equal stamps mean that
/// no transaction committed between the two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ChangeStamp(u128);

#[cfg(test)]
impl ChangeStamp {
    /// A stamp for unit tests.
    pub(crate) fn test(value: u128) -> Self {
        Self(value)
    }
}

/// `iVersion` of the WAL-index header SQLite 3.7.0 and later write.
const VERSION: u32 = 3_007_000;
/// One copy of the header; the file starts with two.
const HEADER: usize = 48;

/// Every WAL index this process holds open (see the module docs): never closed while it is
/// the file at its path.
static HELD: Mutex<Vec<Arc<Held>>> = Mutex::new(Vec::new());

/// An open WAL index and which file it is.
#[derive(Debug)]
struct Held {
    path: PathBuf,
    id: FileId,
    file: File,
}

/// A file's device and inode: which file a path names at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        Some(Self { dev: meta.dev(), ino: meta.ino() })
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Option<Self> {
        None
    }

    /// The file at `path` now.
    fn at(path: &Path) -> Option<Self> {
        Self::of(&std::fs::metadata(path).ok()?)
    }
}

/// Where a SQLite database's WAL index is, and the open file last read (shared by clones).
#[derive(Debug, Clone)]
pub(crate) struct WalIndex {
    path: PathBuf,
    last: Arc<Mutex<Option<Arc<Held>>>>,
}

impl WalIndex {
    /// The WAL index of the database file at `database` (as SQLite's `pragma_database_list`
    /// names it); `None` for an in-memory or temporary database (an empty name), and on
    /// systems without POSIX file identities.
    pub(crate) fn of(database: &str) -> Option<Self> {
        (cfg!(unix) && !database.is_empty())
            .then(|| Self { path: PathBuf::from(format!("{database}-shm")), last: Arc::default() })
    }

    /// The current stamp, or `None` when it cannot be read as a complete, known header.
    pub(crate) fn stamp(&self) -> Option<ChangeStamp> {
        let mut bytes = [0u8; 2 * HEADER];
        // The file last read, while it still has a name: read first, then asked whether it is
        // linked (`fstat`), so that what was read came from a file SQLite had not deleted yet.
        // SQLite only ever deletes a WAL index (when the last connection closes) and makes a
        // new one, so a linked file is the one at the path; this saves looking the path up
        // (`stat`), most of the cost of a reading.
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(held) = last
            && read_at(&held.file, &mut bytes).is_some()
            && linked(&held.file)
        {
            return stamp_of(&bytes);
        }
        let id = FileId::at(&self.path)?;
        let held = {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            match last.as_ref().filter(|h| h.id == id) {
                Some(held) => Arc::clone(held),
                None => {
                    let held = hold(&self.path, id)?;
                    *last = Some(Arc::clone(&held));
                    held
                }
            }
        };
        read_at(&held.file, &mut bytes)?;
        stamp_of(&bytes)
    }
}

/// Whether `file` still has a name (a link count above zero, by `fstat`).
#[cfg(unix)]
fn linked(file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata().is_ok_and(|m| m.nlink() > 0)
}

#[cfg(not(unix))]
fn linked(_: &File) -> bool {
    false
}

#[cfg(unix)]
fn read_at(file: &File, bytes: &mut [u8]) -> Option<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(bytes, 0).ok()
}

#[cfg(not(unix))]
fn read_at(_: &File, _: &mut [u8]) -> Option<()> {
    None
}

/// The held file `id` at `path`, opened (and kept) if no one holds it yet. Lets go of held
/// files no longer at their path first.
fn hold(path: &Path, id: FileId) -> Option<Arc<Held>> {
    let mut all = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    all.retain(|h| FileId::at(&h.path) == Some(h.id));
    if let Some(held) = all.iter().find(|h| h.id == id && h.path == path) {
        return Some(Arc::clone(held));
    }
    let file = File::open(path).ok()?;
    // What was opened is kept even when it is not `id` (the path changed between the two
    // looks): closing it could drop SQLite's locks on the file now at the path.
    let opened = file.metadata().ok().and_then(|m| FileId::of(&m));
    let held = Arc::new(Held { path: path.to_owned(), id: opened.unwrap_or(id), file });
    all.push(Arc::clone(&held));
    Some(held)
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
    Some(ChangeStamp(u128::from_ne_bytes(stamp)))
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

    /// A WAL index rewritten in place gives its new stamp; one deleted and made again (as
    /// SQLite does when the last connection closes and a new one opens) is followed to the
    /// new file, not read from the deleted one.
    #[cfg(unix)]
    #[test]
    fn follows_a_rewritten_and_a_new_index() {
        let dir = std::env::temp_dir().join(format!("wal-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("x.db");
        let shm = dir.join("x.db-shm");
        let write = |h: [u8; HEADER]| std::fs::write(&shm, both(h, h)).unwrap();
        let stamp = |h: [u8; HEADER]| stamp_of(&both(h, h)).unwrap();
        let (a, b, c) = (header(1, 4, [1, 2]), header(2, 8, [1, 2]), header(1, 0, [5, 6]));
        let index = WalIndex::of(db.to_str().unwrap()).unwrap();
        write(a);
        assert_eq!(index.stamp(), Some(stamp(a)));
        // In place: the same file, read again.
        let file = std::fs::OpenOptions::new().write(true).open(&shm).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &both(b, b), 0).unwrap();
        assert_eq!(index.stamp(), Some(stamp(b)));
        // Deleted and made again: the held file still reads `b`, the path's reads `c`.
        std::fs::remove_file(&shm).unwrap();
        write(c);
        assert_eq!(index.stamp(), Some(stamp(c)));
        std::fs::remove_file(&shm).unwrap();
        assert_eq!(index.stamp(), None, "no file, no stamp");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn memory_databases_have_no_index() {
        assert!(WalIndex::of("").is_none());
        assert!(WalIndex::of("/tmp/x.db").is_some_and(|w| w.path.ends_with("x.db-shm")));
    }
}
