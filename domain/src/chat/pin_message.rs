//! Pinning and unpinning a message.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, IntoActiveModel};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::{ChatEventKind, MessageSnapshot};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::ids::MessageId;

/// Pins (`pinned = true`) or unpins a message. Any channel member may; repeating is a no-op.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not a member, archived, deleted message).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), message = %id))]
pub async fn pin_message(app: &AppCtx, actor: &Actor, id: MessageId, pinned: bool) -> Result<MessageSnapshot> {
    let mut tx = app.begin().await?;
    let (message, access) = store::readable_message(tx.db(), actor, id).await?;
    access.require_writable()?;
    if message.deleted_at.is_some() {
        return Err(DomainError::Forbidden { needed: Permission::PostMessages });
    }
    if message.pinned_at.is_some() == pinned {
        return store::snapshot(tx.db(), message).await;
    }
    let seq = store::next_seq(tx.db(), access.id()).await?;
    let mut model = message.into_active_model();
    model.pinned_at = Set(pinned.then(|| app.now()));
    model.pinned_by = Set(pinned.then_some(access.user.0));
    let row = model.update(tx.db()).await?;
    let snapshot = store::snapshot(tx.db(), row).await?;
    let kind = if pinned { ChatEventKind::Pinned } else { ChatEventKind::Unpinned };
    store::record_event(&mut tx, seq, kind, snapshot.clone()).await?;
    tx.commit().await?;
    Ok(snapshot)
}
