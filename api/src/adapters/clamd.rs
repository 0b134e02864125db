//! ClamAV over the clamd INSTREAM protocol (TCP `host:port` or a unix socket). Any I/O failure or
//! unexpected answer is an error (the scan is retried), never "clean".

use std::time::Duration;

use anyhow::{Context as _, bail};
use stoa_domain::ports::scanner::{ScanVerdict, Scanner};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Where clamd listens.
#[derive(Debug, Clone)]
pub enum ClamdAddr {
    Tcp(String),
    Unix(std::path::PathBuf),
}

/// The clamd scanner.
#[derive(Debug, Clone)]
pub struct ClamdScanner {
    addr: ClamdAddr,
}

/// clamd's default StreamMaxLength is 25 MiB; chunks are sent well below it.
const CHUNK: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_mins(1);

impl ClamdScanner {
    #[must_use]
    pub fn new(addr: ClamdAddr) -> Self {
        Self { addr }
    }

    async fn instream<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, bytes: &[u8]) -> anyhow::Result<String> {
        stream.write_all(b"zINSTREAM\0").await?;
        for chunk in bytes.chunks(CHUNK) {
            let len = u32::try_from(chunk.len()).context("chunk too large")?;
            stream.write_all(&len.to_be_bytes()).await?;
            stream.write_all(chunk).await?;
        }
        stream.write_all(&0u32.to_be_bytes()).await?;
        stream.flush().await?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?;
        Ok(String::from_utf8_lossy(&reply).trim_end_matches(['\0', '\n']).to_owned())
    }

    /// `zPING` → `PONG`.
    ///
    /// # Errors
    /// When clamd does not answer.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let reply = match &self.addr {
            ClamdAddr::Tcp(addr) => {
                let mut s = tokio::net::TcpStream::connect(addr).await?;
                s.write_all(b"zPING\0").await?;
                let mut r = Vec::new();
                s.read_to_end(&mut r).await?;
                r
            }
            ClamdAddr::Unix(path) => {
                let mut s = tokio::net::UnixStream::connect(path).await?;
                s.write_all(b"zPING\0").await?;
                let mut r = Vec::new();
                s.read_to_end(&mut r).await?;
                r
            }
        };
        if String::from_utf8_lossy(&reply).trim_end_matches(['\0', '\n']) == "PONG" {
            Ok(())
        } else {
            bail!("clamd did not answer PONG")
        }
    }
}

/// Parses clamd's answer: `stream: OK`, `stream: <Name> FOUND`, anything else is an error.
fn verdict(reply: &str) -> anyhow::Result<ScanVerdict> {
    let body = reply.strip_prefix("stream: ").unwrap_or(reply);
    if body == "OK" {
        return Ok(ScanVerdict::Clean);
    }
    if let Some(name) = body.strip_suffix(" FOUND") {
        return Ok(ScanVerdict::Infected(name.to_owned()));
    }
    bail!("clamd: {reply}")
}

#[async_trait::async_trait]
impl Scanner for ClamdScanner {
    async fn scan(&self, bytes: &[u8]) -> anyhow::Result<ScanVerdict> {
        let reply = tokio::time::timeout(TIMEOUT, async {
            match &self.addr {
                ClamdAddr::Tcp(addr) => Self::instream(tokio::net::TcpStream::connect(addr).await?, bytes).await,
                ClamdAddr::Unix(path) => Self::instream(tokio::net::UnixStream::connect(path).await?, bytes).await,
            }
        })
        .await
        .context("clamd timed out")?
        .context("clamd unreachable")?;
        verdict(&reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamd_answers_parse_and_errors_are_never_clean() {
        assert_eq!(verdict("stream: OK").ok(), Some(ScanVerdict::Clean));
        assert_eq!(
            verdict("stream: Eicar-Sig.UNOFFICIAL FOUND").ok(),
            Some(ScanVerdict::Infected("Eicar-Sig.UNOFFICIAL".into()))
        );
        assert!(verdict("INSTREAM size limit exceeded. ERROR").is_err());
        assert!(verdict("").is_err());
    }

    #[tokio::test]
    async fn a_dead_clamd_is_an_error_not_clean() {
        let scanner = ClamdScanner::new(ClamdAddr::Tcp("127.0.0.1:1".into()));
        assert!(scanner.scan(b"hello").await.is_err());
    }
}
