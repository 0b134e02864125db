//! GraphQL surface of chat: channels, DMs, messages, threads, reactions, pins, read receipts,
//! search, notifications, typing and presence.

mod loaders;
mod mutation;
mod query;
mod subscription;
mod types;

pub(crate) use types::{Channel, Message, Notification};

pub use loaders::{ReactionsLoader, ThreadParticipantsLoader, UnreadLoader};
pub use mutation::ChatMutation;
pub use query::ChatQuery;
pub use subscription::ChatSubscription;
