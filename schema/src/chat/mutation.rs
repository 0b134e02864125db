//! Chat mutations.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use stoa_domain::chat;

use crate::chat::types::{Channel, Message, PresenceStatus};

/// Input of `updateChannel`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateChannelInput {
    /// The channel.
    pub channel_id: ID,
    /// 1 to 80 letters, digits, - or _.
    pub name: Option<String>,
    /// At most 250 characters; null clears it.
    pub topic: async_graphql::MaybeUndefined<String>,
    /// At most 250 characters; null clears it.
    pub purpose: async_graphql::MaybeUndefined<String>,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// Result of `deleteChannel`.
#[derive(SimpleObject)]
pub struct DeleteChannelPayload {
    /// The deleted channel's ID.
    pub id: ID,
}
use crate::context::{ContextExt as _, maybe, parse_id};
use crate::error::Result;

/// Chat mutations.
#[derive(Default)]
pub struct ChatMutation;

/// Kinds of channel `createChannel` makes.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum NewChannelKind {
    /// Readable and joinable by every workspace member.
    Public,
    /// Members only.
    Private,
}

/// Input of `createChannel`.
#[derive(InputObject)]
pub struct CreateChannelInput {
    /// The workspace.
    pub workspace_id: ID,
    /// 1 to 80 letters, digits, - or _ (lower-cased; a leading # is dropped).
    pub name: String,
    /// Public or private.
    #[graphql(default_with = "NewChannelKind::Public")]
    pub kind: NewChannelKind,
    /// Topic line, at most 250 characters.
    pub topic: Option<String>,
    /// Workspace members to add besides the creator.
    #[graphql(default)]
    pub member_ids: Vec<ID>,
}

/// Input of `openDirectChannel`.
#[derive(InputObject)]
pub struct OpenDirectChannelInput {
    /// The workspace.
    pub workspace_id: ID,
    /// The other participants (1 to 8).
    pub user_ids: Vec<ID>,
}

/// Input of `postMessage`.
#[derive(InputObject)]
pub struct PostMessageInput {
    /// The channel.
    pub channel_id: ID,
    /// Text, at most 8 KiB by default. `<@userId>` mentions a member; `@channel` everyone.
    pub body: String,
    /// Reply in this top-level message's thread.
    pub thread_root_id: Option<ID>,
    /// Your own uploaded files to attach (at most 10).
    #[graphql(default)]
    pub attachment_ids: Vec<ID>,
}

/// Input of `editMessage`.
#[derive(InputObject)]
pub struct EditMessageInput {
    /// The message (yours).
    pub message_id: ID,
    /// The new text.
    pub body: String,
}

/// Input of `toggleReaction`.
#[derive(InputObject)]
pub struct ToggleReactionInput {
    /// The message.
    pub message_id: ID,
    /// One emoji.
    pub emoji: String,
}

/// Input of `addChannelMember` and `removeChannelMember`.
#[derive(InputObject)]
pub struct ChannelMemberInput {
    /// The channel.
    pub channel_id: ID,
    /// The user (yourself to leave).
    pub user_id: ID,
    /// Why, for the audit log: at most 500 characters.
    pub reason: Option<String>,
}

/// A channel after a change.
#[derive(SimpleObject)]
pub struct ChannelPayload {
    /// The channel.
    pub channel: Channel,
}

/// A message after a change.
#[derive(SimpleObject)]
pub struct MessagePayload {
    /// The message.
    pub message: Message,
}

/// Result of `toggleReaction`.
#[derive(SimpleObject)]
pub struct ToggleReactionPayload {
    /// The message with its reactions.
    pub message: Message,
    /// True when the reaction was added, false when removed.
    pub added: bool,
}

/// Result of mutations with nothing else to return.
#[derive(SimpleObject)]
pub struct OkPayload {
    /// Always true.
    pub ok: bool,
}

/// Result of marking notifications read.
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// How many changed.
    pub count: u64,
}

fn ids<T: From<uuid::Uuid>>(list: &[ID], field: &'static str) -> Result<Vec<T>> {
    list.iter().map(|id| parse_id(id, field)).collect()
}

