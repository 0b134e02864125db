//! Backups that hold: `stoa backup PATH`, `stoa restore PATH`, the checkpoint at clean shutdown,
//! and the lock that says a `SQLite` database is in use.
//!
//! On `SQLite` a backup is one self-contained database file at `PATH` (`VACUUM INTO` from the live
//! database, written beside it under a temporary name, checked, flushed, then renamed, so `PATH`
//! never holds half a backup) and, at `PATH.manifest.json`, the object folder's manifest: every key
//! with its size and SHA-256 (on S3 it says the bucket is backed up by its own means). On Postgres
//! the command prints the `pg_dump` line to run and writes the same manifest.
//!
//! A restore replaces the database only after the backup passed `PRAGMA integrity_check` and holds
//! Stoa's schema, and only while no process uses the database; the replaced files are kept beside
//! it (`stoa.db.pre-restore-<time>`), so a restore loses nothing. Holds no business rules.

mod lock;
mod manifest;
mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use stoa_domain::{AppCtx, JobPool};

use crate::Config;

pub use lock::{DatabaseLock, lock_path};

/// The file of a `sqlite://` database URL (`None` for Postgres).
#[must_use]
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or_default();
    (!file.is_empty()).then(|| PathBuf::from(file))
}

/// Where the object manifest of the backup at `path` goes: `PATH.manifest.json`.
#[must_use]
pub fn manifest_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

/// `stoa backup PATH`: a consistent copy of the live database and the objects' manifest. Returns
/// the lines to print.
///
/// # Errors
/// A one-line reason naming what is wrong: `PATH` or its manifest exists, its folder is missing, the
/// database is missing or being restored, or the copy fails its check.
pub async fn backup(config: &Config, target: &Path) -> anyhow::Result<Vec<String>> {
    let manifest = manifest_path(target);
    refuse_existing(target, "backup target")?;
    refuse_existing(&manifest, "manifest target")?;
    let dir = parent(target);
    anyhow::ensure!(dir.is_dir(), "backup folder {} does not exist; create it first", dir.display());
    let mut lines = Vec::new();
    match sqlite_path(&config.database_url) {
        Some(database) => {
            anyhow::ensure!(
                database.is_file(),
                "database {} not found (see DATABASE_URL and STOA_DATA_DIR); nothing to back up",
                database.display()
            );
            let _in_use = DatabaseLock::shared(config)?;
            lines.push(sqlite::backup(&database, target).await?);
        }
        None => lines.extend(postgres::dump_command(&config.database_url, target)),
    }
    lines.push(manifest::write(&config.storage_url, target, &manifest).await?);
    Ok(lines)
}

/// `stoa restore PATH`: replaces the `SQLite` database with the backup at `PATH` (on Postgres, prints
/// the `pg_restore` line to run). Returns the lines to print.
///
/// # Errors
/// A one-line reason naming what is wrong: `PATH` missing, not a `SQLite` database, damaged, or not
/// Stoa's; the database in use; or a file operation failing. Nothing is replaced on error.
pub async fn restore(config: &Config, source: &Path) -> anyhow::Result<Vec<String>> {
    let meta = std::fs::metadata(source).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!("backup {} not found", source.display()),
        _ => anyhow::Error::new(e).context(format!("reading backup {}", source.display())),
    })?;
    anyhow::ensure!(meta.is_file(), "backup {} is not a file", source.display());
    match sqlite_path(&config.database_url) {
        Some(database) => sqlite::restore(source, &database).await,
        None => Ok(postgres::restore_command(&config.database_url, source)),
    }
}

/// At clean shutdown: folds `SQLite`'s write-ahead log into the database file
/// (`PRAGMA wal_checkpoint(TRUNCATE)`) and closes the pool, so `stoa.db` alone holds every commit
/// and a file-level copy of a stopped server is complete. A no-op on Postgres. Failures are logged:
/// the log still holds the data, and the next start replays it.
pub async fn checkpoint(app: &AppCtx) {
    if let JobPool::Sqlite(pool) = app.job_pool() {
        sqlite::checkpoint(&pool).await;
    }
}

/// [`checkpoint`] for a bare connection (`stoa migrate`).
pub async fn checkpoint_connection(db: &sea_orm::DatabaseConnection) {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        sqlite::checkpoint(db.get_sqlite_connection_pool()).await;
    }
}

fn refuse_existing(path: &Path, what: &str) -> anyhow::Result<()> {
    // `symlink_metadata`: a dangling link is still something a backup would write through.
    if std::fs::symlink_metadata(path).is_ok() {
        anyhow::bail!("{what} {} already exists; pick a new path (a backup never overwrites)", path.display());
    }
    Ok(())
}

/// The folder `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Flushes a folder's entries (a rename is durable only once its folder is).
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("flushing {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_file_is_read_from_a_sqlite_url_only() {
        assert_eq!(sqlite_path("sqlite://data/stoa.db?mode=rwc"), Some(PathBuf::from("data/stoa.db")));
        assert_eq!(sqlite_path("sqlite:/abs/s.db"), Some(PathBuf::from("/abs/s.db")));
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[test]
    fn the_manifest_sits_beside_the_backup() {
        assert_eq!(manifest_path(Path::new("/b/stoa-1.db")), PathBuf::from("/b/stoa-1.db.manifest.json"));
    }
}
