//! Committed events that could not be published are not dropped: an [`Outbox`] in front of a
//! networked bus keeps them, in order, and a background task publishes them when the bus answers
//! again. While anything waits, later committed events queue behind it, so subscribers see one
//! order. The outbox is bounded; what overflows it (or dies with the process) is still in the
//! database's event log, which resumable streams read on their next gap or [`Event::Resync`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::events::{Event, Topic};
use crate::ports::bus::{EventBus, EventStream};
use crate::ports::health::Health;

/// Events kept at most; beyond this the oldest are dropped (and counted).
const CAPACITY: usize = 100_000;
/// Events sent per retry.
const BATCH: usize = 512;
/// The first and the longest pause between retries.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(2);

/// Deferred events in commit order, each numbered, so a retry removes exactly what it sent even
/// when a full outbox dropped some of them meanwhile.
#[derive(Default)]
struct Pending {
    events: VecDeque<(u64, Event)>,
    next: u64,
}

/// A bus whose committed publishes are retried until delivered.
pub struct Outbox {
    inner: Arc<dyn EventBus>,
    pending: Arc<Mutex<Pending>>,
    /// Events kept at most ([`CAPACITY`]; smaller in tests).
    capacity: usize,
    wake: Arc<tokio::sync::Notify>,
    health: Arc<Health>,
}

impl Outbox {
    /// Wraps `inner` and starts the retry task (it ends when the outbox is dropped).
    #[must_use]
    pub fn new(inner: Arc<dyn EventBus>, health: Arc<Health>) -> Arc<Self> {
        Self::with_capacity(inner, health, CAPACITY)
    }

    fn with_capacity(inner: Arc<dyn EventBus>, health: Arc<Health>, capacity: usize) -> Arc<Self> {
        let outbox = Arc::new(Self { inner, pending: Arc::default(), capacity, wake: Arc::default(), health });
        tokio::spawn(retry_loop(Arc::downgrade(&outbox)));
        outbox
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `events` for the retry task.
    fn defer(&self, events: Vec<Event>) {
        let mut pending = self.lock();
        for event in events {
            if pending.events.len() >= self.capacity {
                pending.events.pop_front();
                Health::bump(&self.health.publish_dropped);
            }
            let number = pending.next;
            pending.next += 1;
            pending.events.push_back((number, event));
            Health::bump(&self.health.publish_deferred);
        }
        drop(pending);
        self.wake.notify_one();
    }

    /// Events waiting for the bus.
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.lock().events.len()
    }

    /// One retry: `Ok(true)` when the outbox is empty afterwards.
    async fn flush(&self) -> anyhow::Result<bool> {
        let batch: Vec<(u64, Event)> = self.lock().events.iter().take(BATCH).cloned().collect();
        let Some(&(last, _)) = batch.last() else { return Ok(true) };
        let batch: Vec<Event> = batch.into_iter().map(|(_, event)| event).collect();
        #[expect(clippy::disallowed_methods, reason = "the outbox delivers committed events")]
        self.inner.publish_all(batch).await?;
        let mut pending = self.lock();
        // Sent: everything numbered up to `last` that is still here (a full outbox may have
        // dropped some of them meanwhile; nothing behind them is touched).
        while pending.events.front().is_some_and(|(n, _)| *n <= last) {
            pending.events.pop_front();
            Health::bump(&self.health.publish_retried);
        }
        Ok(pending.events.is_empty())
    }
}

