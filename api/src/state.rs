//! What every handler shares: the application context, the schema and the transport's settings.
//! Everything else in `api` imports this; this imports nothing of `api` but configuration and the
//! leaf modules it holds values of.

use std::sync::Arc;

use stoa_domain::AppCtx;
use stoa_schema::{Limits, StoaSchema};

use crate::config::WsConfig;

/// Who may read `/metrics` on the API port.
#[derive(Clone)]
pub enum MetricsAccess {
    /// Anyone (development without a token).
    Open,
    /// Nobody: production without `STOA_METRICS_TOKEN`.
    Hidden,
    /// Requests bearing this token.
    Token(secrecy::SecretString),
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub app: AppCtx,
    pub schema: StoaSchema,
    /// The schema for documents that select only introspection fields (deeper depth limit).
    pub introspection: StoaSchema,
    pub limits: Arc<Limits>,
    /// Parsed documents by query text.
    pub docs: Arc<crate::gql::DocCache>,
    /// The same for instance operators, checked under `operator_limits` (kept apart, so a document
    /// only an operator may run is never found in the others' cache).
    pub operator_docs: Arc<crate::gql::DocCache>,
    /// `limits` with introspection allowed: what an operator's documents are checked against.
    pub operator_limits: Arc<Limits>,
    pub ws: Arc<WsConfig>,
    pub max_body_bytes: usize,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub ops: Arc<crate::ratelimit::OpLimiter>,
    /// Who may read `/metrics`.
    pub metrics_access: MetricsAccess,
    /// Open sockets by session family, closed when their session is revoked.
    pub sockets: Arc<crate::sessions::SocketSessions>,
    /// Proxies whose forwarding headers name the client.
    pub proxies: Arc<crate::client_addr::TrustedProxies>,
    /// The OpenID providers users may sign in with.
    pub oidc: Arc<crate::oidc::Oidc>,
    /// Subscription groups that share renders.
    pub groups: Arc<crate::ws::groups::RenderGroups>,
    /// Whether `/` serves the playground (`STOA_PLAYGROUND`).
    pub playground: bool,
    /// What `/readyz` answers, from the background probe.
    pub readiness: Arc<crate::readiness::Readiness>,
}
