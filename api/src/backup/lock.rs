//! "This SQLite database is in use": an advisory lock on `<database>.lock`, next to the file.
//!
//! Every `stoa` command that opens the database (serve, worker, migrate, seed, backup) holds a
//! shared lock on it for its lifetime; `stoa restore` takes it exclusively for the whole swap. The
//! lock is `flock(2)` on Unix (`LockFileEx` on Windows), held by the open file: the kernel drops it
//! when the process ends, however it ends (SIGKILL, OOM, power cut), so a crash never leaves a
//! stale lock behind, and there is no PID to reuse or clean up. The file itself stays and is empty.
//!
//! A program that does not take the lock (an older `stoa`, the `sqlite3` shell) is caught by the
//! second check in [`super::sqlite::refuse_if_open`].

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::Config;

/// The lock file of a `SQLite` database: `stoa.db` → `stoa.db.lock`.
#[must_use]
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Held for as long as this process uses the database; dropping it releases the lock.
#[derive(Debug)]
#[must_use = "the database counts as in use only while this value lives"]
pub struct DatabaseLock {
    _file: Option<File>,
}

impl DatabaseLock {
    /// Marks the configured `SQLite` database as in use by this process (shared with other `stoa`
    /// processes, refused while `stoa restore` runs). A no-op on Postgres.
    ///
    /// # Errors
    /// When a restore holds the lock, or the lock file cannot be created.
    pub fn shared(config: &Config) -> anyhow::Result<Self> {
        let Some(database) = super::sqlite_path(&config.database_url) else {
            return Ok(Self { _file: None });
        };
        let path = lock_path(&database);
        let file = open(&path)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "database {} is being restored (`stoa restore` holds {}); start again when it has finished",
                database.display(),
                path.display()
            ),
            Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }

    /// Takes the database for this process alone, for `stoa restore`.
    ///
    /// # Errors
    /// When any other `stoa` process holds the lock (the database is in use), or the lock file
    /// cannot be created.
    pub fn exclusive(database: &Path) -> anyhow::Result<Self> {
        let path = lock_path(database);
        let file = open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "database {} is in use by a running stoa (serve, worker or backup holds {}); stop it, then restore",
                database.display(),
                path.display()
            ),
            Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }
}

/// Opens (creating it and its folder if needed) the lock file.
fn open(path: &Path) -> anyhow::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening the lock file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_next_to_the_database() {
        assert_eq!(lock_path(Path::new("data/stoa.db")), PathBuf::from("data/stoa.db.lock"));
    }

    #[test]
    fn an_exclusive_lock_is_refused_while_another_holder_has_it() {
        let dir = std::env::temp_dir().join(format!("stoa-lock-{}", uuid::Uuid::now_v7()));
        let database = dir.join("stoa.db");
        let first = DatabaseLock::exclusive(&database);
        assert!(first.is_ok(), "{first:?}");
        let second = DatabaseLock::exclusive(&database);
        let message = second.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("is in use by a running stoa"), "{message}");
        drop(first);
        assert!(DatabaseLock::exclusive(&database).is_ok(), "released on drop");
        let _ = std::fs::remove_dir_all(dir);
    }
}
