//! Object storage for Stoa over the `object_store` crate: a local folder (embedded default) or S3
//! (any SigV4 endpoint: AWS, MinIO, SeaweedFS). Downloads and large uploads go through signed,
//! expiring URLs: S3 presigned URLs, or HMAC-signed `/files/…` URLs that `api` serves for the
//! local folder. Knows bytes and keys, never users, rows or permissions.

mod local_signer;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer as _;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

pub use local_signer::{LocalSigner, SignedMethod};

/// Where objects live, parsed from `STORAGE_URL` plus the S3 settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// `file:///abs/path` or `file://./relative`: a local folder, created if missing.
    Local(std::path::PathBuf),
    /// `s3://bucket`: credentials and endpoint come from [`S3Settings`].
    S3 { bucket: String },
}

/// Credentials and endpoint for S3-compatible storage.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// e.g. `http://127.0.0.1:8333` for MinIO or SeaweedFS; `None` for AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl StorageLocation {
    /// Parses a storage URL.
    ///
    /// # Errors
    /// On an unsupported scheme or an empty path or bucket.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            anyhow::ensure!(!path.is_empty(), "file:// URL needs a path, e.g. file://./data/objects");
            return Ok(Self::Local(path.into()));
        }
        if let Some(bucket) = url.strip_prefix("s3://") {
            let bucket = bucket.trim_end_matches('/');
            anyhow::ensure!(
                !bucket.is_empty() && !bucket.contains('/'),
                "s3:// URL needs a bucket, e.g. s3://stoa-files"
            );
            return Ok(Self::S3 { bucket: bucket.to_owned() });
        }
        anyhow::bail!("unsupported scheme in {url:?}: expected file:// or s3://")
    }
}

#[derive(Debug, Clone)]
enum UrlSigner {
    Local(LocalSigner),
    S3(Arc<AmazonS3>),
}

/// A handle to the object store, cheap to clone.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    signer: UrlSigner,
}

