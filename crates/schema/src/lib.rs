//! Stoa's GraphQL schema: thin resolvers over `stoa-domain`, one module per feature, merged roots.
//!
//! Resolvers extract, convert, make one domain call, and convert back. They never touch the
//! database and never decide who may do what.

pub mod audit;
pub mod context;
pub mod error;
pub mod identity;
pub mod limits;
pub mod workspaces;

use async_graphql::dataloader::DataLoader;
use async_graphql::{MergedObject, MergedSubscription, Schema};
use stoa_domain::AppCtx;

pub use context::{ClientIp, RequestActor};
pub use limits::Limits;

/// The query root.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(identity::IdentityQuery, workspaces::WorkspaceQuery, audit::AuditQuery);

/// The mutation root.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(identity::IdentityMutation, workspaces::WorkspaceMutation);

/// The subscription root.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(workspaces::WorkspaceSubscription);

/// The executable schema.
pub type StoaSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with the app context and the configured limits.
#[must_use]
pub fn build(app: Option<AppCtx>, limits: &Limits) -> StoaSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_directives(limits.max_directives)
    .limit_recursive_depth(limits.max_nesting.max(32));
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !limits.suggestions {
        builder = builder.disable_suggestions();
    }
    if let Some(app) = app {
        builder = builder.data(app);
    }
    builder.finish()
}

/// The SDL, as `stoa schema` prints it and `client-gen` commits it.
#[must_use]
pub fn sdl() -> String {
    build(None, &Limits::default()).sdl()
}

/// Per-request data loaders; built in the transport for each request or socket.
#[must_use]
pub fn loaders(app: &AppCtx) -> DataLoader<identity::UserCards> {
    DataLoader::new(identity::UserCards::new(app.clone()), tokio::spawn)
}
