//! The seams between the rules and the machinery they run on. Each is a small trait with the
//! in-process implementation beside it (the embedded default); the networked ones (Redis bus,
//! limiter and presence, clamd, the apalis queue) live in `api` and `workers` and are chosen once,
//! from configuration, in `api`. Use cases never see which one runs: they reach every seam through
//! [`AppCtx`](crate::AppCtx).
//!
//! | seam | trait | in-process | networked |
//! |---|---|---|---|
//! | events | [`bus::EventBus`] | [`bus::InProcessBus`] | `RedisBus` (api) |
//! | rate limits | [`ratelimit::RateLimiter`] | [`ratelimit::InProcessLimiter`] | `RedisLimiter` (api) |
//! | presence | [`presence::PresenceStore`] | [`presence::InProcessPresence`] | `RedisPresence` (api) |
//! | virus scan | [`scanner::Scanner`] | [`scanner::BuiltinScanner`] | `ClamdScanner` (api) |
//! | jobs | [`jobs::JobQueue`] | `InlineQueue` (workers) | apalis `JobStorage` (workers) |
//! | mail | [`mailer::Mailer`] | `.eml` files in `./data/outbox/` (api) | SMTP via `lettre` (api) |
//! | time | [`clock::Clock`] | [`clock::SystemClock`] | |
//!
//! [`outbox::Outbox`] sits in front of a networked bus and retries committed publishes;
//! [`health::Health`] holds what `/readyz` and `/metrics` report about all of them.

pub mod bus;
pub mod clock;
pub mod health;
pub mod jobs;
pub mod mailer;
pub mod outbox;
pub mod presence;
pub mod ratelimit;
pub mod scanner;
