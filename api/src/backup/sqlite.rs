//! The `SQLite` side of backups: `VACUUM INTO` from the live database, the checks a backup must pass
//! before it replaces anything, the swap itself, and the checkpoint at shutdown.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteLockingMode, SqlitePool};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _, Row as _};
use sea_orm_migration::MigratorTrait as _;

use super::{DatabaseLock, parent, sync_dir};

/// Tables every Stoa database has had since its first migration.
const CORE_TABLES: [&str; 4] = ["users", "workspaces", "channels", "messages"];

/// SQLite's result codes for "the file is not a database" and "the database is damaged".
const SQLITE_NOTADB: &str = "26";
const SQLITE_CORRUPT: &str = "11";

/// Writes a checked copy of `database` to `target`; returns the line to print.
pub(super) async fn backup(database: &Path, target: &Path) -> anyhow::Result<String> {
    let partial = beside(target, "partial");
    let written = write_backup(database, &partial, target).await;
    remove_with_journals(&partial);
    let migrations = written?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or_default();
    Ok(format!(
        "database: wrote {} ({bytes} bytes, {migrations} migrations, integrity_check ok) from {}",
        target.display(),
        database.display()
    ))
}

async fn write_backup(database: &Path, partial: &Path, target: &Path) -> anyhow::Result<usize> {
    let into = partial.to_str().with_context(|| format!("backup path {} is not UTF-8", partial.display()))?;
    let mut live = SqliteConnectOptions::new()
        .filename(database)
        .create_if_missing(false)
        .connect()
        .await
        .with_context(|| format!("opening database {}", database.display()))?;
    // One read transaction: the copy is the database as of one commit, while writers go on.
    sqlx::query("VACUUM INTO ?")
        .bind(into)
        .execute(&mut live)
        .await
        .with_context(|| format!("copying database {} (VACUUM INTO)", database.display()))?;
    let _ = live.close().await;
    // Standalone (journal_mode=DELETE, no -wal beside it) and checked like a restore would.
    let migrations = verify(partial, &target.display().to_string()).await?;
    // VACUUM INTO does not fsync its output.
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("flushing {}", partial.display()))?;
    // A hard link never replaces a file that appeared at `target` meanwhile; rename would.
    match std::fs::hard_link(partial, target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            anyhow::bail!(
                "backup target {} already exists; pick a new path (a backup never overwrites)",
                target.display()
            )
        }
        Err(_) => std::fs::rename(partial, target).with_context(|| format!("writing {}", target.display()))?,
    }
    sync_dir(parent(target))?;
    Ok(migrations)
}

/// Replaces `database` with the backup at `source` once the backup has passed every check and no
/// process uses the database; the replaced files stay beside it. Returns the lines to print.
pub(super) async fn restore(source: &Path, database: &Path) -> anyhow::Result<Vec<String>> {
    let dir = parent(database);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _alone = DatabaseLock::exclusive(database)?;
    refuse_if_open(database).await?;
    // Checked as the copy that will be installed, in the database's folder so the swap is a rename.
    let staged = beside(database, "restore");
    let checked = stage(source, &staged).await;
    let migrations = match checked {
        Ok(migrations) => migrations,
        Err(e) => {
            remove_with_journals(&staged);
            return Err(e);
        }
    };
    let aside = match set_aside(database) {
        Ok(aside) => aside,
        Err(e) => {
            remove_with_journals(&staged);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&staged, database) {
        remove_with_journals(&staged);
        if let Some(aside) = &aside {
            let _ = std::fs::rename(aside, database);
        }
        return Err(e).with_context(|| format!("installing the backup as {}", database.display()));
    }
    sync_dir(dir)?;
    let mut lines =
        vec![format!("restored {} into {} ({migrations} migrations)", source.display(), database.display())];
    lines.push(match aside {
        Some(aside) => format!("the replaced database is kept at {}", aside.display()),
        None => "there was no database to replace".to_owned(),
    });
    Ok(lines)
}

async fn stage(source: &Path, staged: &Path) -> anyhow::Result<usize> {
    std::fs::copy(source, staged).with_context(|| format!("copying backup {}", source.display()))?;
    let migrations = verify(staged, &source.display().to_string()).await?;
    std::fs::File::open(staged).and_then(|f| f.sync_all()).with_context(|| format!("flushing {}", staged.display()))?;
    Ok(migrations)
}

/// Fails unless the database at `path` (called `label` in messages) is a healthy Stoa database this
/// binary can run: `PRAGMA integrity_check` is `ok`, it has Stoa's tables and migrations, and none
/// of them is newer than this binary. Leaves it as one file (`journal_mode=DELETE`). Returns the
/// number of migrations applied in it.
pub(super) async fn verify(path: &Path, label: &str) -> anyhow::Result<usize> {
    let mut db = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .map_err(|e| unreadable(label, &e))?;
    let checked = check(&mut db, label).await;
    let _ = db.close().await;
    checked
}

/// The first column of every row `sql` returns, as text.
async fn first_column(db: &mut SqliteConnection, sql: &'static str, label: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query(sql)
        .fetch_all(&mut *db)
        .await
        .map_err(|e| unreadable(label, &e))?
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap_or_default())
        .collect())
}

