//! Chat: channels (public, private, direct), messages with per-channel sequence numbers, threads,
//! mentions, reactions, pins, read receipts, search, notifications, typing, presence, and the
//! resumable event stream.
//!
//! Owns `channels`, `channel_members`, `messages`, `reactions`, `mentions`, `channel_events` and
//! `notifications`. Every numbered change goes through [`store::record_event`] so that replay and
//! live delivery agree.

mod body;
mod channel_lifecycle;
mod channels;
pub(crate) mod create_channel;
mod delete_message;
mod edit_message;
mod group_commit;
mod history;
mod mark_read;
mod membership;
mod model;
mod notifications;
mod open_direct;
mod pin_message;
mod post_message;
pub mod presence;
mod search;
pub(crate) mod store;
mod stream;
mod toggle_reaction;
mod typing;

pub use body::MessageBody;
pub use channel_lifecycle::{
    ChannelChange, ChannelChangeKind, UpdateChannel, channel_changes, delete_channel, purge_channel, set_archived,
    unpurged_channels, update_channel,
};
pub use channels::{channel, channels, unread_counts};
pub use create_channel::{CreateChannel, create_channel};
pub use delete_message::delete_message;
pub use edit_message::edit_message;
pub use group_commit::PostGroups;
pub use history::{
    Related, SeqPage, SeqWindow, Wanted, channel_history, history, message, reactions_by_messages, thread,
    thread_participants,
};
pub use mark_read::mark_read;
pub use membership::{add_channel_member, join_channel, remove_channel_member};
pub use model::{
    AuthorCard, Channel, ChannelKind, ChatEvent, ChatEventKind, Message, MessageSnapshot, Notification, PresenceStatus,
    ReactionSummary, UnreadCounts,
};
pub use notifications::{mark_notifications_read, notification_events, notifications, unread_notification_count};
pub use open_direct::open_direct;
pub use pin_message::pin_message;
pub use post_message::{PostMessage, post_message};
pub use search::{SearchPage, search};
pub use stream::channel_events;
pub use toggle_reaction::toggle_reaction;
pub use typing::{TYPING_TTL, TypingChange, set_typing, typing_events};