impl Storage {
    /// Opens (and for a local folder, creates) the store. `public_url` is where `api` serves
    /// `/files/…` for local signed URLs; `signing_key` signs them.
    ///
    /// # Errors
    /// When the folder cannot be created or the S3 settings are incomplete.
    pub fn open(
        location: &StorageLocation,
        s3: &S3Settings,
        public_url: &str,
        signing_key: &[u8],
    ) -> anyhow::Result<Self> {
        match location {
            StorageLocation::Local(path) => {
                std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
                let store =
                    LocalFileSystem::new_with_prefix(path).with_context(|| format!("opening {}", path.display()))?;
                Ok(Self { store: Arc::new(store), signer: UrlSigner::Local(LocalSigner::new(public_url, signing_key)) })
            }
            StorageLocation::S3 { bucket } => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(&s3.secret_access_key);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                let s3 = Arc::new(builder.build().context("configuring S3 storage")?);
                Ok(Self { store: Arc::clone(&s3) as Arc<dyn ObjectStore>, signer: UrlSigner::S3(s3) })
            }
        }
    }

    /// Writes an object.
    ///
    /// # Errors
    /// On storage failure.
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        self.store
            .put(&Path::from(key), PutPayload::from_bytes(bytes))
            .await
            .with_context(|| format!("writing {key}"))?;
        Ok(())
    }

    /// Writes an object that will be handed out for download: on S3 it is stored as
    /// `application/octet-stream` with `Content-Disposition: attachment`, whatever an uploader
    /// claimed, so a browser never renders it on the bucket's origin. (The local folder needs no
    /// attributes: Stoa's own `/files` handler sets those headers.)
    ///
    /// # Errors
    /// On storage failure.
    pub async fn put_for_download(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let mut opts = object_store::PutOptions::default();
        if matches!(self.signer, UrlSigner::S3(_)) {
            opts.attributes.insert(object_store::Attribute::ContentType, "application/octet-stream".into());
            opts.attributes.insert(object_store::Attribute::ContentDisposition, "attachment".into());
        }
        self.store
            .put_opts(&Path::from(key), PutPayload::from_bytes(bytes), opts)
            .await
            .with_context(|| format!("writing {key}"))?;
        Ok(())
    }

    /// Reads the first `len` bytes of an object (never more, whatever it holds by then), or `None`
    /// when it does not exist or is shorter.
    ///
    /// # Errors
    /// On storage failure other than "not found".
    pub async fn get_prefix(&self, key: &str, len: u64) -> anyhow::Result<Option<Bytes>> {
        if len == 0 {
            return Ok(self.size(key).await?.map(|_| Bytes::new()));
        }
        let ranges = [std::ops::Range { start: 0, end: len }];
        match self.store.get_ranges(&Path::from(key), &ranges).await {
            Ok(mut parts) if parts.len() == 1 => {
                let bytes = parts.remove(0);
                Ok((bytes.len() as u64 == len).then_some(bytes))
            }
            // Missing, or shorter than asked (the object changed since it was measured).
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) if e.to_string().contains("range") || e.to_string().contains("Range") => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading {key}"))),
        }
    }

    /// Reads an object, or `None` when it does not exist.
    ///
    /// # Errors
    /// On storage failure other than "not found".
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self.store.get(&Path::from(key)).await {
            Ok(result) => Ok(Some(result.bytes().await.with_context(|| format!("reading {key}"))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading {key}"))),
        }
    }

    /// The size of an object, or `None` when it does not exist.
    ///
    /// # Errors
    /// On storage failure other than "not found".
    pub async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        match self.store.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("inspecting {key}"))),
        }
    }

    /// Deletes an object; deleting a missing one is fine.
    ///
    /// # Errors
    /// On storage failure.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("deleting {key}"))),
        }
    }

    /// Copies an object (quarantine → clean).
    ///
    /// # Errors
    /// On storage failure.
    pub async fn copy(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.store.copy(&Path::from(from), &Path::from(to)).await.with_context(|| format!("copying {from} to {to}"))?;
        Ok(())
    }

    /// A URL that lets its holder `method` the object until it expires.
    ///
    /// # Errors
    /// When signing fails.
    pub async fn signed_url(&self, method: SignedMethod, key: &str, expires_in: Duration) -> anyhow::Result<String> {
        match method {
            SignedMethod::Get => self.signed_download_url(key, expires_in).await,
            SignedMethod::Put => match &self.signer {
                UrlSigner::Local(signer) => Ok(signer.sign(SignedMethod::Put, key, expires_in)),
                UrlSigner::S3(s3) => {
                    let url = s3.signed_url(http::Method::PUT, &Path::from(key), expires_in).await;
                    Ok(url.context("presigning")?.to_string())
                }
            },
        }
    }

    /// A URL to download `key` until it expires. On S3 the response is forced to
    /// `application/octet-stream` with `Content-Disposition: attachment` (signed query parameters),
    /// so a browser saves the file instead of rendering it on the bucket's origin; Stoa's local
    /// `/files` handler always answers so.
    ///
    /// # Errors
    /// When signing fails.
    pub async fn signed_download_url(&self, key: &str, expires_in: Duration) -> anyhow::Result<String> {
        match &self.signer {
            UrlSigner::Local(signer) => Ok(signer.sign(SignedMethod::Get, key, expires_in)),
            UrlSigner::S3(s3) => {
                let options = object_store::signer::SignedUrlOptions::default().with_query([
                    ("response-content-disposition", "attachment"),
                    ("response-content-type", "application/octet-stream"),
                ]);
                let url = s3.signed_url_opts(http::Method::GET, &Path::from(key), expires_in, &options).await;
                Ok(url.context("presigning")?.to_string())
            }
        }
    }

    /// A URL to upload `length` bytes of `content_type` to `key` until it expires. On S3 the
    /// `Content-Type` is bound to the signature. `Content-Length` cannot be (object_store reserves it
    /// for the signer), so the size is enforced where the bytes are taken: `completeUpload` measures
    /// the object (HEAD) and never reads past the declared size. Stoa's local `/files` handler bounds
    /// the body itself and never serves the uploader's type.
    ///
    /// # Errors
    /// When signing fails, or `content_type` is not a valid header value.
    pub async fn signed_upload_url(
        &self,
        key: &str,
        expires_in: Duration,
        content_type: &str,
        length: u64,
    ) -> anyhow::Result<String> {
        match &self.signer {
            UrlSigner::Local(signer) => Ok(signer.sign(SignedMethod::Put, key, expires_in)),
            UrlSigner::S3(s3) => {
                let _ = length; // see above: enforced by completeUpload
                let options = object_store::signer::SignedUrlOptions::default()
                    .with_signed_header(http::header::CONTENT_TYPE, http::HeaderValue::from_str(content_type)?);
                let url = s3.signed_url_opts(http::Method::PUT, &Path::from(key), expires_in, &options).await;
                Ok(url.context("presigning")?.to_string())
            }
        }
    }

    /// The local signer, when objects live in a local folder (`api` serves its URLs).
    #[must_use]
    pub fn local_signer(&self) -> Option<&LocalSigner> {
        match &self.signer {
            UrlSigner::Local(s) => Some(s),
            UrlSigner::S3(_) => None,
        }
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
        assert_eq!(StorageLocation::parse("s3://files/").ok(), Some(StorageLocation::S3 { bucket: "files".into() }));
        assert!(StorageLocation::parse("file://").is_err());
        assert!(StorageLocation::parse("s3://").is_err());
        assert!(StorageLocation::parse("ftp://x").is_err());
    }

    #[tokio::test]
    async fn a_local_store_round_trips_copies_and_deletes() {
        let dir = std::env::temp_dir().join(format!("stoa-storage-{}", std::process::id()));
        let Ok(storage) = Storage::open(&StorageLocation::Local(dir.clone()), &S3Settings::default(), "http://x", b"k")
        else {
            panic!("opens")
        };
        assert!(storage.put("q/a", Bytes::from_static(b"hello")).await.is_ok());
        assert_eq!(storage.size("q/a").await.ok().flatten(), Some(5));
        assert!(storage.copy("q/a", "c/a").await.is_ok());
        assert_eq!(storage.get("c/a").await.ok().flatten().as_deref(), Some(&b"hello"[..]));
        assert!(storage.delete("q/a").await.is_ok());
        assert_eq!(storage.get("q/a").await.ok().flatten(), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
