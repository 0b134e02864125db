//! The `stoa` binary's library: configuration, wiring of backends, the HTTP and WebSocket
//! transport, and the CLI commands. Holds no business rules.

pub mod adapters;
pub mod backup;
pub mod client_addr;
pub mod config;
pub mod files;
pub mod gql;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod playground;
pub mod ratelimit;
pub mod readiness;
pub mod router;
pub mod secret;
pub mod seed;
pub mod server;
pub mod sessions;
pub mod state;
pub mod trusted;
pub mod workers;
pub mod ws;

pub use config::Config;
pub use server::Server;