async fn check(db: &mut SqliteConnection, label: &str) -> anyhow::Result<usize> {
    let report = first_column(db, "PRAGMA integrity_check", label).await?;
    if report != ["ok"] {
        let first = report.first().map_or("no answer", String::as_str);
        anyhow::bail!("backup {label} fails PRAGMA integrity_check ({} problems; first: {first})", report.len());
    }
    let tables = first_column(db, "SELECT name FROM sqlite_master WHERE type = 'table'", label).await?;
    for table in std::iter::once("seaql_migrations").chain(CORE_TABLES) {
        anyhow::ensure!(
            tables.iter().any(|t| t == table),
            "backup {label} is not a Stoa database (it has no {table} table)"
        );
    }
    let applied: Vec<String> = sqlx::query("SELECT version FROM seaql_migrations ORDER BY version")
        .fetch_all(&mut *db)
        .await
        .map_err(|e| unreadable(label, &e))?
        .iter()
        .filter_map(|row| row.try_get::<String, _>(0).ok())
        .collect();
    let known: Vec<String> = stoa_migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    if let Some(newer) = applied.iter().find(|v| !known.contains(v)) {
        anyhow::bail!(
            "backup {label} was written by a newer Stoa (unknown migration {newer}); restore it with that version"
        );
    }
    anyhow::ensure!(!applied.is_empty(), "backup {label} is not a Stoa database (no migration was ever applied)");
    Ok(applied.len())
}

/// A database error while reading a backup, as one line naming the backup.
fn unreadable(label: &str, e: &sqlx::Error) -> anyhow::Error {
    let (code, message) = match e {
        sqlx::Error::Database(db) => (db.code().map(std::borrow::Cow::into_owned), db.message().to_owned()),
        other => (None, other.to_string()),
    };
    match code.as_deref() {
        Some(SQLITE_NOTADB) => anyhow::anyhow!("backup {label} is not a SQLite database ({message})"),
        Some(SQLITE_CORRUPT) => anyhow::anyhow!("backup {label} is a damaged SQLite database ({message})"),
        _ => anyhow::anyhow!("backup {label} cannot be read as a SQLite database ({message})"),
    }
}

/// The second "in use" check, for programs that do not take the lock file (an older `stoa`, the
/// `sqlite3` shell): in WAL mode every open connection holds a shared lock on the database file,
/// so an exclusive transaction that cannot start at once means someone has it open.
pub(super) async fn refuse_if_open(database: &Path) -> anyhow::Result<()> {
    if !database.exists() {
        return Ok(());
    }
    let options = SqliteConnectOptions::new()
        .filename(database)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO);
    // A database that does not even open is not in use by SQLite: it is set aside as it is.
    let Ok(mut db) = options.connect().await else { return Ok(()) };
    let began = sqlx::query("BEGIN EXCLUSIVE").execute(&mut db).await;
    let busy = match &began {
        Ok(_) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut db).await;
            false
        }
        Err(sqlx::Error::Database(e)) => matches!(e.code().as_deref(), Some("5" | "6")),
        Err(_) => false,
    };
    let _ = db.close().await;
    anyhow::ensure!(
        !busy,
        "database {} is open in another program (SQLite reports it locked); stop it, then restore",
        database.display()
    );
    Ok(())
}

/// Moves `database` and its `-wal`, `-shm` and `-journal` files to `<database>.pre-restore-<time>`,
/// together, so the set opens again as it was (a log with commits not yet in the file included).
fn set_aside(database: &Path) -> anyhow::Result<Option<PathBuf>> {
    let present: Vec<&str> =
        ["", "-wal", "-shm", "-journal"].into_iter().filter(|s| with_suffix(database, s).exists()).collect();
    if present.is_empty() {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut aside = with_suffix(database, &format!(".pre-restore-{stamp}"));
    for n in 2.. {
        if !aside.exists() {
            break;
        }
        aside = with_suffix(database, &format!(".pre-restore-{stamp}-{n}"));
    }
    for suffix in present {
        let (from, to) = (with_suffix(database, suffix), with_suffix(&aside, suffix));
        std::fs::rename(&from, &to).with_context(|| format!("moving {} aside to {}", from.display(), to.display()))?;
    }
    Ok(Some(aside))
}

/// Folds the write-ahead log into the database file and closes the pool (see [`super::checkpoint`]).
pub(super) async fn checkpoint(pool: &SqlitePool) {
    match sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await {
        Ok(row) if row.try_get::<i64, _>(0).is_ok_and(|busy| busy == 0) => {
            tracing::info!("SQLite checkpointed: the database file holds every commit");
        }
        Ok(_) => tracing::warn!("SQLite checkpoint incomplete: another process has the database open"),
        Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed; the next start replays the log"),
    }
    // Closing the last connection also removes the emptied log. Bounded: shutdown must end.
    if tokio::time::timeout(Duration::from_secs(5), pool.close()).await.is_err() {
        tracing::warn!("SQLite pool did not close within 5 s");
    }
}

/// A fresh temporary name in `path`'s folder: `.<name>.<what>-<uuid>`.
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent(path).join(format!(".{name}.{what}-{}", uuid::Uuid::now_v7().simple()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a temporary database and any journal SQLite left beside it (missing files are fine).
fn remove_with_journals(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
}