async fn retry_loop(outbox: std::sync::Weak<Outbox>) {
    let mut delay = FIRST_RETRY;
    loop {
        let Some(this) = outbox.upgrade() else { return };
        let wake = Arc::clone(&this.wake);
        match this.flush().await {
            Ok(true) => {
                delay = FIRST_RETRY;
                drop(this);
                wake.notified().await;
            }
            Ok(false) => delay = FIRST_RETRY,
            Err(e) => {
                let waiting = this.waiting();
                drop(this);
                tracing::debug!(error = %format_args!("{e:#}"), waiting, "outbox: bus still unreachable");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    }
}

#[async_trait::async_trait]
impl EventBus for Outbox {
    async fn publish(&self, event: Event) -> anyhow::Result<()> {
        #[expect(clippy::disallowed_methods, reason = "ephemeral events pass straight through")]
        self.inner.publish(event).await
    }

    async fn publish_all(&self, events: Vec<Event>) -> anyhow::Result<()> {
        #[expect(clippy::disallowed_methods, reason = "ephemeral events pass straight through")]
        self.inner.publish_all(events).await
    }

    async fn publish_committed(&self, events: Vec<Event>) -> anyhow::Result<()> {
        if self.waiting() > 0 {
            // Behind earlier events that wait: keeps one order, and costs no doomed round trip.
            self.defer(events);
            return Ok(());
        }
        #[expect(clippy::disallowed_methods, reason = "the outbox delivers committed events")]
        let sent = self.inner.publish_all(events.clone()).await;
        if let Err(e) = sent {
            tracing::warn!(error = %format_args!("{e:#}"), events = events.len(), "publish failed after commit; kept for retry");
            self.defer(events);
        }
        Ok(())
    }

    async fn ping(&self) -> Option<anyhow::Result<()>> {
        self.inner.ping().await
    }

    fn subscribe(&self, topic: &Topic) -> EventStream {
        self.inner.subscribe(topic)
    }

    async fn subscribed(&self, topic: &Topic) {
        self.inner.subscribed(topic).await;
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "the test drives the outbox directly")]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A bus that refuses while `down` is set, waits for a permit of `gate` while `hold` is set,
    /// and records what it delivered.
    struct Flaky {
        down: AtomicBool,
        hold: AtomicBool,
        gate: tokio::sync::Semaphore,
        delivered: Mutex<Vec<String>>,
    }

    impl Default for Flaky {
        fn default() -> Self {
            Self {
                down: AtomicBool::new(false),
                hold: AtomicBool::new(false),
                gate: tokio::sync::Semaphore::new(0),
                delivered: Mutex::default(),
            }
        }
    }

    #[async_trait::async_trait]
    impl EventBus for Flaky {
        async fn publish(&self, event: Event) -> anyhow::Result<()> {
            self.publish_all(vec![event]).await
        }

        async fn publish_all(&self, events: Vec<Event>) -> anyhow::Result<()> {
            if self.down.load(Ordering::SeqCst) {
                anyhow::bail!("down");
            }
            if self.hold.load(Ordering::SeqCst) {
                self.gate.acquire().await?.forget();
            }
            let mut delivered = self.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            delivered.extend(events.iter().map(|e| format!("{e:?}")));
            Ok(())
        }

        fn subscribe(&self, _topic: &Topic) -> EventStream {
            Box::pin(futures::stream::empty())
        }
    }

    fn event(n: u32) -> Event {
        Event::TypingChanged {
            channel_id: crate::ids::ChannelId(uuid::Uuid::from_u128(u128::from(n))),
            user_id: crate::ids::UserId(uuid::Uuid::nil()),
            display_name: n.to_string(),
            typing: true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn committed_events_published_while_the_bus_is_down_arrive_in_order_when_it_returns() {
        let flaky = Arc::new(Flaky::default());
        let health = Arc::new(Health::default());
        let outbox = Outbox::new(Arc::clone(&flaky) as Arc<dyn EventBus>, Arc::clone(&health));
        let _ = outbox.publish_committed(vec![event(1)]).await;
        flaky.down.store(true, Ordering::SeqCst);
        for n in 2..=5 {
            let _ = outbox.publish_committed(vec![event(n)]).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(outbox.waiting(), 4, "kept while down");
        flaky.down.store(false, Ordering::SeqCst);
        let _ = outbox.publish_committed(vec![event(6)]).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(outbox.waiting(), 0);
        let delivered = flaky.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let expected: Vec<String> = (1..=6).map(|n| format!("{:?}", event(n))).collect();
        assert_eq!(delivered, expected, "every event once, in commit order");
        assert_eq!(Health::read(&health.publish_deferred), 5);
        assert_eq!(Health::read(&health.publish_retried), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_outbox_dropping_events_of_a_retry_in_flight_keeps_the_ones_behind_them() {
        let flaky = Arc::new(Flaky::default());
        let health = Arc::new(Health::default());
        let outbox = Outbox::with_capacity(Arc::clone(&flaky) as Arc<dyn EventBus>, Arc::clone(&health), 4);
        flaky.down.store(true, Ordering::SeqCst);
        for n in 1..=4 {
            let _ = outbox.publish_committed(vec![event(n)]).await;
        }
        // The bus answers again but holds the retry of 1–4 in flight; 5 and 6 arrive meanwhile and
        // the full outbox drops 1 and 2 (which the retry is sending anyway).
        flaky.hold.store(true, Ordering::SeqCst);
        flaky.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(3)).await;
        for n in 5..=6 {
            let _ = outbox.publish_committed(vec![event(n)]).await;
        }
        assert_eq!(Health::read(&health.publish_dropped), 2);
        flaky.hold.store(false, Ordering::SeqCst);
        flaky.gate.add_permits(1);
        let _ = outbox.publish_committed(vec![event(7)]).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(outbox.waiting(), 0);
        let delivered = flaky.delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let expected: Vec<String> = (1..=7).map(|n| format!("{:?}", event(n))).collect();
        assert_eq!(delivered, expected, "5 and 6 are not lost with the batch that was in flight");
    }
}
