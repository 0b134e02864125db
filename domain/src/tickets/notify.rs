//! Who hears of what on a ticket, as stored notifications (kind `ticket_*`), sent after commit.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use stoa_entities::{departments, notifications, tickets};

use crate::chat::Notification;
use crate::error::Result;
use crate::events::Event;
use crate::ids::{NotificationId, UserId};
use crate::tx::Tx;

/// Stores one notification per user about `ticket` (on its agents' notes channel) and announces them.
pub(crate) async fn notify(
    tx: &mut Tx,
    ticket: &tickets::Model,
    users: Vec<UserId>,
    kind: &'static str,
    preview: String,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut seen: Vec<UserId> = Vec::new();
    for user in users {
        if seen.contains(&user) {
            continue;
        }
        seen.push(user);
        let row = notifications::Model {
            id: NotificationId::new().0,
            user_id: user.0,
            workspace_id: ticket.workspace_id,
            kind: kind.to_owned(),
            channel_id: ticket.notes_channel_id,
            message_id: None,
            actor_id: None,
            preview: preview.clone(),
            created_at: now,
            read_at: None,
        };
        notifications::Entity::insert(notifications::ActiveModel {
            id: Set(row.id),
            user_id: Set(row.user_id),
            workspace_id: Set(row.workspace_id),
            kind: Set(row.kind.clone()),
            channel_id: Set(row.channel_id),
            message_id: Set(None),
            actor_id: Set(None),
            preview: Set(row.preview.clone()),
            created_at: Set(now),
            read_at: Set(None),
        })
        .exec_without_returning(tx.db())
        .await?;
        tx.emit(Event::NotificationCreated(Notification::from(row)));
    }
    Ok(())
}

/// The head of the ticket's department, if it has one.
pub(crate) async fn head_of(tx: &Tx, ticket: &tickets::Model) -> Result<Option<UserId>> {
    let department = departments::Entity::find_by_id(ticket.department_id).one(tx.db()).await?;
    Ok(department.and_then(|d| d.head_user_id).map(UserId))
}

/// Each reopen notifies the department head.
pub(crate) async fn reopened(tx: &mut Tx, ticket: &tickets::Model, now: DateTime<Utc>) -> Result<()> {
    let Some(head) = head_of(tx, ticket).await? else { return Ok(()) };
    let preview = format!(
        "Ticket #{} was reopened ({} of {})",
        ticket.number,
        ticket.reopen_count,
        super::transitions::MAX_REOPENS
    );
    notify(tx, ticket, vec![head], "ticket_reopened", preview, now).await
}
