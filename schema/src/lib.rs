//! Stoa's GraphQL schema: thin resolvers over `stoa-domain`, one module per feature, merged roots.
//!
//! Resolvers extract, convert, make one domain call, and convert back. They never touch the
//! database and never decide who may do what.

pub mod audit;
pub mod chat;
pub mod context;
pub mod error;
pub mod error_codes;
pub mod fanout;
pub mod files;
pub mod identity;
pub mod limits;
pub mod pagination;
pub mod tickets;
pub mod workspaces;

use async_graphql::dataloader::DataLoader;
use async_graphql::{MergedObject, MergedSubscription, Schema};
use stoa_domain::AppCtx;

pub use context::{ClientIp, RequestActor};
pub use limits::Limits;

/// The query root.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    identity::IdentityQuery,
    workspaces::WorkspaceQuery,
    workspaces::CommunityQuery,
    audit::AuditQuery,
    chat::ChatQuery,
    files::FilesQuery,
    files::FilesAdminQuery,
    tickets::TicketQuery,
    tickets::ApprovalQuery,
);

/// The mutation root.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    identity::IdentityMutation,
    workspaces::WorkspaceMutation,
    workspaces::CommunityMutation,
    chat::ChatMutation,
    files::FilesMutation,
    files::FilesAdminMutation,
    tickets::TicketMutation,
    tickets::ApprovalMutation,
);

/// The subscription root.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(
    workspaces::WorkspaceSubscription,
    chat::ChatSubscription,
    files::FilesSubscription,
    tickets::TicketSubscription,
);

/// A connection as every list field returns it.
type Page<T> = async_graphql::connection::Connection<
    String,
    T,
    async_graphql::connection::EmptyFields,
    async_graphql::connection::EmptyFields,
>;

/// The executable schema.
pub type StoaSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with the app context and the configured limits.
#[must_use]
pub fn build(app: Option<AppCtx>, limits: &Limits) -> StoaSchema {
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives)
        .limit_recursive_depth(limits.max_nesting.max(32))
        // No field returns it: registered so the SDL, and the generated client, carry every code.
        .register_output_type::<error_codes::ErrorCode>()
        // async-graphql's connection types carry no description of their own.
        .override_output_type_description::<Page<workspaces::Member>>(
            "A page of a workspace's members: `edges` (each with its cursor), `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<workspaces::UndeliveredMail>>(
            "A page of mail that could not be delivered: `edges` (each with its cursor), `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<audit::AuditEntry>>(
            "A page of the audit log, newest first: `edges` (each with its cursor), `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<chat::Channel>>(
            "A page of channels: `edges` (each with its cursor), `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<chat::Message>>(
            "A page of messages: `edges` (each with its cursor, the message's `seq`), `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<chat::Notification>>(
            "A page of notifications: `edges` (each with its cursor), `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<tickets::Ticket>>(
            "A page of tickets: `edges` (each with its cursor), `nodes`, and `pageInfo`.",
        );
    // Introspection, when switched off, is refused per request by the transport (an instance
    // operator may still introspect): `limits::check_document` and `Request::disable_introspection`.
    if !limits.suggestions {
        builder = builder.disable_suggestions();
    }
    if let Some(app) = app {
        builder = builder.data(app);
    }
    builder.finish()
}

/// How deep the standard introspection query nests (graphql-js `getIntrospectionQuery`, which
/// GraphiQL, codegen and Apollo's tools send): 15, over the default depth limit of 12.
pub const INTROSPECTION_DEPTH: usize = 15;

/// The schema that runs documents selecting only introspection fields (`__schema`, `__type`,
/// `__typename`): the same, with the depth limit raised to [`INTROSPECTION_DEPTH`] (every other
/// limit, complexity included, stays).
#[must_use]
pub fn build_for_introspection(app: Option<AppCtx>, limits: &Limits) -> StoaSchema {
    let limits = Limits { max_depth: limits.max_depth.max(INTROSPECTION_DEPTH), ..limits.clone() };
    build(app, &limits)
}

/// The SDL, as `stoa schema` prints it and `client-gen` commits it.
#[must_use]
pub fn sdl() -> String {
    build(None, &Limits::default()).sdl()
}

/// Attaches the per-request data loaders, scoped to one request and one actor.
#[must_use]
pub fn with_loaders(
    request: async_graphql::Request,
    app: &AppCtx,
    user: Option<stoa_domain::ids::UserId>,
) -> async_graphql::Request {
    request
        .data(DataLoader::new(identity::UserCards::new(app.clone()), tokio::spawn))
        .data(DataLoader::new(identity::AvatarKeys(app.clone()), tokio::spawn))
        .data(DataLoader::new(chat::ReactionsLoader(app.clone()), tokio::spawn))
        .data(DataLoader::new(chat::ThreadParticipantsLoader(app.clone()), tokio::spawn))
        .data(DataLoader::new(chat::UnreadLoader(app.clone(), user), tokio::spawn))
        .data(DataLoader::new(files::AttachmentsLoader(app.clone()), tokio::spawn))
}
