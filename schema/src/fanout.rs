//! Render once, deliver many: the schema's half. A transport that groups identical `channelEvents`
//! subscriptions attaches [`EventTap`] to each member's request. The executor runs the member's
//! start as usual (validation, arguments, the access check), and the resolver then hands the
//! member's own event stream (replay, gap-fill, its end on removal) to the transport instead of
//! to the executor; the transport drops the executor's stream, renders each event once per group
//! with [`RenderOne`], and sends the same bytes to every member.
//!
//! Fields whose value depends on who is looking are declared in [`VIEWER_DEPENDENT`]: a document
//! selecting any of them is grouped per viewer, never across viewers. A test walks every field a
//! `channelEvents` document can reach and fails on one that is in neither list, so a new
//! viewer-dependent field cannot silently share.

use std::sync::Arc;

use stoa_domain::chat::ChatEvent;
use stoa_domain::tickets::{QueueEvent, TicketEvent};

/// One live event a group renders: the allocation every local subscriber of its topic holds, so
/// members of a group recognise the same event by pointer.
#[derive(Debug, Clone)]
pub enum SharedEvent {
    /// A `channelEvents` event.
    Chat(Arc<ChatEvent>),
    /// A `ticketEvents` event.
    Ticket(Arc<TicketEvent>),
    /// A `ticketQueue` event.
    Queue(Arc<QueueEvent>),
}

