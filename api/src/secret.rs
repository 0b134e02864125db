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

/// The committed example environment, whose values no production deployment may run with.
const ENV_EXAMPLE: &str = include_str!("../../.env.example");

/// Secrets that were once committed as examples and so are public.
const RETIRED_EXAMPLES: [&str; 1] = ["change-me-to-a-long-random-secret-of-32-chars"];

/// The placeholder secrets of the committed example files (and of earlier ones), which no
/// production deployment may run with: anyone could mint tokens and signed file URLs with them.
#[must_use]
pub fn example_secrets() -> Vec<String> {
    ENV_EXAMPLE
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| key.trim().ends_with("_SECRET"))
        .map(|(_, value)| value.trim().to_owned())
        .chain(RETIRED_EXAMPLES.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// The key that signs file URLs: HKDF-SHA256 over the JWT secret with its own label, so a file
/// URL's signature says nothing about the token key and neither can stand in for the other.
#[must_use]
pub fn files_signing_key(jwt_secret: &SecretSlice<u8>) -> Vec<u8> {
    derive(jwt_secret, b"stoa/files-url-signing/v1")
}

/// The key that signs List-Unsubscribe links, derived like [`files_signing_key`] under its own label.
#[must_use]
pub fn unsubscribe_key(jwt_secret: &SecretSlice<u8>) -> Vec<u8> {
    derive(jwt_secret, b"stoa/mail-unsubscribe/v1")
}

/// The key that signs the OIDC sign-in flow cookie.
#[must_use]
pub fn oidc_flow_key(jwt_secret: &SecretSlice<u8>) -> Vec<u8> {
    derive(jwt_secret, b"stoa/oidc-flow/v1")
}

fn derive(jwt_secret: &SecretSlice<u8>, label: &[u8]) -> Vec<u8> {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(None, jwt_secret.expose_secret());
    let mut key = vec![0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8,160-byte limit, so expand cannot fail.
    if hkdf.expand(label, &mut key).is_err() {
        unreachable!("HKDF-SHA256 expands 32 bytes");
    }
    key
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

    #[test]
    fn the_files_key_is_derived_apart_from_the_token_key() {
        use sha2::Digest as _;
        let secret: SecretSlice<u8> = b"0123456789abcdef0123456789abcdef".to_vec().into();
        let key = files_signing_key(&secret);
        assert_eq!(key.len(), 32);
        assert_eq!(key, files_signing_key(&secret), "deterministic");
        assert_ne!(key.as_slice(), secret.expose_secret());
        // Not the construction it replaced (SHA-256 over a prefix and the raw secret).
        let old = sha2::Sha256::new().chain_update(b"stoa-files:").chain_update(secret.expose_secret()).finalize();
        assert_ne!(key.as_slice(), &old[..]);
        let other: SecretSlice<u8> = b"0123456789abcdef0123456789abcdeF".to_vec().into();
        assert_ne!(key, files_signing_key(&other));
    }

    #[test]
    fn the_example_file_names_its_secret() {
        let examples = example_secrets();
        assert!(examples.iter().any(|s| s.starts_with("replace-me")), "{examples:?}");
        assert!(examples.iter().all(|s| !s.is_empty()));
    }
}
