//! Object storage for Stoa over the `object_store` crate. Knows bytes and paths, never users, rows or
//! permissions. The embedded default is a local folder; S3 joins behind the same type (files issue).

use std::sync::Arc;

use anyhow::Context as _;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

/// Where objects live, parsed from `STORAGE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// `file:///abs/path` or `file://./relative`: a local folder, created if missing.
    Local(std::path::PathBuf),
}

impl StorageLocation {
    /// Parses a storage URL.
    ///
    /// # Errors
    /// On an unsupported scheme or an empty path.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            anyhow::ensure!(!path.is_empty(), "file:// URL needs a path, e.g. file://./data/objects");
            return Ok(Self::Local(path.into()));
        }
        if url.starts_with("s3://") {
            anyhow::bail!("s3:// storage is not available in this build yet; use file://");
        }
        anyhow::bail!("unsupported scheme in {url:?}: expected file://")
    }
}

/// A handle to the object store, cheap to clone.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    location: StorageLocation,
}

impl Storage {
    /// Opens (and for a local folder, creates) the store.
    ///
    /// # Errors
    /// When the folder cannot be created or opened.
    pub fn open(location: StorageLocation) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match &location {
            StorageLocation::Local(path) => {
                std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
                Arc::new(LocalFileSystem::new_with_prefix(path).with_context(|| format!("opening {}", path.display()))?)
            }
        };
        Ok(Self { store, location })
    }

    /// The underlying store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where it lives.
    #[must_use]
    pub fn location(&self) -> &StorageLocation {
        &self.location
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls_parse_or_explain() {
        assert_eq!(
            StorageLocation::parse("file://./data/objects").ok(),
            Some(StorageLocation::Local("./data/objects".into()))
        );
        assert!(StorageLocation::parse("file://").is_err());
        assert!(StorageLocation::parse("ftp://x").is_err());
    }
}
