//! The two [`Mailer`]s: SMTP through `lettre` (STARTTLS or TLS, with auth, from `STOA_SMTP_URL`)
//! and, the embedded default, one `.eml` file per mail under `./data/outbox/` with its first link
//! logged, so a site without a mail server still works (an operator opens the link from the log).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use stoa_domain::ports::mailer::{Mail, Mailer, SendError};

/// Builds the RFC 5322 message of `mail` from `from`.
///
/// # Errors
/// [`SendError::Permanent`] when the recipient is not an address lettre accepts.
fn message(from: &Mailbox, mail: &Mail) -> Result<Message, SendError> {
    let to: Mailbox =
        mail.to.parse().map_err(|e| SendError::Permanent(format!("recipient {:?} refused: {e}", mail.to)))?;
    let mut builder = Message::builder().from(from.clone()).to(to).subject(&mail.subject).message_id(None);
    if let Some(unsubscribe) = &mail.list_unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), unsubscribe.clone()))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|e| SendError::Transient(anyhow::Error::new(e).context("building the message")))
}

/// Parses `STOA_MAIL_FROM`.
///
/// # Errors
/// When it is not a mailbox (`Name <addr@host>` or `addr@host`).
pub fn parse_from(raw: &str) -> anyhow::Result<Mailbox> {
    raw.parse().with_context(|| format!("STOA_MAIL_FROM {raw:?} is not a mailbox"))
}

/// Sends over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// From `smtp://[user:pass@]host[:port]` (plain), `smtp://…?tls=required` (STARTTLS) or
    /// `smtps://…` (TLS). Each exchange has a deadline of `timeout`.
    ///
    /// # Errors
    /// When the URL is not one of those.
    pub fn new(url: &str, from: Mailbox, timeout: Duration) -> anyhow::Result<Self> {
        let transport: AsyncSmtpTransport<Tokio1Executor> = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("STOA_SMTP_URL is not usable: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = message(&self.from, mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // 5xx: the server refuses this mail for good (unknown mailbox, policy); retrying
            // would only repeat it. Everything else (4xx, connection, timeout) is retried.
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(anyhow::Error::new(e).context("SMTP delivery"))),
        }
    }
}

/// Writes each mail as `<id>.eml` into a folder.
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// Mails go to `dir` (created when missing).
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn new(dir: PathBuf, from: Mailbox) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating the mail outbox {}", dir.display()))?;
        Ok(Self { dir, from })
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = message(&self.from, mail)?;
        let path = self.dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
        let partial = path.with_extension("eml.part");
        tokio::fs::write(&partial, message.formatted()).await.context("writing to the mail outbox")?;
        tokio::fs::rename(&partial, &path).await.context("writing to the mail outbox")?;
        let link = mail.text.split_whitespace().find(|w| w.starts_with("http://") || w.starts_with("https://"));
        tracing::info!(to = %mail.to, subject = %mail.subject, link, file = %path.display(), "mail written to the outbox");
        Ok(())
    }
}
