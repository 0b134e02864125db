//! Deleting a message: a soft delete that keeps a tombstone in place (thread counts stay right).
//! Its text is kept nowhere: the row's body is emptied, the event log stores no text (replay shows
//! the tombstone), notifications about it lose their preview, and its files are deleted.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, IntoActiveModel};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission};
use crate::chat::model::{ChatEventKind, MessageSnapshot};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::files;
use crate::ids::MessageId;

/// Deletes the actor's own message, or anyone's for a workspace moderator. Deleting twice is a no-op.
/// The message's files stop downloading at the commit; their objects are removed right after.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), message = %id))]
pub async fn delete_message(app: &AppCtx, actor: &Actor, id: MessageId) -> Result<MessageSnapshot> {
    let mut tx = app.begin().await?;
    let (message, access) = store::readable_message(tx.db(), actor, id).await?;
    let own = message.author_id == access.user.0;
    let moderator = authz::can(access.role, Permission::ModerateMessages);
    if !own && !moderator {
        return Err(DomainError::Forbidden { needed: Permission::ModerateMessages });
    }
    if own && !moderator {
        access.require_writable()?;
    }
    if message.deleted_at.is_some() {
        return store::snapshot(tx.db(), message).await;
    }
    let seq = store::next_seq(tx.db(), access.id()).await?;
    let mut model = message.into_active_model();
    model.body = Set(String::new());
    model.deleted_at = Set(Some(app.now()));
    model.pinned_at = Set(None);
    let row = model.update(tx.db()).await?;
    store::set_notification_previews(tx.db(), id, String::new()).await?;
    let discarded = files::discard_with_message(tx.db(), id).await?;
    if !own {
        let record =
            AuditRecord::new(actor, Some(access.workspace()), "message.deleted_by_moderator", "message", Some(id.0));
        audit::record(&mut tx, record).await?;
    }
    let snapshot = store::snapshot(tx.db(), row).await?;
    store::record_event(&mut tx, seq, ChatEventKind::Deleted, snapshot.clone()).await?;
    tx.commit().await?;
    files::remove_objects(app, &discarded).await;
    Ok(snapshot)
}
