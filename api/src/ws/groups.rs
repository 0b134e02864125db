//! Render once, deliver many: the transport's half (the schema's is `stoa_schema::fanout`).
//!
//! Subscribers of `channelEvents` or `ticketEvents` whose operations are identical (the same document up to
//! whitespace, operation name and variables, and the same viewer when the document selects a
//! viewer-dependent field) form one [`Group`]. Each member keeps its own stream of events (its own
//! access check, replay and end on removal), but an event is rendered, executed and serialised,
//! once per group: the first member to need it renders it, every other member reuses the bytes
//! and splices in its own operation id. A replayed event is the member's own (read from the
//! database for it), so only live events, which every member holds the same allocation of, are
//! shared.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_graphql::parser::types::{OperationType, Selection};
use stoa_domain::ids::UserId;
use stoa_schema::fanout::SharedEvent;

/// Rendered payloads a group keeps (events in flight to its members at once are far fewer).
const CACHE: usize = 64;
/// Sweep dead groups out of the registry after this many new ones.
const SWEEP_EVERY: u64 = 1024;

/// What makes two operations one group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    query: String,
    operation: Option<String>,
    variables: String,
    /// Set when the document selects a viewer-dependent field.
    viewer: Option<UserId>,
}

/// One rendered event.
struct Entry {
    event: SharedEvent,
    payload: Arc<tokio::sync::OnceCell<Arc<str>>>,
}

/// Members of one group share this.
pub struct Group {
    /// The operation every member runs (the first member's text; the others' differ at most in
    /// whitespace outside strings).
    pub query: String,
    pub operation: Option<String>,
    pub variables: async_graphql::Variables,
    /// The operation's one root field (`channelEvents`, `ticketEvents`).
    pub root: String,
    cache: Mutex<VecDeque<Entry>>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    renders: AtomicU64,
    deliveries: AtomicU64,
    created: AtomicU64,
}

impl Group {
    /// The payload of `event`, rendered by `render` unless a member already did (or is doing) it.
    pub async fn payload<F, Fut>(&self, event: &SharedEvent, render: F) -> Arc<str>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = String>,
    {
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(entry) = cache.iter().find(|e| e.event.same(event)) {
                Arc::clone(&entry.payload)
            } else {
                if cache.len() >= CACHE {
                    cache.pop_front();
                }
                let payload = Arc::new(tokio::sync::OnceCell::new());
                cache.push_back(Entry { event: event.clone(), payload: Arc::clone(&payload) });
                payload
            }
        };
        self.counters.deliveries.fetch_add(1, Ordering::Relaxed);
        let counters = &self.counters;
        Arc::clone(
            cell.get_or_init(|| async move {
                counters.renders.fetch_add(1, Ordering::Relaxed);
                Arc::from(render().await)
            })
            .await,
        )
    }
}

/// Every live group, by key.
#[derive(Default)]
pub struct RenderGroups {
    enabled: bool,
    groups: Mutex<HashMap<Key, Weak<Group>>>,
    counters: Arc<Counters>,
}

impl RenderGroups {
    /// A registry; when not `enabled`, no operation is grouped.
    #[must_use]
    pub fn new(enabled: bool) -> Self {
        Self { enabled, ..Self::default() }
    }

