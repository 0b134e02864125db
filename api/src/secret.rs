//! The JWT signing secret: from `STOA_JWT_SECRET`, or generated once and kept in the data folder.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};

/// The configured secret, or the one in `<data_dir>/jwt.secret` (created with mode 0600 on first start).
///
/// # Errors
/// When the file cannot be read or written, or holds fewer than 32 bytes.
pub fn load_or_create(configured: Option<&SecretString>, data_dir: &Path) -> anyhow::Result<SecretSlice<u8>> {
    if let Some(secret) = configured {
        return Ok(secret.expose_secret().as_bytes().to_vec().into());
    }
    let path = data_dir.join("jwt.secret");
    match std::fs::read_to_string(&path) {
        Ok(existing) => {
            let existing = existing.trim();
            anyhow::ensure!(existing.len() >= 32, "{} holds fewer than 32 characters", path.display());
            return Ok(existing.as_bytes().to_vec().into());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(secret.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new JWT signing secret");
    Ok(secret.into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = std::env::temp_dir().join(format!("stoa-secret-{}", uuid::Uuid::now_v7()));
        let first = load_or_create(None, &dir).map(|s| s.expose_secret().to_vec()).ok();
        let second = load_or_create(None, &dir).map(|s| s.expose_secret().to_vec()).ok();
        assert!(first.as_ref().is_some_and(|s| s.len() == 64));
        assert_eq!(first, second);
        let configured = SecretString::from("x".repeat(40));
        let third = load_or_create(Some(&configured), &dir).map(|s| s.expose_secret().to_vec()).ok();
        assert_eq!(third, Some(b"x".repeat(40)));
        let _ = std::fs::remove_dir_all(dir);
    }
}
