//! The event bus over Redis pub/sub: ONE subscriber connection per process, demultiplexed locally
//! into per-topic broadcast channels, so ten thousand GraphQL subscriptions cost one Redis
//! connection. When the connection drops it reconnects with backoff and re-subscribes every live
//! topic; events published meanwhile are lost (pub/sub is at-most-once), so resumable streams
//! replay from the database.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use redis::aio::ConnectionManager;
use stoa_domain::events::{Event, Topic};
use stoa_domain::ports::bus::{EventBus, EventStream, LocalFanout};
use tokio::sync::mpsc;

/// A subscription change for the connection task.
enum Command {
    Subscribe(String),
    /// Answered once every earlier `Subscribe` is acknowledged by Redis.
    Confirm(tokio::sync::oneshot::Sender<()>),
}

/// Redis-backed [`EventBus`].
pub struct RedisBus {
    prefix: String,
    /// Each publish, ping and subscription confirmation waits at most this long.
    deadline: Duration,
    publisher: ConnectionManager,
    fanout: LocalFanout,
    commands: mpsc::UnboundedSender<Command>,
}

impl RedisBus {
    /// Connects the publisher and starts the subscriber task.
    ///
    /// # Errors
    /// When Redis is unreachable at start.
    pub async fn connect(url: &str, prefix: &str, deadline: Duration) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let publisher = super::manager(url, deadline).await?;
        // Fail at start, not on first subscribe, when Redis is not there.
        super::within(deadline * 4, client.get_async_pubsub()).await?;
        let fanout = LocalFanout::default();
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(subscriber_loop(client, format!("{prefix}:bus:"), fanout.clone(), rx));
        Ok(Arc::new(Self { prefix: format!("{prefix}:bus:"), deadline, publisher, fanout, commands }))
    }
}

#[async_trait::async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: Event) -> anyhow::Result<()> {
        let payload = serde_json::to_string(&event)?;
        let mut conn = self.publisher.clone();
        for topic in event.topics() {
            let channel = format!("{}{}", self.prefix, topic.key());
            let _: i64 =
                super::within(self.deadline, redis::cmd("PUBLISH").arg(&channel).arg(&payload).query_async(&mut conn))
                    .await?;
        }
        Ok(())
    }

    async fn publish_all(&self, events: Vec<Event>) -> anyhow::Result<()> {
        let mut pipe = redis::pipe();
        for event in &events {
            let payload = serde_json::to_string(event)?;
            for topic in event.topics() {
                pipe.cmd("PUBLISH").arg(format!("{}{}", self.prefix, topic.key())).arg(&payload).ignore();
            }
        }
        let mut conn = self.publisher.clone();
        let () = super::within(self.deadline, pipe.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn ping(&self) -> Option<anyhow::Result<()>> {
        let mut conn = self.publisher.clone();
        Some(super::within(self.deadline, redis::cmd("PING").query_async::<String>(&mut conn)).await.map(|_| ()))
    }

    async fn subscribed(&self, _topic: &Topic) {
        let (done, confirmed) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Confirm(done)).is_ok()
            && tokio::time::timeout(self.deadline, confirmed).await.is_err()
        {
            // Redis is away: go on; the subscriber loop resyncs every stream when it is back.
            tracing::debug!("redis bus: subscription not confirmed in time; events may arrive late");
        }
    }

    fn subscribe(&self, topic: &Topic) -> EventStream {
        let key = topic.key();
        let (stream, _) = self.fanout.subscribe_then(&key, |key| {
            let _ = self.commands.send(Command::Subscribe(key.to_owned()));
        });
        stream
    }
}

async fn subscriber_loop(
    client: redis::Client,
    prefix: String,
    fanout: LocalFanout,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut subscribed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut backoff = Duration::from_millis(100);
    let mut reconnecting = false;
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(1), client.get_async_pubsub()).await;
        let pubsub = match attempt.map_err(|_| anyhow::anyhow!("no connection within 1 s")).and_then(|r| Ok(r?)) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %format_args!("{e:#}"), "redis bus: connect failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let (mut sink, mut stream) = pubsub.split();
        let mut healthy = true;
        for key in &subscribed {
            if sink.subscribe(format!("{prefix}{key}")).await.is_err() {
                healthy = false;
            }
        }
        if healthy && reconnecting {
            // Events published while the connection was down never reach this replica: every
            // local stream is told to read the database for what it missed.
            tracing::info!(topics = subscribed.len(), "redis bus: subscriber reconnected; resyncing streams");
            fanout.resync_all();
        }
        reconnecting = true;
        let mut sweep = tokio::time::interval(Duration::from_secs(30));
        while healthy {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    let channel = msg.get_channel_name().to_owned();
                    let Some(key) = channel.strip_prefix(&prefix) else { continue };
                    match msg.get_payload::<String>().map_err(anyhow::Error::from)
                        .and_then(|p| serde_json::from_str::<Event>(&p).map_err(anyhow::Error::from)) {
                        Ok(event) => { fanout.deliver(key, Arc::new(event)); }
                        Err(e) => {
                            tracing::warn!(error = %format_args!("{e:#}"), %channel, "redis bus: undecodable event");
                        }
                    }
                }
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(Command::Subscribe(key)) => {
                        if subscribed.insert(key.clone()) && sink.subscribe(format!("{prefix}{key}")).await.is_err() {
                            healthy = false;
                        }
                    }
                    // Commands run in order: every earlier SUBSCRIBE has been acknowledged.
                    Some(Command::Confirm(done)) => { let _ = done.send(()); }
                },
                _ = sweep.tick() => {
                    for key in fanout.idle_keys() {
                        subscribed.remove(&key);
                        let _ = sink.unsubscribe(format!("{prefix}{key}")).await;
                    }
                }
            }
        }
        tracing::warn!("redis bus: subscriber connection lost; reconnecting");
    }
}