impl SharedEvent {
    /// Whether both are the same allocation.
    #[must_use]
    pub fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Chat(a), Self::Chat(b)) => Arc::ptr_eq(a, b),
            (Self::Ticket(a), Self::Ticket(b)) => Arc::ptr_eq(a, b),
            (Self::Queue(a), Self::Queue(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A member's own stream of events, as the domain yields them.
pub type MemberEvents = futures::stream::BoxStream<'static, stoa_domain::Result<SharedEvent>>;

/// Request data: once `channelEvents` has started (its checks passed), it sends the member's
/// stream here and yields nothing itself.
pub struct EventTap(pub std::sync::Mutex<Option<tokio::sync::oneshot::Sender<MemberEvents>>>);

impl EventTap {
    /// A tap and the receiver the transport waits on.
    #[must_use]
    pub fn new() -> (Self, tokio::sync::oneshot::Receiver<MemberEvents>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Self(std::sync::Mutex::new(Some(tx))), rx)
    }

    /// Takes the sender (once).
    pub fn take(&self) -> Option<tokio::sync::oneshot::Sender<MemberEvents>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

/// A member stream's error as the GraphQL error an ungrouped subscriber would get for it, at the
/// root field `root`.
#[must_use]
pub fn stream_error(err: stoa_domain::DomainError, root: &str) -> async_graphql::ServerError {
    let err: async_graphql::Error = crate::error::GqlError::from(err).into();
    let mut server = err.into_server_error(async_graphql::Pos::default());
    server.locations.clear();
    server.path = vec![async_graphql::PathSegment::Field(root.to_owned())];
    server
}

/// The error of a groupable root whose transport stopped reading the tap before the hand-over
/// (the operation ended): the stream ends with it.
#[must_use]
pub fn closed_tap() -> crate::error::GqlError {
    stoa_domain::DomainError::Internal(anyhow::anyhow!("event tap closed")).into()
}

/// Request data: the groupable root yields this one event and ends (no access check: it renders
/// an event that every member's own stream has already delivered to it).
#[derive(Clone)]
pub struct RenderOne(pub SharedEvent);

/// The root fields whose subscribers may share renders.
pub const GROUPABLE_ROOTS: &[&str] = &["channelEvents", "ticketEvents", "ticketQueue"];

/// `(type, field)` pairs whose value depends on the viewer. Grouping treats the field name alone
/// as the mark (over-splitting is safe; over-sharing is not).
/// `Message.replies` is here because its resolver asks the viewer's access again: a render by a
/// member whose removal has not reached its stream yet must not answer for the others.
/// `TicketEvent.ticket` is the ticket as its reader sees it (available transitions, staff-only
/// fields).
pub const VIEWER_DEPENDENT: &[(&str, &str)] =
    &[("Reaction", "reactedByMe"), ("Message", "replies"), ("TicketEvent", "ticket")];

/// `(type, field)` pairs reachable from `channelEvents` whose value is the same for every viewer
/// allowed to see the event (signed file URLs are not tied to a viewer).
pub const VIEWER_INDEPENDENT: &[(&str, &str)] = &[
    ("ChannelEvent", "seq"),
    ("ChannelEvent", "kind"),
    ("ChannelEvent", "message"),
    ("Message", "id"),
    ("Message", "channelId"),
    ("Message", "seq"),
    ("Message", "author"),
    ("Message", "body"),
    ("Message", "threadRootId"),
    ("Message", "replyCount"),
    ("Message", "lastReplyAt"),
    ("Message", "threadParticipants"),
    ("Message", "createdAt"),
    ("Message", "editedAt"),
    ("Message", "deleted"),
    ("Message", "pinned"),
    ("Message", "attachments"),
    ("Message", "reactions"),
    ("MessageConnection", "edges"),
    ("MessageConnection", "pageInfo"),
    ("MessageConnection", "nodes"),
    ("MessageEdge", "cursor"),
    ("MessageEdge", "node"),
    ("PageInfo", "hasNextPage"),
    ("PageInfo", "hasPreviousPage"),
    ("PageInfo", "startCursor"),
    ("PageInfo", "endCursor"),
    ("User", "id"),
    ("User", "displayName"),
    ("User", "statusText"),
    ("User", "statusEmoji"),
    ("User", "avatarUrl"),
    ("Reaction", "emoji"),
    ("Reaction", "count"),
    ("Reaction", "users"),
    ("Attachment", "id"),
    ("Attachment", "filename"),
    ("Attachment", "mime"),
    ("Attachment", "size"),
    ("Attachment", "status"),
    ("Attachment", "scanDetail"),
    ("Attachment", "messageId"),
    ("Attachment", "createdAt"),
    ("Attachment", "thumbnailUrl"),
    ("Attachment", "downloadUrl"),
    ("TicketEvent", "kind"),
    ("TicketEvent", "ticketId"),
    ("TicketEvent", "from"),
    ("TicketEvent", "to"),
    ("TicketEvent", "action"),
    ("TicketEvent", "version"),
    ("TicketEvent", "actor"),
    ("TicketEvent", "at"),
    ("TicketQueueEvent", "departmentId"),
    ("TicketQueueEvent", "ticketId"),
    ("TicketQueueEvent", "admitted"),
    ("TicketQueueEvent", "occupancy"),
    ("TicketQueueEvent", "waiting"),
    ("TicketQueueEvent", "at"),
];

/// Whether a field of this name is viewer-dependent on any type.
#[must_use]
pub fn is_viewer_dependent(field: &str) -> bool {
    VIEWER_DEPENDENT.iter().any(|(_, f)| *f == field)
}

/// Whether `document` names a viewer-dependent field anywhere, as a whole name (in a selection,
/// an alias, a fragment, even a comment: over-splitting costs renders, over-sharing would leak).
/// `ticketEvents` and `ticketId` do not name `ticket`.
#[must_use]
pub fn mentions_viewer_dependent(document: &str) -> bool {
    document.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(is_viewer_dependent)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;

    /// Object types and their fields (with each field's named type), from the SDL.
    fn types(sdl: &str) -> HashMap<String, Vec<(String, String)>> {
        use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
        fn named(ty: &Type) -> String {
            match &ty.base {
                BaseType::Named(name) => name.to_string(),
                BaseType::List(inner) => named(inner),
            }
        }
        let doc = async_graphql::parser::parse_schema(sdl).unwrap_or_else(|e| panic!("the SDL parses: {e}"));
        let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else { continue };
            let TypeKind::Object(object) = &ty.node.kind else { continue };
            let fields = object.fields.iter().map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node)));
            out.insert(ty.node.name.node.to_string(), fields.collect());
        }
        out
    }

    #[test]
    fn a_viewer_dependent_field_is_found_as_a_whole_name_only() {
        assert!(mentions_viewer_dependent("subscription { ticketEvents(ticketId: $t) { kind ticket { id } } }"));
        assert!(!mentions_viewer_dependent("subscription { ticketEvents(ticketId: $t) { kind ticketId } }"));
        assert!(mentions_viewer_dependent("{ a { ...F } } fragment F on Reaction { mine: reactedByMe }"));
        assert!(mentions_viewer_dependent("{ a # replies\n }"));
    }

    #[test]
    fn every_field_a_groupable_document_reaches_is_classified() {
        let sdl = crate::sdl();
        let types = types(&sdl);
        let mut seen = BTreeSet::new();
        let mut queue = vec!["ChannelEvent".to_owned(), "TicketEvent".to_owned(), "TicketQueueEvent".to_owned()];
        let mut unclassified = Vec::new();
        while let Some(ty) = queue.pop() {
            if !seen.insert(ty.clone()) {
                continue;
            }
            for (field, named) in types.get(&ty).into_iter().flatten() {
                let pair = (ty.as_str(), field.as_str());
                let known = VIEWER_DEPENDENT.contains(&pair) || VIEWER_INDEPENDENT.contains(&pair);
                if !known {
                    unclassified.push(format!("{ty}.{field}"));
                }
                // A viewer-dependent field splits its group per viewer: what lies under it is
                // rendered for that viewer alone.
                if types.contains_key(named) && !VIEWER_DEPENDENT.contains(&pair) {
                    queue.push(named.clone());
                }
            }
        }
        assert!(seen.contains("Message") && seen.contains("Reaction") && seen.contains("User"), "walked {seen:?}");
        assert!(
            unclassified.is_empty(),
            "classify these in schema/src/fanout.rs (VIEWER_DEPENDENT if the value depends on who looks): {unclassified:?}"
        );
    }
}
