//! Files and directories only the server's user may read: the database, the key file and the
//! mailbox hold personal data, codes and tokens, so they are created 0600 and the directories
//! we create 0700, whatever the umask. Existing files and directories keep their modes.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700 (on Unix).
///
/// # Errors
/// When a directory cannot be created.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file with mode 0600 (on Unix).
#[must_use]
pub fn open_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates `path` empty with mode 0600 unless it exists (SQLite's `-wal` and `-shm` files take
/// the database file's mode, so creating the database file first covers them).
///
/// # Errors
/// When the file cannot be created.
pub fn create_file_if_missing(path: &Path) -> io::Result<()> {
    match open_options().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_are_0700_and_files_0600_and_existing_files_are_left_alone() {
        let root = std::env::temp_dir().join(format!("private-fs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let nested = root.join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!((mode(&root), mode(&root.join("a")), mode(&nested)), (0o700, 0o700, 0o700));
        let file = nested.join("accounts.db");
        create_file_if_missing(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::write(&file, b"data").unwrap();
        create_file_if_missing(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"data", "an existing file is not truncated");
        std::fs::remove_dir_all(root).unwrap();
    }
}
