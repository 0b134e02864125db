//! What every path that accepts a GraphQL document does before execution: authenticate, pre-scan
//! the raw text, parse once, check aliases/directives, and attach per-request data. HTTP and both
//! WebSocket subprotocols go through here, so a limit holds everywhere or nowhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, ServerError};
use stoa_domain::{AppCtx, identity};
use stoa_schema::error::{ErrorCode, transport_error};
use stoa_schema::{ClientIp, Limits, RequestActor, limits};

use crate::trusted::TrustedDocuments;

/// Why a request never reached execution: coded errors (HTTP answers with the status the error
/// table gives the first one's code).
#[derive(Debug)]
pub struct Refusal {
    pub errors: Vec<ServerError>,
}

impl Refusal {
    fn one(err: ServerError) -> Self {
        Self { errors: vec![err] }
    }
}

/// Documents already parsed and checked, by query text: the trusted documents (parsed at startup,
/// kept for good), then the ones seen lately. Clients send the same few operations over and over,
/// and parsing is the costliest step before execution; a cached document is cloned instead. The
/// recent ones are bounded: at most `DOC_CACHE_ENTRIES` documents of at most `DOC_CACHE_MAX_QUERY`
/// bytes of text each (a client cannot fill it with huge one-off queries), cleared when full.
#[derive(Default)]
pub struct DocCache {
    recent: Mutex<HashMap<String, Arc<ExecutableDocument>>>,
    trusted: Arc<TrustedDocuments>,
}

/// Distinct documents kept.
const DOC_CACHE_ENTRIES: usize = 512;
/// Longer query texts are parsed every time (operations clients repeat are short; literals that
/// carry data, such as a message body written into the query, make texts long and one-off).
const DOC_CACHE_MAX_QUERY: usize = 8 * 1024;

impl DocCache {
    /// A cache that starts with the trusted documents.
    #[must_use]
    pub fn new(trusted: Arc<TrustedDocuments>) -> Self {
        Self { recent: Mutex::default(), trusted }
    }

