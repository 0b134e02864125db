//! Outbound mail: rendered from the templates in `domain/templates/mail/`, written to
//! `outbound_mail` in the transaction that decides to send it, and delivered by a job
//! ([`Job::SendMail`](crate::jobs::Job)) through the [`Mailer`](crate::ports::mailer::Mailer) port,
//! with retries. A mail that cannot be delivered never fails the mutation that queued it: it is
//! retried, then dead-lettered, and admins list their workspace's dead letters.
//!
//! A mail's body may hold a single-use token, so it is blanked as soon as the mail is sent or given
//! up; the row stays as the delivery record.

mod templates;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::outbound_mail;

pub use templates::Template;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::error::Result;
use crate::ids::{MailId, WorkspaceId};
use crate::jobs::Job;
use crate::pagination::{Page, PageRequest};
use crate::ports::mailer::{Mail, SendError};
use crate::tx::Tx;

/// Longest delivery error kept, in characters.
const ERROR_CHARS: usize = 300;

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub template: Template,
    pub to: String,
    pub subject: String,
    /// `{{name}}` values for the template; HTML-escaped in the HTML part.
    pub vars: Vec<(&'static str, String)>,
    pub list_unsubscribe: Option<String>,
    /// The workspace whose admins see it if it cannot be delivered.
    pub workspace: Option<WorkspaceId>,
}

/// Renders `mail` and writes it inside `tx`; deliver it with [`dispatch`] after the commit.
///
/// # Errors
/// `Internal` on database failure.
pub(crate) async fn queue(tx: &Tx, mail: Outgoing, now: DateTime<Utc>) -> Result<MailId> {
    let (text, html) = mail.template.render(&mail.vars);
    let id = MailId::new();
    outbound_mail::Entity::insert(outbound_mail::ActiveModel {
        id: Set(id.0),
        kind: Set(mail.template.kind().to_owned()),
        to_address: Set(mail.to),
        subject: Set(mail.subject),
        body_text: Set(text),
        body_html: Set(html),
        list_unsubscribe: Set(mail.list_unsubscribe),
        workspace_id: Set(mail.workspace.map(|w| w.0)),
        status: Set(Status::Queued.as_str().to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
    })
    .exec_without_returning(tx.db())
    .await?;
    Ok(id)
}

/// Hands committed mail to the job queue without waiting for it: the request that queued the mail
/// answers the same whether or not the queue (or, inline, the mail server) is slow. A mail whose
/// job is lost is queued again by the workers' sweep ([`stale`]).
pub(crate) fn dispatch(app: &AppCtx, id: MailId) {
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = app.jobs().enqueue(Job::SendMail { id }).await {
            tracing::error!(mail = %id, error = %format_args!("{e:#}"), "queueing a mail failed; the sweep retries it");
        }
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Queued,
    Sent,
    Dead,
}

impl Status {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }
}

/// Delivers one queued mail (the [`Job::SendMail`] handler). Idempotent: a mail no longer queued
/// is left alone.
///
/// # Errors
/// The transient delivery error, so the job is retried; a permanent refusal dead-letters the mail
/// at once and is not an error.
pub async fn deliver(app: &AppCtx, id: MailId) -> Result<()> {
    let Some(row) = outbound_mail::Entity::find_by_id(id.0).one(app.db()).await? else { return Ok(()) };
    if row.status != Status::Queued.as_str() {
        return Ok(());
    }
    let mail = Mail {
        to: row.to_address,
        subject: row.subject,
        text: row.body_text,
        html: row.body_html,
        list_unsubscribe: row.list_unsubscribe,
    };
    match app.mailer().send(&mail).await {
        Ok(()) => finish(app, id, Status::Sent, None, true).await,
        Err(SendError::Permanent(reason)) => {
            tracing::warn!(mail = %id, reason, "mail refused for good");
            finish(app, id, Status::Dead, Some(&reason), true).await
        }
        Err(SendError::Transient(e)) => {
            let reason = format!("{e:#}");
            outbound_mail::Entity::update_many()
                .col_expr(outbound_mail::Column::Attempts, Expr::col(outbound_mail::Column::Attempts).add(1))
                .col_expr(outbound_mail::Column::LastError, Expr::value(clip(&reason)))
                .filter(outbound_mail::Column::Id.eq(id.0))
                .exec(app.db())
                .await?;
            Err(crate::DomainError::Internal(e.context("delivering mail")))
        }
    }
}

/// Dead-letters a mail whose job used all its attempts.
///
/// # Errors
/// `Internal` on database failure.
pub async fn give_up(app: &AppCtx, id: MailId, reason: &str) -> Result<()> {
    finish(app, id, Status::Dead, Some(reason), false).await
}

fn clip(reason: &str) -> String {
    reason.chars().take(ERROR_CHARS).collect()
}

