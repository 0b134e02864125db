//! The scanner seam and the built-in scanner: the EICAR test signature, a SHA-256 blocklist, and
//! a type check (bytes that are an executable are infected whatever their name). `api` adds ClamAV.

use std::collections::HashSet;

use sha2::{Digest as _, Sha256};

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanVerdict {
    Clean,
    /// The signature name.
    Infected(String),
}

/// Scans bytes. An `Err` means "could not scan" (retry later), never "clean".
#[async_trait::async_trait]
pub trait Scanner: Send + Sync + 'static {
    /// # Errors
    /// When the scanner is unreachable or fails.
    async fn scan(&self, bytes: &[u8]) -> anyhow::Result<ScanVerdict>;
}

/// The 68-byte EICAR anti-virus test file's signature part.
const EICAR: &[u8] = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE";

/// The embedded default scanner.
#[derive(Debug, Default)]
pub struct BuiltinScanner {
    blocklist: HashSet<String>,
}

impl BuiltinScanner {
    /// A scanner that also refuses files whose SHA-256 (hex, one per line; `#` comments) is listed.
    #[must_use]
    pub fn with_blocklist(text: &str) -> Self {
        let blocklist = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim().to_ascii_lowercase())
            .filter(|l| l.len() == 64)
            .collect();
        Self { blocklist }
    }
}

/// SHA-256 of the bytes, hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[async_trait::async_trait]
impl Scanner for BuiltinScanner {
    async fn scan(&self, bytes: &[u8]) -> anyhow::Result<ScanVerdict> {
        if bytes.windows(EICAR.len()).any(|w| w == EICAR) {
            return Ok(ScanVerdict::Infected("Eicar-Test-Signature".into()));
        }
        if self.blocklist.contains(&sha256_hex(bytes)) {
            return Ok(ScanVerdict::Infected("Stoa.Blocklist.SHA256".into()));
        }
        if crate::files::policy::sniff(bytes) == Some("application/x-executable") {
            return Ok(ScanVerdict::Infected("Stoa.Executable".into()));
        }
        Ok(ScanVerdict::Clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eicar_blocklisted_hashes_and_executables_are_infected() {
        let eicar = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
        let scanner = BuiltinScanner::with_blocklist(&format!("{} # known bad\n", sha256_hex(b"bad bytes")));
        assert_eq!(scanner.scan(eicar).await.ok(), Some(ScanVerdict::Infected("Eicar-Test-Signature".into())));
        assert!(matches!(scanner.scan(b"bad bytes").await, Ok(ScanVerdict::Infected(_))));
        assert!(matches!(scanner.scan(b"MZ\x90\x00").await, Ok(ScanVerdict::Infected(_))));
        assert_eq!(scanner.scan(b"hello").await.ok(), Some(ScanVerdict::Clean));
    }
}