    /// The trusted documents.
    #[must_use]
    pub fn trusted(&self) -> &TrustedDocuments {
        &self.trusted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ExecutableDocument>>> {
        self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        if let Some(trusted) = self.trusted.by_text(query) {
            return Some(ExecutableDocument::clone(&trusted.doc));
        }
        if query.len() > DOC_CACHE_MAX_QUERY {
            return None;
        }
        let doc = self.lock().get(query).cloned()?;
        Some(ExecutableDocument::clone(&doc)) // the deep copy happens outside the lock
    }

    fn put(&self, query: &str, doc: &ExecutableDocument) {
        if query.len() > DOC_CACHE_MAX_QUERY {
            return;
        }
        let doc = Arc::new(doc.clone());
        let mut docs = self.lock();
        if docs.len() >= DOC_CACHE_ENTRIES {
            docs.clear();
        }
        docs.insert(query.to_owned(), doc);
    }
}

/// A request as a client sends it: the GraphQL-over-HTTP fields plus the persisted-documents
/// appendix's `documentId`.
#[derive(serde::Deserialize)]
pub struct Incoming {
    #[serde(flatten)]
    pub request: Request,
    #[serde(default, rename = "documentId")]
    pub document_id: Option<String>,
}

/// A request past [`admit`]: its text resolved, and whether its caller is an instance operator
/// (who may introspect and send free-form documents where others may not).
pub struct Admitted {
    pub request: Request,
    pub operator: bool,
}

/// Resolves a trusted document's identifier into its text and applies the trusted-documents mode
/// to text: what every transport does with a client's request before [`prepare`] or [`check`].
/// Whether the caller is an operator is asked of the database only when it decides something:
/// unlisted text refused by `enforce`, or introspection while it is switched off.
///
/// # Errors
/// A [`Refusal`] with the coded error.
pub async fn admit(
    docs: &DocCache,
    limits: &Limits,
    app: &AppCtx,
    actor: &RequestActor,
    incoming: Incoming,
) -> Result<Admitted, Refusal> {
    let Incoming { mut request, document_id } = incoming;
    let verdict = docs.trusted.admit(&mut request, document_id.as_deref());
    let untrusted = verdict.as_ref().err().and_then(ErrorCode::of) == Some(ErrorCode::TRUSTED_DOCUMENTS_ONLY);
    let introspects = !limits.introspection && (request.query.contains("__schema") || request.query.contains("__type"));
    let operator = if untrusted || introspects {
        match actor.0.as_ref() {
            Ok(actor) => identity::is_operator(app, actor).await.unwrap_or_else(|e| {
                tracing::warn!(error = %format!("{e:#}"), "operator check failed: treated as no operator");
                false
            }),
            Err(_) => false,
        }
    } else {
        false
    };
    if let Err(err) = verdict
        && !(untrusted && operator)
    {
        return Err(Refusal::one(err));
    }
    if !limits.introspection && !operator {
        request = request.disable_introspection();
    }
    Ok(Admitted { request, operator })
}

/// Who is calling, and until when their token holds.
pub struct Caller {
    pub actor: RequestActor,
    /// When the access token expires (`None` when signed out).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Who is calling, from a bearer token (header or `connection_init` payload): a valid access token
/// of a session that is still live. `None` means the token was present and refused. When the
/// database cannot say whether the session is live, the token is taken (logged): an outage must not
/// sign everyone out, and a revocation this replica heard of stays cached as ended.
pub async fn authenticate(app: &AppCtx, token: Option<&str>) -> Option<Caller> {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Some(Caller { actor: RequestActor(Err("sign in required")), expires_at: None });
    };
    let token = token.strip_prefix("Bearer ").or_else(|| token.strip_prefix("bearer ")).unwrap_or(token).trim();
    let verified = identity::verify_token(app.auth(), token).ok()?;
    match identity::require_live_session(app, &verified.actor).await {
        Ok(()) => {}
        Err(e @ (stoa_domain::DomainError::Internal(_) | stoa_domain::DomainError::Unavailable { .. })) => {
            tracing::warn!(error = %format!("{e:#}"), "session check failed; token accepted");
        }
        Err(_) => return None,
    }
    Some(Caller { actor: RequestActor(Ok(verified.actor)), expires_at: Some(verified.expires_at) })
}

/// Checks the document and attaches request data. `queries_only` is set for HTTP GET.
///
/// # Errors
/// A [`Refusal`] with coded errors.
pub fn prepare(
    request: Request,
    docs: &DocCache,
    limits: &Limits,
    queries_only: bool,
    app: &AppCtx,
    actor: RequestActor,
    ip: &str,
) -> Result<Request, Refusal> {
    let user = actor.0.as_ref().ok().and_then(|a| a.user_id().ok());
    let request = check(request, docs, limits, queries_only, actor, ip)?;
    Ok(stoa_schema::with_loaders(request, app, user))
}

/// [`prepare`] without the data loaders: for an operation that resolves no fields itself (a
/// grouped subscriber, whose events its group renders), so an idle subscriber holds none.
///
/// # Errors
/// A [`Refusal`] with coded errors.
pub fn check(
    mut request: Request,
    docs: &DocCache,
    limits: &Limits,
    queries_only: bool,
    actor: RequestActor,
    ip: &str,
) -> Result<Request, Refusal> {
    if request.query.trim().is_empty() {
        return Err(Refusal::one(transport_error(ErrorCode::BAD_REQUEST, "the request has no query")));
    }
    let operation_name = request.operation_name.clone();
    // The text to cache the document under, when it is not cached yet (a cached one passed the
    // guard and the document checks when it was put).
    let uncached = if let Some(doc) = docs.get(&request.query) {
        request.set_parsed_query(doc);
        None
    } else {
        limits::prescan(&request.query, limits).map_err(Refusal::one)?;
        Some(request.query.clone())
    };
    let doc = request.parsed_query().map_err(|mut e| {
        e.extensions.get_or_insert_with(Default::default).set("code", ErrorCode::GRAPHQL_PARSE_FAILED.as_str());
        Refusal::one(e)
    })?;
    if let Some(query) = uncached {
        limits::check_document(doc, limits).map_err(Refusal::one)?;
        docs.put(&query, doc);
    }
    if queries_only && limits::operation_type(doc, operation_name.as_deref()) != Some(OperationType::Query) {
        let err = transport_error(ErrorCode::METHOD_NOT_ALLOWED, "only queries may be sent with GET; use POST");
        return Err(Refusal::one(err));
    }
    Ok(request.data(actor).data(ClientIp(ip.to_owned())))
}

/// Whether the document's operations select only introspection fields (`__schema`, `__type`,
/// `__typename`): such a document runs on the introspection schema, whose depth limit fits the
/// standard introspection query.
#[must_use]
pub fn introspection_only(request: &mut Request) -> bool {
    use async_graphql::parser::types::Selection;
    let Ok(doc) = request.parsed_query() else { return false };
    let mut operations = doc.operations.iter().peekable();
    operations.peek().is_some()
        && operations.all(|(_, op)| {
            op.node.selection_set.node.items.iter().all(|item| match &item.node {
                Selection::Field(field) => field.node.name.node.starts_with("__"),
                _ => false,
            })
        })
}