    /// The group `request` (already prepared: its document is parsed) belongs to, when it can
    /// share renders: a subscription whose only root field is groupable. `query`, `operation` and
    /// `variables` are the request's own; `viewer` is the authenticated user.
    #[must_use]
    pub fn group_for(
        &self,
        request: &mut async_graphql::Request,
        variables: &async_graphql::Variables,
        viewer: Option<UserId>,
    ) -> Option<Arc<Group>> {
        if !self.enabled {
            return None;
        }
        let operation_name = request.operation_name.clone();
        let doc = request.parsed_query().ok()?;
        let operation = match (&operation_name, &doc.operations) {
            (_, async_graphql::parser::types::DocumentOperations::Single(op)) => op,
            (Some(name), async_graphql::parser::types::DocumentOperations::Multiple(ops)) => ops.get(name.as_str())?,
            (None, async_graphql::parser::types::DocumentOperations::Multiple(_)) => return None,
        };
        if operation.node.ty != OperationType::Subscription {
            return None;
        }
        let [root] = operation.node.selection_set.node.items.as_slice() else { return None };
        let Selection::Field(field) = &root.node else { return None };
        if !stoa_schema::fanout::GROUPABLE_ROOTS.contains(&field.node.name.node.as_str()) {
            return None;
        }
        // The raw text decides viewer dependence: a mention anywhere (an alias, a fragment, even
        // a comment) splits the group per viewer. Over-splitting costs renders; over-sharing would
        // leak another viewer's answer.
        let root = field.node.name.node.to_string();
        let dependent = stoa_schema::fanout::mentions_viewer_dependent(&request.query);
        let key = Key {
            query: normalised(&request.query),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(variables).ok()?,
            viewer: if dependent { Some(viewer?) } else { None },
        };
        let mut groups = self.groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(group) = groups.get(&key).and_then(Weak::upgrade) {
            return Some(group);
        }
        let group = Arc::new(Group {
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: variables.clone(),
            root,
            cache: Mutex::default(),
            counters: Arc::clone(&self.counters),
        });
        groups.insert(key, Arc::downgrade(&group));
        if self.counters.created.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            groups.retain(|_, g| g.strong_count() > 0);
        }
        Some(group)
    }

    /// `/metrics` lines: live groups, renders run, and deliveries made from a group since start.
    #[must_use]
    pub fn render_metrics(&self) -> String {
        let live = self
            .groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .filter(|g| g.strong_count() > 0)
            .count();
        let renders = self.counters.renders.load(Ordering::Relaxed);
        let deliveries = self.counters.deliveries.load(Ordering::Relaxed);
        format!(
            "# TYPE stoa_subscription_groups gauge\nstoa_subscription_groups {live}\n\
             # TYPE stoa_subscription_renders_total counter\nstoa_subscription_renders_total {renders}\n\
             # TYPE stoa_subscription_group_deliveries_total counter\n\
             stoa_subscription_group_deliveries_total {deliveries}\n"
        )
    }
}

/// `query` with each run of whitespace, commas and comments outside string literals (all of which
/// GraphQL ignores) collapsed to one space. A comment runs to the end of its line, so the line
/// break that ends one is never read as a mere space: a selection after it stays a selection. A
/// document with a block string is kept as it is.
fn normalised(query: &str) -> String {
    if query.contains("\"\"\"") {
        return query.to_owned();
    }
    let mut out = String::with_capacity(query.len());
    let (mut in_string, mut in_comment, mut escaped, mut space) = (false, false, false, false);
    for c in query.chars() {
        if in_comment {
            in_comment = c != '\n' && c != '\r';
            continue;
        }
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_whitespace() || c == ',' || c == '#' {
            in_comment = c == '#';
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_outside_strings_does_not_split_a_group_but_inside_it_does() {
        assert_eq!(
            normalised("subscription {\n  a(x: 1,  y: 2) { b }\n}"),
            normalised("subscription { a(x: 1 y: 2) { b } }")
        );
        assert_ne!(normalised(r#"{ a(s: "x  y") }"#), normalised(r#"{ a(s: "x y") }"#));
        assert_ne!(normalised(r#"{ a(s: "q\"  ") }"#), normalised(r#"{ a(s: "q\" ") }"#));
    }

    #[test]
    fn a_comment_is_ignored_up_to_its_line_break_and_no_further() {
        assert_eq!(normalised("{ a # first\n b }"), normalised("{ a # second\r\n b }"));
        assert_eq!(normalised("{ a # first\n b }"), normalised("{ a b }"));
        // The same characters, but the comment swallows `b` in the second.
        assert_ne!(normalised("{ a # x\n b\n }"), normalised("{ a # x b\n }"));
        // A quote in a comment opens no string (whitespace in a later string still counts).
        assert_ne!(normalised("{ a # \"\n b(s: \"x  y\") }"), normalised("{ a # \"\n b(s: \"x y\") }"));
        assert_eq!(normalised(r##"{ a(s: "# not a comment") }"##), r##"{ a(s: "# not a comment") }"##);
    }
}
