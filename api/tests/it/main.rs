//! The one integration binary: the real server on a random port, driven over HTTP and WebSocket.
//! Runs on `SQLite` + in-process bus by default, and on Postgres + Redis when `TEST_DATABASE_URL`
//! and `TEST_REDIS_URL` are set.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod helpers;

mod abuse;
mod access_matrix;
mod accounts;
mod addresses;
mod backup;
mod chat;
mod community;
mod config;
mod faults;
mod files;
mod groups;
mod identity;
mod oidc;
mod operators;
mod redaction;
mod removal;
mod sessions;
mod tickets;
mod transport;
mod trusted;
mod workspaces;
mod ws;