/// Marks the mail `status`, blanking its body; `attempted` counts the delivery that decided it.
async fn finish(app: &AppCtx, id: MailId, status: Status, reason: Option<&str>, attempted: bool) -> Result<()> {
    let mut update = outbound_mail::Entity::update_many()
        .col_expr(outbound_mail::Column::Status, Expr::value(status.as_str()))
        .col_expr(outbound_mail::Column::BodyText, Expr::value(""))
        .col_expr(outbound_mail::Column::BodyHtml, Expr::value(""))
        .col_expr(outbound_mail::Column::FinishedAt, Expr::value(app.now()));
    if attempted {
        update = update.col_expr(outbound_mail::Column::Attempts, Expr::col(outbound_mail::Column::Attempts).add(1));
    }
    if let Some(reason) = reason {
        update = update.col_expr(outbound_mail::Column::LastError, Expr::value(clip(reason)));
    }
    update
        .filter(outbound_mail::Column::Id.eq(id.0))
        .filter(outbound_mail::Column::Status.eq(Status::Queued.as_str()))
        .exec(app.db())
        .await?;
    Ok(())
}

/// Mail still queued after `older_than`: its job was lost with a dead worker or a failed enqueue.
///
/// # Errors
/// `Internal` on database failure.
pub async fn stale(app: &AppCtx, older_than: std::time::Duration) -> Result<Vec<MailId>> {
    let cutoff = app.now() - chrono::Duration::from_std(older_than).unwrap_or_default();
    let rows = outbound_mail::Entity::find()
        .filter(outbound_mail::Column::Status.eq(Status::Queued.as_str()))
        .filter(outbound_mail::Column::CreatedAt.lt(cutoff))
        .limit(500)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(|r| MailId(r.id)).collect())
}

/// A mail that could not be delivered, as its workspace's admins see it (never its body).
#[derive(Debug, Clone)]
pub struct UndeliveredMail {
    pub id: MailId,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub given_up_at: Option<DateTime<Utc>>,
}

/// The workspace's dead-lettered mail (invitations), newest first.
///
/// # Errors
/// `NOT_FOUND` (not a member), `FORBIDDEN` (below admin).
pub async fn undelivered(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    page: PageRequest,
) -> Result<Page<UndeliveredMail>> {
    crate::workspaces::store::require_permission(app.db(), actor, workspace, Permission::ManageMembers).await?;
    let limit = page.limit();
    let mut query = outbound_mail::Entity::find()
        .filter(outbound_mail::Column::WorkspaceId.eq(workspace.0))
        .filter(outbound_mail::Column::Status.eq(Status::Dead.as_str()))
        .order_by_desc(outbound_mail::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after {
        query = query.filter(outbound_mail::Column::Id.lt(after));
    }
    let mut rows = query.all(app.db()).await?;
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let items = rows
        .into_iter()
        .map(|r| UndeliveredMail {
            id: MailId(r.id),
            kind: r.kind,
            to: r.to_address,
            subject: r.subject,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            given_up_at: r.finished_at,
        })
        .collect();
    Ok(Page { items, has_next_page })
}

/// The signature of `address` in its List-Unsubscribe link.
fn unsubscribe_signature(app: &AppCtx, address: &str) -> String {
    use hmac::Mac as _;
    use secrecy::ExposeSecret as _;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(app.accounts().unsubscribe_key.expose_secret()) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(b"unsubscribe:");
    mac.update(address.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `List-Unsubscribe` value for mail to `address`: a signed one-click link (RFC 8058) to
/// `POST /mail/unsubscribe`, which stops invitation mail to the address.
#[must_use]
pub fn unsubscribe_header(app: &AppCtx, address: &str) -> String {
    let sig = unsubscribe_signature(app, address);
    let query = format!("address={}&sig={sig}", percent_encode(address));
    format!("<{}/mail/unsubscribe?{query}>", app.accounts().public_url)
}

fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Records that `address` wants no more invitation mail, when `sig` is its link's signature.
///
/// # Errors
/// `INVALID_TOKEN` (`unsubscribe`) for a wrong signature.
pub async fn unsubscribe(app: &AppCtx, address: &str, sig: &str) -> Result<()> {
    use sea_orm::sea_query::OnConflict;
    let expected = unsubscribe_signature(app, address);
    if !subtle_eq(expected.as_bytes(), sig.as_bytes()) {
        return Err(crate::DomainError::InvalidToken("unsubscribe"));
    }
    stoa_entities::mail_suppressions::Entity::insert(stoa_entities::mail_suppressions::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(address.to_owned()),
        created_at: Set(app.now()),
    })
    .on_conflict(OnConflict::column(stoa_entities::mail_suppressions::Column::Email).do_nothing().to_owned())
    .exec_without_returning(app.db())
    .await?;
    tracing::info!("an address unsubscribed from invitation mail");
    Ok(())
}

/// Compares in time independent of where the inputs differ.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `address` unsubscribed from invitation mail.
pub(crate) async fn is_suppressed(db: &impl sea_orm::ConnectionTrait, address: &str) -> Result<bool> {
    Ok(stoa_entities::mail_suppressions::Entity::find()
        .filter(stoa_entities::mail_suppressions::Column::Email.eq(address))
        .one(db)
        .await?
        .is_some())
}
