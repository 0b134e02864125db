//! The object folder's manifest, `PATH.manifest.json`: what a copy of the objects must hold to match
//! the database backup. Local storage: every key with its size and SHA-256. S3: a note that the
//! bucket is backed up by its own means (versioning, replication), and no keys.
//!
//! Written after the database copy: an object is stored before the row that names it commits and
//! removed only after its row is gone, so every object the backup names is listed (a few later
//! uploads may be too).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use sha2::Digest as _;
use stoa_storage::StorageLocation;

use super::{parent, sync_dir};

/// The manifest's format tag; a reader checks it before trusting the rest.
const FORMAT: &str = "stoa-objects-manifest/1";

#[derive(Serialize)]
struct Manifest {
    format: &'static str,
    created_at: String,
    /// The database copy this manifest belongs with (its file name).
    database_backup: String,
    storage: String,
    /// `None` for S3: the bucket keeps its objects.
    objects: Option<Vec<Object>>,
    object_count: usize,
    total_bytes: u64,
    note: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Object {
    key: String,
    size: u64,
    sha256: String,
}

/// Writes the manifest of `storage_url` for the backup at `target` to `manifest`; returns the line
/// to print.
pub(super) async fn write(storage_url: &str, target: &Path, manifest: &Path) -> anyhow::Result<String> {
    let location = StorageLocation::parse(storage_url)?;
    let database_backup = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let created_at = chrono::Utc::now().to_rfc3339();
    let (value, line) = match location {
        StorageLocation::Local(root) => {
            let listed = root.clone();
            let objects =
                tokio::task::spawn_blocking(move || list(&listed)).await.context("listing objects stopped")??;
            let total_bytes = objects.iter().map(|o| o.size).sum();
            let line = format!(
                "objects: wrote {} ({} objects, {total_bytes} bytes in {}); copy that folder beside the backup",
                manifest.display(),
                objects.len(),
                root.display()
            );
            let value = Manifest {
                format: FORMAT,
                created_at,
                database_backup,
                storage: storage_url.to_owned(),
                object_count: objects.len(),
                total_bytes,
                objects: Some(objects),
                note: format!(
                    "copy {} (e.g. rsync -a) after this manifest was written; every key listed must be there with \
                     this size and SHA-256",
                    root.display()
                ),
            };
            (value, line)
        }
        StorageLocation::S3 { bucket } => {
            let note = format!(
                "objects live in the S3 bucket {bucket} and are backed up by the bucket's own means (versioning, \
                 replication); this manifest lists none"
            );
            let line = format!("objects: wrote {} ({note})", manifest.display());
            let value = Manifest {
                format: FORMAT,
                created_at,
                database_backup,
                storage: storage_url.to_owned(),
                objects: None,
                object_count: 0,
                total_bytes: 0,
                note,
            };
            (value, line)
        }
    };
    let json = serde_json::to_vec_pretty(&value).context("encoding the manifest")?;
    write_new(manifest, &json)?;
    Ok(line)
}

/// Every object under `root`, sorted by key (`a/b` style, relative to `root`). A missing folder is
/// an empty store (nothing uploaded yet).
fn list(root: &Path) -> anyhow::Result<Vec<Object>> {
    let mut objects = Vec::new();
    if !root.exists() {
        return Ok(objects);
    }
    let mut pending: Vec<PathBuf> = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let kind = entry.file_type().with_context(|| format!("reading {}", entry.path().display()))?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && !entry.file_name().to_string_lossy().contains('#') {
                // object_store writes `name#n` first and renames it: such a file is not an object yet.
                objects.push(describe(root, &path)?);
            }
        }
    }
    objects.sort();
    Ok(objects)
}

fn describe(root: &Path, path: &Path) -> anyhow::Result<Object> {
    let relative =
        path.strip_prefix(root).with_context(|| format!("{} is outside {}", path.display(), root.display()))?;
    let key = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut size = 0_u64;
    loop {
        let n = file.read(&mut buffer).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok(Object { key, size, sha256: hex::encode(hasher.finalize()) })
}

/// Writes `bytes` to the new file `path` (never replacing one), flushed.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "manifest target {} already exists; pick a new path (a backup never overwrites)",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("writing {}", path.display()))
        }
    })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", path.display()))?;
    sync_dir(parent(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_objects_are_listed_with_key_size_and_sha256_and_staging_files_are_not() {
        let root = std::env::temp_dir().join(format!("stoa-manifest-{}", uuid::Uuid::now_v7()));
        let nested = root.join("clean").join("ab");
        assert!(std::fs::create_dir_all(&nested).is_ok());
        assert!(std::fs::write(nested.join("obj"), b"abc").is_ok());
        assert!(std::fs::write(nested.join("obj#1"), b"partial").is_ok());
        let objects = list(&root).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            objects,
            [Object {
                key: "clean/ab/obj".into(),
                size: 3,
                sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            }]
        );
    }

    #[test]
    fn a_missing_object_folder_is_an_empty_store() {
        let root = std::env::temp_dir().join(format!("stoa-manifest-none-{}", uuid::Uuid::now_v7()));
        assert_eq!(list(&root).map(|o| o.len()).ok(), Some(0));
    }
}
