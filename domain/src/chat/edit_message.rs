//! Editing one's own message. The old text is kept nowhere: the event log stores no text, and the
//! notifications about the message show the new one.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, IntoActiveModel};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::body::MessageBody;
use crate::chat::model::{ChatEventKind, MessageSnapshot};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::ids::MessageId;

/// Replaces the body of the actor's own message.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (someone else's message, deleted, archived channel), `BAD_USER_INPUT` (body).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), message = %id))]
pub async fn edit_message(app: &AppCtx, actor: &Actor, id: MessageId, body: &str) -> Result<MessageSnapshot> {
    let body = MessageBody::parse(body, app.chat().max_message_bytes)?;
    let mut tx = app.begin().await?;
    let (message, access) = store::readable_message(tx.db(), actor, id).await?;
    access.require_writable()?;
    if message.author_id != access.user.0 || message.deleted_at.is_some() {
        return Err(DomainError::Forbidden { needed: Permission::ModerateMessages });
    }
    let seq = store::next_seq(tx.db(), access.id()).await?;
    store::set_notification_previews(tx.db(), id, body.preview()).await?;
    let mut model = message.into_active_model();
    model.body = Set(body.into_inner());
    model.edited_at = Set(Some(app.now()));
    let row = model.update(tx.db()).await?;
    let snapshot = store::snapshot(tx.db(), row).await?;
    store::record_event(&mut tx, seq, ChatEventKind::Edited, snapshot.clone()).await?;
    tx.commit().await?;
    Ok(snapshot)
}