#[Object]
impl ChatMutation {
    /// Creates a public or private channel; the viewer and `memberIds` join it.
    async fn create_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace, name, kind, topic and first members of the channel.")]
        input: CreateChannelInput,
    ) -> Result<ChannelPayload> {
        let input = chat::CreateChannel {
            workspace_id: parse_id(&input.workspace_id, "workspaceId")?,
            name: input.name,
            kind: match input.kind {
                NewChannelKind::Public => chat::ChannelKind::Public,
                NewChannelKind::Private => chat::ChannelKind::Private,
            },
            topic: input.topic,
            member_ids: ids(&input.member_ids, "memberIds")?,
        };
        Ok(ChannelPayload { channel: Channel(chat::create_channel(ctx.app()?, ctx.actor()?, input).await?) })
    }

    /// Returns the direct channel with exactly these people, creating it the first time.
    async fn open_direct_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the other participants.")] input: OpenDirectChannelInput,
    ) -> Result<ChannelPayload> {
        let workspace = parse_id(&input.workspace_id, "workspaceId")?;
        let users = ids(&input.user_ids, "userIds")?;
        Ok(ChannelPayload { channel: Channel(chat::open_direct(ctx.app()?, ctx.actor()?, workspace, users).await?) })
    }

    /// Joins a public channel.
    async fn join_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The public channel to join.")] channel_id: ID,
    ) -> Result<ChannelPayload> {
        let id = parse_id(&channel_id, "channelId")?;
        Ok(ChannelPayload { channel: Channel(chat::join_channel(ctx.app()?, ctx.actor()?, id).await?) })
    }

    /// Adds a workspace member to a channel the viewer belongs to.
    async fn add_channel_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel and the workspace member to add.")] input: ChannelMemberInput,
    ) -> Result<OkPayload> {
        let (channel, user) = (parse_id(&input.channel_id, "channelId")?, parse_id(&input.user_id, "userId")?);
        chat::add_channel_member(ctx.app()?, &ctx.acting(input.reason)?, channel, user).await?;
        Ok(OkPayload { ok: true })
    }

    /// Leaves a channel, or removes someone (its creator and workspace admins). Their streams end at once.
    async fn remove_channel_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel and the member to remove (the viewer to leave).")] input: ChannelMemberInput,
    ) -> Result<OkPayload> {
        let (channel, user) = (parse_id(&input.channel_id, "channelId")?, parse_id(&input.user_id, "userId")?);
        chat::remove_channel_member(ctx.app()?, &ctx.acting(input.reason)?, channel, user).await?;
        Ok(OkPayload { ok: true })
    }

    /// Archives a channel (read-only from then on). Its creator and workspace admins.
    async fn archive_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel to archive.")] channel_id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<ChannelPayload> {
        let id = parse_id(&channel_id, "channelId")?;
        Ok(ChannelPayload { channel: Channel(chat::set_archived(ctx.app()?, &ctx.acting(reason)?, id, true).await?) })
    }

    /// Makes an archived channel writable again. Its creator and workspace admins.
    async fn unarchive_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The archived channel to make writable again.")] channel_id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<ChannelPayload> {
        let id = parse_id(&channel_id, "channelId")?;
        Ok(ChannelPayload { channel: Channel(chat::set_archived(ctx.app()?, &ctx.acting(reason)?, id, false).await?) })
    }

    /// Renames a channel or changes its topic or purpose. Its creator and workspace admins;
    /// subscribers of `channelChanged` hear it.
    async fn update_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel and the fields to change.")] input: UpdateChannelInput,
    ) -> Result<ChannelPayload> {
        let id = parse_id(&input.channel_id, "channelId")?;
        let update = chat::UpdateChannel { name: input.name, topic: maybe(input.topic), purpose: maybe(input.purpose) };
        let channel = chat::update_channel(ctx.app()?, &ctx.acting(input.reason)?, id, update).await?;
        Ok(ChannelPayload { channel: Channel(channel) })
    }

    /// Deletes a channel: hidden from every read at once (its members' streams end, its files never
    /// download again); a job then purges its messages and files. Workspace admins only.
    async fn delete_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel to delete.")] channel_id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<DeleteChannelPayload> {
        let id = parse_id(&channel_id, "channelId")?;
        chat::delete_channel(ctx.app()?, &ctx.acting(reason)?, id).await?;
        Ok(DeleteChannelPayload { id: channel_id })
    }

    /// Posts a message or a thread reply.
    async fn post_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel and text, with an optional thread root and attachments.")]
        input: PostMessageInput,
    ) -> Result<MessagePayload> {
        let input = chat::PostMessage {
            channel_id: parse_id(&input.channel_id, "channelId")?,
            body: input.body,
            thread_root_id: input.thread_root_id.as_ref().map(|id| parse_id(id, "threadRootId")).transpose()?,
            attachment_ids: ids(&input.attachment_ids, "attachmentIds")?,
        };
        let snapshot = chat::post_message(ctx.app()?, ctx.actor()?, input).await?;
        Ok(MessagePayload { message: Message::snapshot(snapshot) })
    }

    /// Edits one of the viewer's messages.
    async fn edit_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The viewer's message and its new text.")] input: EditMessageInput,
    ) -> Result<MessagePayload> {
        let id = parse_id(&input.message_id, "messageId")?;
        let snapshot = chat::edit_message(ctx.app()?, ctx.actor()?, id, &input.body).await?;
        Ok(MessagePayload { message: Message::snapshot(snapshot) })
    }

    /// Deletes a message (the viewer's own, or anyone's for moderators); a tombstone stays.
    async fn delete_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message to delete.")] message_id: ID,
        #[graphql(desc = "Why, for the audit log when a moderator deletes another's message: at most 500 characters.")]
        reason: Option<String>,
    ) -> Result<MessagePayload> {
        let id = parse_id(&message_id, "messageId")?;
        let snapshot = chat::delete_message(ctx.app()?, &ctx.acting(reason)?, id).await?;
        Ok(MessagePayload { message: Message::snapshot(snapshot) })
    }

    /// Adds the viewer's reaction, or removes it if present.
    async fn toggle_reaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message and the emoji.")] input: ToggleReactionInput,
    ) -> Result<ToggleReactionPayload> {
        let id = parse_id(&input.message_id, "messageId")?;
        let (snapshot, added) = chat::toggle_reaction(ctx.app()?, ctx.actor()?, id, &input.emoji).await?;
        Ok(ToggleReactionPayload { message: Message::snapshot(snapshot), added })
    }

    /// Pins or unpins a message.
    async fn pin_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message to pin or unpin.")] message_id: ID,
        #[graphql(default = true, desc = "True to pin, false to unpin.")] pinned: bool,
    ) -> Result<MessagePayload> {
        let id = parse_id(&message_id, "messageId")?;
        let snapshot = chat::pin_message(ctx.app()?, ctx.actor()?, id, pinned).await?;
        Ok(MessagePayload { message: Message::snapshot(snapshot) })
    }

    /// Moves the viewer's read mark forward to `seq`.
    async fn mark_channel_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel to mark read; the viewer must be a member.")] channel_id: ID,
        #[graphql(desc = "The `seq` read up to (not negative; capped at `lastSeq`; the mark never moves back).")]
        seq: i64,
    ) -> Result<ChannelPayload> {
        let id = parse_id(&channel_id, "channelId")?;
        Ok(ChannelPayload { channel: Channel(chat::mark_read(ctx.app()?, ctx.actor()?, id, seq).await?) })
    }

    /// Tells the channel the viewer is typing (refresh within 5 s) or stopped.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel the viewer is typing in.")] channel_id: ID,
        #[graphql(default = true, desc = "True while typing (refresh within 5 s), false once stopped.")] typing: bool,
    ) -> Result<OkPayload> {
        let id = parse_id(&channel_id, "channelId")?;
        chat::set_typing(ctx.app()?, ctx.actor()?, id, typing).await?;
        Ok(OkPayload { ok: true })
    }

    /// Marks the viewer away (or back online while connected).
    async fn set_away(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "True to mark the viewer away, false to mark them back online.")] away: bool,
    ) -> Result<PresenceStatus> {
        Ok(chat::presence::set_away(ctx.app()?, ctx.actor()?, away).await?.into())
    }

    /// Marks one notification read.
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notification's ID.")] id: ID,
    ) -> Result<MarkNotificationsReadPayload> {
        let id = parse_id(&id, "id")?;
        Ok(MarkNotificationsReadPayload {
            count: chat::mark_notifications_read(ctx.app()?, ctx.actor()?, Some(id)).await?,
        })
    }

    /// Marks every notification read.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> Result<MarkNotificationsReadPayload> {
        Ok(MarkNotificationsReadPayload { count: chat::mark_notifications_read(ctx.app()?, ctx.actor()?, None).await? })
    }
}
