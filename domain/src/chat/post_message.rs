//! Posting a message (or a thread reply): membership, body, sequence number, mentions,
//! notifications, and the `Posted` event.

use std::collections::BTreeSet;

use crate::actor::Actor;
use crate::app::{AppCtx, ChatSettings};
use crate::authz::{self, Permission};
use crate::chat::body::MessageBody;
use crate::chat::group_commit;
use crate::chat::model::{AuthorCard, ChannelKind, ChatEventKind, MessageSnapshot};
use crate::chat::store::{self, Access};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{ChannelId, MessageId, UserId};
use crate::tx::Tx;

/// Input of [`post_message`].
#[derive(Debug, Clone)]
pub struct PostMessage {
    pub channel_id: ChannelId,
    pub body: String,
    /// Reply in the thread of this top-level message.
    pub thread_root_id: Option<MessageId>,
    /// The poster's own uploaded, unattached files to attach.
    pub attachment_ids: Vec<crate::ids::AttachmentId>,
}

/// Posts as `actor` and announces it on the channel topic.
///
/// # Errors
/// `NOT_FOUND` (channel or thread root invisible), `FORBIDDEN` (not a member, or archived),
/// `BAD_USER_INPUT` (body empty or over the limit; threadRootId not a top-level message here).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %input.channel_id))]
pub async fn post_message(app: &AppCtx, actor: &Actor, input: PostMessage) -> Result<MessageSnapshot> {
    let channel = input.channel_id;
    let posted = post(app, actor, input).await?;
    if app.post_groups().kind(channel) == Some(ChannelKind::Ticket) {
        // The ticket's clock and followers; the message itself is committed whatever happens here.
        if let Err(e) = crate::tickets::message_posted(app, channel, posted.author.id, posted.message.created_at).await
        {
            tracing::warn!(error = %format_args!("{e:#}"), channel = %channel, "ticket bookkeeping after a post failed");
        }
    }
    Ok(posted)
}

async fn post(app: &AppCtx, actor: &Actor, input: PostMessage) -> Result<MessageSnapshot> {
    let body = MessageBody::parse(&input.body, app.chat().max_message_bytes)?;
    let user = actor.user_id()?;
    // A post with no thread, file or mention in a channel known not to be direct notifies nobody:
    // it goes to the channel's group commit, which checks its author's access with the group's.
    let simple = input.thread_root_id.is_none()
        && input.attachment_ids.is_empty()
        && !body.mentions_channel()
        && body.mentioned_users().is_empty();
    let known = app.post_groups().kind(input.channel_id);
    if simple && known.is_some_and(|kind| kind != ChannelKind::Direct) {
        let post = group_commit::PlainPost { author: user, body: body.as_str().to_owned() };
        return group_commit::submit(app, input.channel_id, post).await;
    }
    let access = store::readable(app.db(), actor, input.channel_id).await?;
    access.require_postable(app.now())?;
    app.post_groups().remember_kind(input.channel_id, access.kind());
    let author = AuthorCard { id: access.user, display_name: access.display_name.clone() };
    // Without a mention, only a direct channel notifies anyone.
    if simple && access.kind() != ChannelKind::Direct {
        let post = group_commit::PlainPost { author: user, body: body.as_str().to_owned() };
        return group_commit::submit(app, input.channel_id, post).await;
    }
    let mut tx = app.begin().await?;
    let now = app.now();
    if let Some(root) = input.thread_root_id
        && !store::is_thread_root(tx.db(), input.channel_id, root).await?
    {
        return Err(DomainError::invalid("threadRootId", "must be a top-level message of this channel"));
    }
    let seq = store::next_seq(tx.db(), input.channel_id).await?;
    let mut message = store::new_message(input.channel_id, seq, access.user, body.as_str().to_owned(), now);
    message.thread_root_id = input.thread_root_id;
    store::insert_message(tx.db(), &message).await?;
    if let Some(root) = input.thread_root_id {
        store::count_reply(tx.db(), root, now).await?;
    }
    if !input.attachment_ids.is_empty() {
        let workspace = access.workspace();
        crate::files::attach_to_message(tx.db(), access.user, workspace, message.id, &input.attachment_ids).await?;
    }
    notify(&mut tx, &access, &body, message.id, seq, app.chat(), now).await?;
    let snapshot = MessageSnapshot { message, author, reactions: Vec::new() };
    store::record_event(&mut tx, seq, ChatEventKind::Posted, snapshot.clone()).await?;
    tx.commit().await?;
    Ok(snapshot)
}

/// Whether the post notifies anyone: a direct message always does, elsewhere a mention does.
fn notifies_anyone(access: &Access, body: &MessageBody) -> bool {
    access.kind() == ChannelKind::Direct || body.mentions_channel() || !body.mentioned_users().is_empty()
}

/// Stores mentions and notifications: mentioned members, everyone on `@channel`, and every other
/// participant of a direct channel, each kind in one multi-row insert. `@channel` in a channel of
/// more than `mention_everyone_above` members needs [`Permission::MentionEveryone`].
async fn notify(
    tx: &mut Tx,
    access: &Access,
    body: &MessageBody,
    message: MessageId,
    seq: i64,
    settings: &ChatSettings,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if !notifies_anyone(access, body) {
        return Ok(()); // nobody to notify: a plain post costs no member query
    }
    let direct = access.kind() == ChannelKind::Direct;
    let named = body.mentioned_users();
    let members: BTreeSet<UserId> = store::member_ids(tx.db(), access.id()).await?;
    if body.mentions_channel()
        && !direct
        && members.len() > settings.mention_everyone_above
        && !authz::can(access.role, Permission::MentionEveryone)
    {
        return Err(DomainError::Forbidden { needed: Permission::MentionEveryone });
    }
    let everyone = body.mentions_channel() || direct;
    let kind_for = |user: &UserId| {
        if named.contains(user) {
            Some("mention")
        } else if direct {
            Some("direct_message")
        } else if everyone {
            Some("channel_mention")
        } else {
            None
        }
    };
    let mut mentioned = Vec::new();
    let mut notes = Vec::new();
    for user in members.iter().filter(|u| **u != access.user) {
        let Some(kind) = kind_for(user) else { continue };
        if kind != "direct_message" {
            mentioned.push(*user);
        }
        notes.push(store::NewNotification {
            user: *user,
            workspace: access.workspace(),
            kind,
            channel: access.id(),
            message,
            actor: access.user,
            preview: body.preview(),
            at: now,
        });
    }
    store::insert_mentions(tx.db(), message, access.id(), seq, &mentioned).await?;
    for note in store::insert_notifications(tx.db(), notes).await? {
        tx.emit(Event::NotificationCreated(note));
    }
    Ok(())
}
