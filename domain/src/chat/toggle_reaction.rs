//! Toggling an emoji reaction: one real emoji (a Unicode emoji sequence, skin tones included), at
//! most [`MAX_DISTINCT`] different ones on a message, so that a toggle's snapshot stays small.

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::{ChatEventKind, MessageSnapshot};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::ids::MessageId;

/// Different emoji one message may carry.
pub const MAX_DISTINCT: u64 = 50;

/// One emoji of the Unicode emoji list (with its skin-tone variants), exactly as given.
fn parse_emoji(raw: &str) -> Result<String> {
    if emojis::get(raw).is_some() {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid("emoji", "a single Unicode emoji expected"))
    }
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
    access.require_postable(app.now())?;
    if message.deleted_at.is_some() {
        return Err(DomainError::Forbidden { needed: Permission::PostMessages });
    }
    // The channel's sequence lock first: concurrent toggles on one message queue here, so the cap
    // below counts what the earlier ones committed.
    let seq = store::next_seq(tx.db(), access.id()).await?;
    let added = if store::remove_reaction(tx.db(), id, access.user, &emoji).await? {
        false
    } else {
        let emojis = store::reaction_emojis(tx.db(), id).await?;
        if !emojis.contains(&emoji) && emojis.len() as u64 >= MAX_DISTINCT {
            return Err(DomainError::Conflict("a message holds at most 50 different reactions"));
        }
        store::add_reaction(tx.db(), id, access.user, emoji, app.now()).await?;
        true
    };
    let snapshot = store::snapshot(tx.db(), message).await?;
    store::record_event(&mut tx, seq, ChatEventKind::ReactionChanged, snapshot.clone()).await?;
    tx.commit().await?;
    Ok((snapshot, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_unicode_emoji_pass() {
        for good in ["👍", "👍🏽", "👩‍👩‍👧", "❤️", "🇫🇷", "1️⃣"] {
            assert!(parse_emoji(good).is_ok(), "{good}");
        }
        for bad in ["thumbsup", "", "→", "👍👍", " 👍", "\u{200d}", "★★"] {
            assert!(parse_emoji(bad).is_err(), "{bad:?}");
        }
    }
}
