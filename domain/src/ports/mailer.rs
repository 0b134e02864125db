//! The outbound-mail seam. The domain renders a [`Mail`] and a job hands it to the [`Mailer`];
//! `api` implements it over SMTP (`lettre`, when `STOA_SMTP_URL` is set) and as `.eml` files in
//! `./data/outbox/` (the embedded default, so a site runs with no mail server).

/// One rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The `List-Unsubscribe` header's value, for mail a recipient may opt out of.
    pub list_unsubscribe: Option<String>,
}

/// Why a delivery failed: a permanent refusal (bad address, refused by policy) is not retried.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("mail refused for good: {0}")]
    Permanent(String),
    #[error(transparent)]
    Transient(#[from] anyhow::Error),
}

/// Delivers mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands `mail` on (to the SMTP server, or to the outbox folder).
    ///
    /// # Errors
    /// [`SendError::Transient`] to be retried, [`SendError::Permanent`] to give up at once.
    async fn send(&self, mail: &Mail) -> Result<(), SendError>;
}

/// Refuses every mail: the state before start-up installs a real mailer.
pub struct NoMailer;

#[async_trait::async_trait]
impl Mailer for NoMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        Err(SendError::Transient(anyhow::anyhow!("no mailer installed for mail to {}", mail.to)))
    }
}
