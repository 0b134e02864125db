//! Stoa's business rules: identity, workspaces, authorization, audit, events.
//!
//! Every use case takes the acting [`Actor`] explicitly, opens at most one transaction through
//! [`AppCtx::begin`], and publishes its events only after that transaction commits. Nothing here knows
//! about GraphQL, HTTP, Redis or apalis: those adapters plug in through the traits in [`ports`].

pub mod actor;
pub mod app;
pub mod audit;
pub mod authz;
pub mod chat;
pub mod error;
pub mod events;
pub mod files;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod mail;
pub mod pagination;
pub mod ports;
mod recheck;
pub mod tickets;
pub mod tx;
pub mod workspaces;

pub use actor::Actor;
pub use app::{AccountSettings, AppCtx, AppDeps, AuthSettings, ChatSettings, JobPool};
pub use error::{DomainError, Result};
