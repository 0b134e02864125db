//! Typing indicators: ephemeral, published on the channel topic without touching the database
//! beyond the visibility check.

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::store;
use crate::error::Result;
use crate::events::Event;
use crate::identity;
use crate::ids::ChannelId;

/// How long a "typing" lasts without a refresh.
pub const TYPING_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Announces that the actor started (`true`) or stopped typing in a channel they belong to.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not a member, or archived).
pub async fn set_typing(app: &AppCtx, actor: &Actor, id: ChannelId, typing: bool) -> Result<()> {
    let access = store::readable(app.db(), actor, id).await?;
    access.require_writable()?;
    let me = identity::me(app, actor).await?;
    app.signal(Event::TypingChanged { channel_id: id, user_id: me.id, display_name: me.display_name, typing }).await;
    Ok(())
}
