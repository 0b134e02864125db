//! Toggling an emoji reaction.

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, ModelTrait, QueryFilter};
use stoa_entities::reactions;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::{ChatEventKind, MessageSnapshot};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::ids::MessageId;

fn parse_emoji(raw: &str) -> Result<String> {
    let emoji = raw.trim();
    let ok = !emoji.is_empty()
        && emoji.chars().count() <= 16
        && !emoji.chars().any(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || c.is_control());
    if ok { Ok(emoji.to_owned()) } else { Err(DomainError::invalid("emoji", "a single emoji expected")) }
}

/// Adds the actor's `emoji` reaction, or removes it if present. Returns the message and whether it
/// was added.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not a member, archived, deleted message), `BAD_USER_INPUT` (emoji).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), message = %id))]
pub async fn toggle_reaction(
    app: &AppCtx,
    actor: &Actor,
    id: MessageId,
    emoji: &str,
) -> Result<(MessageSnapshot, bool)> {
    let emoji = parse_emoji(emoji)?;
    let mut tx = app.begin().await?;
    let (message, access) = store::readable_message(tx.db(), actor, id).await?;
    access.require_writable()?;
    if message.deleted_at.is_some() {
        return Err(DomainError::Forbidden { needed: Permission::PostMessages });
    }
    let existing = reactions::Entity::find()
        .filter(reactions::Column::MessageId.eq(id.0))
        .filter(reactions::Column::UserId.eq(access.user.0))
        .filter(reactions::Column::Emoji.eq(emoji.as_str()))
        .one(tx.db())
        .await?;
    let added = existing.is_none();
    match existing {
        Some(row) => {
            row.delete(tx.db()).await?;
        }
        None => {
            reactions::Entity::insert(reactions::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                message_id: Set(id.0),
                user_id: Set(access.user.0),
                emoji: Set(emoji),
                created_at: Set(app.now()),
            })
            .exec_without_returning(tx.db())
            .await?;
        }
    }
    let seq = store::next_seq(tx.db(), access.id()).await?;
    let snapshot = store::snapshot(tx.db(), message).await?;
    store::record_event(&mut tx, seq, ChatEventKind::ReactionChanged, snapshot.clone()).await?;
    tx.commit().await?;
    Ok((snapshot, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_short_and_not_words() {
        assert!(parse_emoji("👍").is_ok());
        assert!(parse_emoji("👩‍👩‍👧").is_ok());
        assert!(parse_emoji("thumbsup").is_err());
        assert!(parse_emoji("").is_err());
    }
}
