//! HMAC-signed, expiring URLs for the local folder: `{public}/files/{key}?m=GET&exp=…&sig=…`.
//! The signature covers method, key and expiry, so a URL cannot be reused for another object,
//! another method, or after it expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// What a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedMethod {
    Get,
    Put,
}

impl SignedMethod {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
        }
    }
}

/// Signs and verifies local file URLs.
#[derive(Clone)]
pub struct LocalSigner {
    base: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner").field("base", &self.base).finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl LocalSigner {
    #[must_use]
    pub fn new(public_url: &str, key: &[u8]) -> Self {
        Self { base: public_url.trim_end_matches('/').to_owned(), key: key.to_vec() }
    }

    fn mac(&self, method: SignedMethod, key: &str, exp: u64) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(format!("{}\n{key}\n{exp}", method.as_str()).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A URL valid for `expires_in`.
    #[must_use]
    pub fn sign(&self, method: SignedMethod, key: &str, expires_in: Duration) -> String {
        let exp = now() + expires_in.as_secs().max(1);
        let sig = self.mac(method, key, exp);
        format!("{}/files/{key}?exp={exp}&sig={sig}", self.base)
    }

    /// Whether `sig` is valid for this method, key and expiry, and the expiry has not passed.
    #[must_use]
    pub fn verify(&self, method: SignedMethod, key: &str, exp: u64, sig: &str) -> bool {
        if exp < now() {
            return false;
        }
        let Ok(given) = hex::decode(sig) else { return false };
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(format!("{}\n{key}\n{exp}", method.as_str()).as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, u64, String) {
        let (path, query) = url.split_once('?').unwrap_or_default();
        let key = path.split_once("/files/").map(|(_, k)| k.to_owned()).unwrap_or_default();
        let mut exp = 0;
        let mut sig = String::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("exp", v)) => exp = v.parse().unwrap_or(0),
                Some(("sig", v)) => sig = v.to_owned(),
                _ => {}
            }
        }
        (key, exp, sig)
    }

    #[test]
    fn a_signed_url_verifies_only_for_its_method_key_and_time() {
        let signer = LocalSigner::new("http://h/", b"secret");
        let (key, exp, sig) = parts(&signer.sign(SignedMethod::Get, "clean/abc", Duration::from_mins(1)));
        assert_eq!(key, "clean/abc");
        assert!(signer.verify(SignedMethod::Get, "clean/abc", exp, &sig));
        assert!(!signer.verify(SignedMethod::Put, "clean/abc", exp, &sig));
        assert!(!signer.verify(SignedMethod::Get, "clean/abd", exp, &sig));
        assert!(!signer.verify(SignedMethod::Get, "clean/abc", exp + 1, &sig));
        assert!(!signer.verify(SignedMethod::Get, "clean/abc", 1, &signer.mac(SignedMethod::Get, "clean/abc", 1)));
        assert!(!LocalSigner::new("http://h", b"other").verify(SignedMethod::Get, "clean/abc", exp, &sig));
    }
}
