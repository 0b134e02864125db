//! Group commit for plain posts. A channel's events are ordered by the row lock on its
//! `last_seq`, held from the sequence update to the commit, so a busy channel takes one commit at
//! a time. Posts that arrive while a commit is running wait together and go in the next one: one
//! transaction, one sequence update, one multi-row insert of messages and of events, one commit.
//! Each waiting post gets its own result; a failed group fails every post in it and stores none.
//!
//! Only plain posts take this path (no thread, attachment or notification): those steps can fail
//! for one post alone, so such posts keep their own transaction. Both paths take the same row
//! lock, so sequence order still equals commit order.
//!
//! Access is checked for the whole group inside its transaction, in one statement: whether each
//! poster may post here (a workspace member, a channel member, the channel not archived), and the
//! name their message shows. A poster refused there gets the error the single-post path would give
//! (`NOT_FOUND` or `FORBIDDEN`) and stores nothing; the others' posts commit.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::FutureExt as _;
use sea_orm::EntityTrait as _;
use stoa_entities::messages;
use tokio::sync::oneshot;

use crate::app::AppCtx;
use crate::chat::model::{AuthorCard, ChannelKind, ChatEvent, ChatEventKind, MessageSnapshot};
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::ids::{ChannelId, UserId};

/// The most posts one commit takes (bounded so a group's statements stay small).
const MAX_GROUP: usize = 128;

/// A validated post waiting for its group; whether its author may post is asked in the group.
pub(crate) struct PlainPost {
    pub author: UserId,
    pub body: String,
}

struct Waiting {
    post: PlainPost,
    reply: oneshot::Sender<Result<MessageSnapshot>>,
}

/// Channels with a commit running, and the posts waiting for the next one. A channel is present
/// exactly while its runner task lives.
#[derive(Default)]
pub struct PostGroups {
    queues: Mutex<HashMap<ChannelId, Vec<Waiting>>>,
    /// Channel kinds seen (a kind never changes after creation): a plain post to a known channel
    /// that is not direct goes to its group without a read of its own.
    kinds: Mutex<HashMap<ChannelId, ChannelKind>>,
}

/// Kinds remembered at most; the map starts over beyond it.
const KINDS: usize = 10_000;

impl PostGroups {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Vec<Waiting>>> {
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn kinds(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, ChannelKind>> {
        self.kinds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The kind of `channel`, if a post here has read it before.
    pub(crate) fn kind(&self, channel: ChannelId) -> Option<ChannelKind> {
        self.kinds().get(&channel).copied()
    }

    pub(crate) fn remember_kind(&self, channel: ChannelId, kind: ChannelKind) {
        let mut kinds = self.kinds();
        if kinds.len() >= KINDS {
            kinds.clear();
        }
        kinds.insert(channel, kind);
    }
}

/// Queues `post` for `channel`'s next commit and waits for it.
///
/// # Errors
/// `Internal` when the group's transaction fails (nothing of the group is stored).
pub(crate) async fn submit(app: &AppCtx, channel: ChannelId, post: PlainPost) -> Result<MessageSnapshot> {
    let (reply, result) = oneshot::channel();
    let start = {
        let mut queues = app.post_groups().lock();
        // A channel in the map has a runner (it may have drained the list already).
        if let Some(waiting) = queues.get_mut(&channel) {
            waiting.push(Waiting { post, reply });
            false
        } else {
            queues.insert(channel, vec![Waiting { post, reply }]);
            true
        }
    };
    if start {
        // Its own task: a client that disconnects must not cancel other posts' commit.
        tokio::spawn(run(app.clone(), channel));
    }
    result.await.map_err(|_| DomainError::Internal(anyhow::anyhow!("post group ended without an answer")))?
}

/// Removes a runner's channel entry if the runner dies without doing so itself (its task aborted
/// at shutdown): the waiters left in it are answered with an error (their senders drop) and the
/// next post starts a new runner instead of queueing behind a dead one.
struct Vacate<'a> {
    app: &'a AppCtx,
    channel: ChannelId,
    armed: bool,
}

impl Drop for Vacate<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.app.post_groups().lock().remove(&self.channel);
        }
    }
}

/// Commits groups for `channel` until nobody waits.
async fn run(app: AppCtx, channel: ChannelId) {
    let mut vacate = Vacate { app: &app, channel, armed: true };
    loop {
        let group: Vec<Waiting> = {
            let mut queues = app.post_groups().lock();
            match queues.get_mut(&channel) {
                Some(waiting) if !waiting.is_empty() => {
                    let n = waiting.len().min(MAX_GROUP);
                    waiting.drain(..n).collect()
                }
                _ => {
                    queues.remove(&channel);
                    vacate.armed = false; // removed under the lock; a new runner may own the key next
                    return;
                }
            }
        };
        let (posts, replies): (Vec<PlainPost>, Vec<_>) = group.into_iter().map(|w| (w.post, w.reply)).unzip();
        let outcome = std::panic::AssertUnwindSafe(commit(&app, channel, posts))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(DomainError::Internal(anyhow::anyhow!("panicked"))));
        match outcome {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %format_args!("{e:#}"), channel = %channel, "post group failed");
                for reply in replies {
                    let _ = reply.send(Err(e.for_waiter()));
                }
            }
        }
    }
}

/// One transaction for the whole group: the posters' access, the sequence numbers, the messages
/// and the events, whatever its size. Each post gets its own result: refused posters their error.
async fn commit(app: &AppCtx, channel: ChannelId, posts: Vec<PlainPost>) -> Result<Vec<Result<MessageSnapshot>>> {
    let mut tx = app.begin().await?;
    let mut posters: Vec<UserId> = posts.iter().map(|p| p.author).collect();
    posters.sort();
    posters.dedup();
    let verdicts = store::posters_access(tx.db(), channel, &posters, app.now()).await?;
    let verdict = |user: &UserId| -> Result<AuthorCard> {
        match verdicts.get(user) {
            Some(Ok(name)) => Ok(AuthorCard { id: *user, display_name: name.clone() }),
            Some(Err(refused)) => Err(refused.error()),
            None => Err(DomainError::NotFound("channel")),
        }
    };
    let checked: Vec<Result<(AuthorCard, String)>> =
        posts.into_iter().map(|p| verdict(&p.author).map(|author| (author, p.body))).collect();
    let count = i64::try_from(checked.iter().filter(|c| c.is_ok()).count()).map_err(anyhow::Error::from)?;
    if count == 0 {
        // Every poster was refused (each entry is its error): nothing to write.
        return Ok(checked.into_iter().filter_map(Result::err).map(Err).collect());
    }
    let last = store::next_seqs(tx.db(), channel, count).await?;
    let now = app.now();
    let mut seqs = last - count + 1..;
    let results: Vec<Result<MessageSnapshot>> = checked
        .into_iter()
        .map(|c| {
            c.map(|(author, body)| MessageSnapshot {
                message: store::new_message(channel, seqs.next().unwrap_or(last), author.id, body, now),
                author,
                reactions: Vec::new(),
            })
        })
        .collect();
    let snapshots: Vec<&MessageSnapshot> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    messages::Entity::insert_many(snapshots.iter().map(|s| store::message_row(&s.message)))
        .exec_without_returning(tx.db())
        .await?;
    let events = snapshots
        .iter()
        .map(|s| ChatEvent {
            channel_id: channel,
            seq: s.message.seq,
            kind: ChatEventKind::Posted,
            snapshot: (*s).clone(),
        })
        .collect();
    store::record_events(&mut tx, events).await?;
    tx.commit().await?;
    Ok(results)
}
