//! The event bus seam: publish after commit, subscribe by topic. The in-process backend lives
//! here; the Redis backend lives in `api`, behind the same trait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::events::{Event, Topic};

/// A live stream of one topic's events.
pub type EventStream = BoxStream<'static, Event>;

/// Publish/subscribe by topic. Delivery is at-most-once; resumable streams replay from the database.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Delivers `event` to every subscriber of each of its topics, on every replica.
    ///
    /// # Errors
    /// When the backend cannot accept the event (e.g. Redis unreachable).
    async fn publish(&self, event: Event) -> anyhow::Result<()>;

    /// Publishes `events` in order. A networked bus sends them in one round trip.
    ///
    /// # Errors
    /// As [`EventBus::publish`]; events before the failing one may have been delivered.
    async fn publish_all(&self, events: Vec<Event>) -> anyhow::Result<()> {
        for event in events {
            #[expect(clippy::disallowed_methods, reason = "the default batch is a loop of publishes")]
            self.publish(event).await?;
        }
        Ok(())
    }

    /// Publishes the events of a committed transaction. A bus that can fail keeps what it could
    /// not deliver and retries (see [`Outbox`]); the default is [`EventBus::publish_all`].
    ///
    /// # Errors
    /// As [`EventBus::publish_all`].
    async fn publish_committed(&self, events: Vec<Event>) -> anyhow::Result<()> {
        #[expect(clippy::disallowed_methods, reason = "the default is a plain publish")]
        self.publish_all(events).await
    }

    /// Whether the backend answers now: `None` for a bus with no remote part.
    async fn ping(&self) -> Option<anyhow::Result<()>> {
        None
    }

    /// Subscribes to one topic. The stream ends when the bus shuts down.
    fn subscribe(&self, topic: &Topic) -> EventStream;

    /// Resolves once a subscription to `topic` made before this call receives everything published
    /// from now on (a networked bus waits for its upstream subscription). A reader that subscribes,
    /// awaits this, then reads the database misses nothing between the two.
    async fn subscribed(&self, _topic: &Topic) {}
}

/// Capacity of each topic's ring buffer; a subscriber that falls this far behind skips ahead.
const TOPIC_CAPACITY: usize = 1024;

/// Per-topic tokio broadcast channels, created on first subscribe and dropped with their last subscriber.
#[derive(Default, Clone)]
pub struct LocalFanout {
    topics: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>>,
}

impl LocalFanout {
    /// Sends to local subscribers of `key`; returns how many received it.
    pub fn deliver(&self, key: &str, event: Arc<Event>) -> usize {
        let mut topics = self.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(sender) = topics.get(key) else { return 0 };
        if let Ok(n) = sender.send(event) {
            n
        } else {
            topics.remove(key);
            0
        }
    }

    /// Subscribes locally; `true` in the second field when this is the topic's first live subscriber
    /// (a networked bus then subscribes upstream).
    #[must_use]
    pub fn subscribe(&self, key: &str) -> (EventStream, bool) {
        self.subscribe_then(key, |_| {})
    }

    /// [`subscribe`](Self::subscribe), calling `first` with the key while the topic table is still
    /// locked when this is the topic's first live subscriber: a networked bus queues its upstream
    /// SUBSCRIBE there, so no later subscriber of the topic can ask for a confirmation that
    /// overtakes it.
    pub fn subscribe_then(&self, key: &str, first: impl FnOnce(&str)) -> (EventStream, bool) {
        let mut topics = self.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (receiver, is_first) = match topics.get(key) {
            Some(sender) if sender.receiver_count() > 0 => (sender.subscribe(), false),
            _ => {
                let (sender, receiver) = broadcast::channel(TOPIC_CAPACITY);
                topics.insert(key.to_owned(), sender);
                first(key);
                (receiver, true)
            }
        };
        drop(topics);
        let key = key.to_owned();
        let stream = BroadcastStream::new(receiver).filter_map(move |item| {
            let out = match item {
                Ok(event) => Some((*event).clone()),
                Err(BroadcastStreamRecvError::Lagged(skipped)) => {
                    tracing::warn!(topic = %key, skipped, "subscriber lagged; events skipped");
                    Some(Event::Resync)
                }
            };
            futures::future::ready(out)
        });
        (stream.boxed(), is_first)
    }

    /// Tells every local subscriber that events may have been missed ([`Event::Resync`]): the
    /// upstream connection was lost and is back.
    pub fn resync_all(&self) {
        let topics = self.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let resync = Arc::new(Event::Resync);
        for sender in topics.values() {
            let _ = sender.send(Arc::clone(&resync));
        }
    }

    /// Topic keys that currently have no subscriber (a networked bus unsubscribes them upstream).
    pub fn idle_keys(&self) -> Vec<String> {
        let mut topics = self.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let idle: Vec<String> =
            topics.iter().filter(|(_, s)| s.receiver_count() == 0).map(|(k, _)| k.clone()).collect();
        for key in &idle {
            topics.remove(key);
        }
        idle
    }
}

/// The embedded default: everything stays inside this process.
#[derive(Default, Clone)]
pub struct InProcessBus {
    fanout: LocalFanout,
}

#[async_trait::async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: Event) -> anyhow::Result<()> {
        let event = Arc::new(event);
        for topic in event.topics() {
            self.fanout.deliver(&topic.key(), Arc::clone(&event));
        }
        Ok(())
    }

    fn subscribe(&self, topic: &Topic) -> EventStream {
        self.fanout.subscribe(&topic.key()).0
    }
}
