//! Posting a message (or a thread reply): membership, body, sequence number, mentions,
//! notifications, and the `Posted` event.

use std::collections::BTreeSet;

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait as _, QueryFilter};
use stoa_entities::{channel_members, mentions, messages, notifications};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::body::MessageBody;
use crate::chat::group_commit;
use crate::chat::model::{AuthorCard, ChannelKind, ChatEventKind, MessageSnapshot, Notification};
use crate::chat::store::{self, Access};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{ChannelId, MessageId, NotificationId, UserId};
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
    let body = MessageBody::parse(&input.body, app.chat().max_message_bytes)?;
    let access = store::readable(app.db(), actor, input.channel_id).await?;
    access.require_writable()?;
    let author = AuthorCard { id: access.user, display_name: access.display_name.clone() };
    let plain = input.thread_root_id.is_none() && input.attachment_ids.is_empty() && !notifies_anyone(&access, &body);
    if plain {
        let post = group_commit::PlainPost { author, body: body.as_str().to_owned() };
        return group_commit::submit(app, input.channel_id, post).await;
    }
    let mut tx = app.begin().await?;
    let now = app.now();
    if let Some(root) = input.thread_root_id {
        let root = messages::Entity::find_by_id(root.0).one(tx.db()).await?;
        let valid = root.is_some_and(|r| r.channel_id == input.channel_id.0 && r.thread_root_id.is_none());
        if !valid {
            return Err(DomainError::invalid("threadRootId", "must be a top-level message of this channel"));
        }
    }
    let seq = store::next_seq(tx.db(), input.channel_id).await?;
    let mut message = store::new_message(input.channel_id, seq, access.user, body.as_str().to_owned(), now);
    message.thread_root_id = input.thread_root_id;
    messages::Entity::insert(store::message_row(&message)).exec_without_returning(tx.db()).await?;
    if let Some(root) = input.thread_root_id {
        messages::Entity::update_many()
            .col_expr(messages::Column::ReplyCount, Expr::col(messages::Column::ReplyCount).add(1))
            .col_expr(messages::Column::LastReplyAt, Expr::value(now))
            .filter(messages::Column::Id.eq(root.0))
            .exec(tx.db())
            .await?;
    }
    if !input.attachment_ids.is_empty() {
        let workspace = access.workspace();
        crate::files::attach_to_message(tx.db(), access.user, workspace, message.id, &input.attachment_ids).await?;
    }
    notify(&mut tx, &access, &body, message.id, seq).await?;
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
/// participant of a direct channel.
async fn notify(tx: &mut Tx, access: &Access, body: &MessageBody, message: MessageId, seq: i64) -> Result<()> {
    if !notifies_anyone(access, body) {
        return Ok(()); // nobody to notify: a plain post costs no member query
    }
    let direct = access.kind() == ChannelKind::Direct;
    let named = body.mentioned_users();
    let members: BTreeSet<UserId> = channel_members::Entity::find()
        .filter(channel_members::Column::ChannelId.eq(access.channel.id))
        .all(tx.db())
        .await?
        .into_iter()
        .map(|m| UserId(m.user_id))
        .collect();
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
    for user in members.iter().filter(|u| **u != access.user) {
        let Some(kind) = kind_for(user) else { continue };
        if kind != "direct_message" {
            mentions::Entity::insert(mentions::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                message_id: Set(message.0),
                channel_id: Set(access.channel.id),
                seq: Set(seq),
                user_id: Set(user.0),
            })
            .exec_without_returning(tx.db())
            .await?;
        }
        let row = notifications::Entity::insert(notifications::ActiveModel {
            id: Set(NotificationId::new().0),
            user_id: Set(user.0),
            workspace_id: Set(access.channel.workspace_id),
            kind: Set(kind.to_owned()),
            channel_id: Set(Some(access.channel.id)),
            message_id: Set(Some(message.0)),
            actor_id: Set(Some(access.user.0)),
            preview: Set(body.preview()),
            created_at: Set(chrono::Utc::now()),
            read_at: Set(None),
        })
        .exec_with_returning(tx.db())
        .await?;
        tx.emit(Event::NotificationCreated(Notification::from(row)));
    }
    Ok(())
}
