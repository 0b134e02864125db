//! Trusted documents: the operations Stoa's own frontends were built with, known by the sha256 of
//! their text. The generated client's manifest is embedded in the binary; other frontends' manifests
//! are named in `STOA_TRUSTED_DOCUMENTS`. Every entry is verified and parsed once, at startup,
//! through the same pre-parse guard as a request's text: a bad manifest stops startup.
//!
//! A request names its document by `documentId: "sha256:<hex>"` (the GraphQL-over-HTTP
//! persisted-documents appendix) or Apollo's `extensions.persistedQuery.sha256Hash`, on POST, GET
//! and WebSocket subscribe. In `enforce` mode (the default with `STOA_ENV=production`) query text
//! runs only when its sha256 is listed (Apollo's safelist); nothing a client sends is ever stored
//! (unlike automatic persisted queries, which are bandwidth, not an allowlist).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};
use stoa_schema::Limits;
use stoa_schema::error::{ErrorCode, transport_error};

/// The generated client's manifest (`client-gen`'s codegen writes it; CI fails when it is stale).
pub const EMBEDDED_MANIFEST: &str = include_str!("../../client-gen/src/gql/persisted-documents.json");

/// The prefix of a sha256 document identifier.
const SHA256_PREFIX: &str = "sha256:";

/// What happens to query text whose sha256 is not listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// It runs; identifiers still resolve.
    Off,
    /// It runs, and is logged with its hash (to find the documents a frontend forgot to register).
    Log,
    /// It is refused with `TRUSTED_DOCUMENTS_ONLY`.
    Enforce,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Self::Off),
            "log" => Ok(Self::Log),
            "enforce" => Ok(Self::Enforce),
            other => Err(format!("{other:?}: expected off, log or enforce")),
        }
    }
}

/// One listed document, parsed and checked.
pub struct Trusted {
    /// The exact text, as listed.
    pub text: String,
    pub doc: Arc<ExecutableDocument>,
}

/// The listed documents, by lowercase hex sha256 and by text.
pub struct TrustedDocuments {
    mode: Mode,
    by_hash: HashMap<String, Arc<Trusted>>,
    by_text: HashMap<String, Arc<Trusted>>,
}

impl Default for TrustedDocuments {
    fn default() -> Self {
        Self { mode: Mode::Off, by_hash: HashMap::new(), by_text: HashMap::new() }
    }
}

/// The trusted documents `config` names, read, verified and parsed.
///
/// # Errors
/// A manifest that cannot be read, or whose entry is wrong (named).
pub fn load(config: &crate::config::TrustedDocumentsConfig, limits: &Limits) -> anyhow::Result<TrustedDocuments> {
    let mut extra = Vec::with_capacity(config.manifests.len());
    for path in &config.manifests {
        let json = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("STOA_TRUSTED_DOCUMENTS: reading {}: {e}", path.display()))?;
        extra.push((path.display().to_string(), json));
    }
    let trusted = TrustedDocuments::load(config.mode, config.embedded, &extra, limits)
        .map_err(|e| anyhow::anyhow!("STOA_TRUSTED_DOCUMENTS: {e}"))?;
    tracing::info!(documents = trusted.len(), mode = ?trusted.mode(), "trusted documents loaded");
    Ok(trusted)
}

/// The lowercase hex sha256 of `text`.
#[must_use]
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The 64 lowercase hex digits of a `sha256:<hex>` identifier.
fn parse_document_id(id: &str) -> Result<String, &'static str> {
    let Some((prefix, hash)) = id.split_once(':') else {
        return Err("documentId must be \"sha256:<64 hex digits>\"; custom document identifiers are not served");
    };
    if !format!("{prefix}:").eq_ignore_ascii_case(SHA256_PREFIX) {
        return Err("documentId has an unsupported prefix: only \"sha256:\" is served");
    }
    parse_hex(hash).ok_or("documentId must be \"sha256:\" followed by 64 hex digits")
}

fn parse_hex(hash: &str) -> Option<String> {
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hash.to_ascii_lowercase())
}

/// Apollo's `extensions.persistedQuery`: `Ok(None)` when absent.
fn apollo_hash(request: &Request) -> Result<Option<String>, &'static str> {
    let Some(persisted) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(persisted) = persisted else {
        return Err("extensions.persistedQuery must be an object");
    };
    if let Some(version) = persisted.get("version")
        && *version != Value::from(1)
    {
        return Err("extensions.persistedQuery.version must be 1");
    }
    match persisted.get("sha256Hash") {
        Some(Value::String(hash)) => parse_hex(hash).map(Some).ok_or("sha256Hash must be 64 hex digits"),
        _ => Err("extensions.persistedQuery.sha256Hash must be a string"),
    }
}

fn bad(message: impl Into<String>) -> ServerError {
    transport_error(ErrorCode::BAD_REQUEST, message)
}

impl TrustedDocuments {
    /// Verifies and parses the embedded manifest (when `embedded`) and `extra` (each a name, for
    /// messages, and its JSON).
    ///
    /// # Errors
    /// A message naming the manifest and the identifier at fault.
    pub fn load(mode: Mode, embedded: bool, extra: &[(String, String)], limits: &Limits) -> Result<Self, String> {
        let mut trusted = Self { mode, ..Self::default() };
        if embedded {
            trusted.add("the embedded client-gen manifest", EMBEDDED_MANIFEST, limits)?;
        }
        for (name, json) in extra {
            trusted.add(name, json, limits)?;
        }
        Ok(trusted)
    }

    fn add(&mut self, name: &str, json: &str, limits: &Limits) -> Result<(), String> {
        let entries: HashMap<String, String> = serde_json::from_str(json)
            .map_err(|e| format!("{name}: not a JSON object of \"sha256:<hex>\" → document: {e}"))?;
        for (id, text) in entries {
            let hash = parse_document_id(&id).map_err(|e| format!("{name}: {id:?}: {e}"))?;
            let actual = sha256_hex(&text);
            if actual != hash {
                return Err(format!("{name}: {id:?} is not the sha256 of its document (that is sha256:{actual})"));
            }
            stoa_schema::limits::prescan(&text, limits).map_err(|e| format!("{name}: {id:?}: {}", e.message))?;
            let doc =
                async_graphql::parser::parse_query(&text).map_err(|e| format!("{name}: {id:?} does not parse: {e}"))?;
            stoa_schema::limits::check_document(&doc, limits).map_err(|e| format!("{name}: {id:?}: {}", e.message))?;
            let entry = Arc::new(Trusted { text: text.clone(), doc: Arc::new(doc) });
            self.by_text.insert(text, entry.clone());
            self.by_hash.insert(hash, entry);
        }
        Ok(())
    }

    /// What the server does with unlisted text.
    #[must_use]
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// How many documents are listed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether none is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The listed document whose text is exactly `text`.
    #[must_use]
    pub fn by_text(&self, text: &str) -> Option<&Arc<Trusted>> {
        self.by_text.get(text)
    }

    /// Resolves the document a request names (`document_id`, or Apollo's extension) into its text,
    /// and applies the mode to text the request carries itself.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a malformed identifier or one that disagrees with the text sent beside it,
    /// `PERSISTED_QUERY_NOT_FOUND` for an unknown one, `TRUSTED_DOCUMENTS_ONLY` for unlisted text
    /// in `enforce` mode.
    pub fn admit(&self, request: &mut Request, document_id: Option<&str>) -> Result<(), ServerError> {
        let apollo = apollo_hash(request).map_err(bad)?;
        let named = match document_id {
            Some(id) => Some(parse_document_id(id).map_err(bad)?),
            None => None,
        };
        let hash = match (named, apollo) {
            (Some(a), Some(b)) if a != b => return Err(bad("documentId and extensions.persistedQuery disagree")),
            (a, b) => a.or(b),
        };
        let has_text = !request.query.trim().is_empty();
        if let Some(hash) = hash {
            if has_text && sha256_hex(&request.query) != hash {
                return Err(bad("the query is not the document its identifier names"));
            }
            if let Some(entry) = self.by_hash.get(&hash) {
                if !has_text {
                    request.query.clone_from(&entry.text);
                }
                return Ok(());
            }
            if !has_text {
                let err = transport_error(
                    ErrorCode::PERSISTED_QUERY_NOT_FOUND,
                    format!("no trusted document sha256:{hash}: this server runs only the documents it was built with"),
                );
                return Err(err);
            }
            // Text beside an unlisted hash (an automatic persisted query registering itself): judged
            // as text; nothing is stored.
        }
        if !has_text || self.mode == Mode::Off || self.by_text.contains_key(&request.query) {
            return Ok(());
        }
        let hash = sha256_hex(&request.query);
        if self.mode == Mode::Log {
            tracing::info!(document = %format_args!("sha256:{hash}"), operation = ?request.operation_name, "untrusted document ran");
            return Ok(());
        }
        Err(transport_error(
            ErrorCode::TRUSTED_DOCUMENTS_ONLY,
            format!("this server runs only trusted documents; sha256:{hash} is not one: send a documentId"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "query Me { me { id } }";

    fn manifest(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        let map: HashMap<&str, &str> = entries.iter().copied().collect();
        vec![("test manifest".to_owned(), serde_json::to_string(&map).unwrap_or_default())]
    }

    fn load(mode: Mode, entries: &[(&str, &str)]) -> Result<TrustedDocuments, String> {
        TrustedDocuments::load(mode, true, &manifest(entries), &Limits::default())
    }

    fn code(result: Result<(), ServerError>) -> Option<ErrorCode> {
        result.err().as_ref().and_then(ErrorCode::of)
    }

    #[test]
    fn the_embedded_manifest_loads_and_every_key_is_the_hash_of_its_document() {
        let trusted = load(Mode::Enforce, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(trusted.len() > 50, "the generated client lists its operations: {}", trusted.len());
        for (hash, entry) in &trusted.by_hash {
            assert_eq!(*hash, sha256_hex(&entry.text));
        }
    }

    #[test]
    fn a_bad_manifest_is_refused_naming_the_identifier() {
        let id = format!("sha256:{}", sha256_hex(ME));
        let wrong = format!("sha256:{}", sha256_hex("query Other { me { id } }"));
        let err = load(Mode::Off, &[(&wrong, ME)]).err().unwrap_or_default();
        assert!(err.contains(&wrong) && err.contains("is not the sha256"), "{err}");
        let broken = "query Me { me { id ";
        let broken_id = format!("sha256:{}", sha256_hex(broken));
        let err = load(Mode::Off, &[(&broken_id, broken)]).err().unwrap_or_default();
        assert!(err.contains(&broken_id), "{err}");
        let deep = format!("query Deep {}{}", "{ me ".repeat(60), "}".repeat(60));
        let deep_id = format!("sha256:{}", sha256_hex(&deep));
        let err = load(Mode::Off, &[(&deep_id, &deep)]).err().unwrap_or_default();
        assert!(err.contains(&deep_id), "the pre-parse guard holds for manifests: {err}");
        let md5 = format!("md5:{}", &sha256_hex(ME)[..32]);
        assert!(load(Mode::Off, &[(&md5, ME)]).err().unwrap_or_default().contains("unsupported prefix"));
        assert!(TrustedDocuments::load(Mode::Off, false, &[("x".into(), "[1]".into())], &Limits::default()).is_err());
        assert!(load(Mode::Off, &[(&id, ME)]).is_ok());
    }

    #[test]
    fn identifiers_resolve_and_unlisted_text_follows_the_mode() {
        let id = format!("sha256:{}", sha256_hex(ME));
        let enforce = load(Mode::Enforce, &[(&id, ME)]).unwrap_or_else(|e| panic!("{e}"));
        let mut by_id = Request::new("");
        assert!(enforce.admit(&mut by_id, Some(&id)).is_ok());
        assert_eq!(by_id.query, ME);
        let mut listed_text = Request::new(ME);
        assert!(enforce.admit(&mut listed_text, None).is_ok());
        let mut raw = Request::new("{ me { id } }");
        assert_eq!(code(enforce.admit(&mut raw, None)), Some(ErrorCode::TRUSTED_DOCUMENTS_ONLY));
        let unknown = format!("sha256:{}", sha256_hex("{ nope }"));
        assert_eq!(
            code(enforce.admit(&mut Request::new(""), Some(&unknown))),
            Some(ErrorCode::PERSISTED_QUERY_NOT_FOUND)
        );
        for bad_id in ["sha256:xyz", "md5:abc", "custom-id", "sha256:"] {
            assert_eq!(
                code(enforce.admit(&mut Request::new(""), Some(bad_id))),
                Some(ErrorCode::BAD_REQUEST),
                "{bad_id}"
            );
        }
        let mut disagree = Request::new("{ me { id } }");
        assert_eq!(code(enforce.admit(&mut disagree, Some(&id))), Some(ErrorCode::BAD_REQUEST));
        let log = load(Mode::Log, &[(&id, ME)]).unwrap_or_else(|e| panic!("{e}"));
        assert!(log.admit(&mut Request::new("{ me { id } }"), None).is_ok());
        let off = load(Mode::Off, &[(&id, ME)]).unwrap_or_else(|e| panic!("{e}"));
        assert!(off.admit(&mut Request::new("{ me { id } }"), None).is_ok());
        assert_eq!(code(off.admit(&mut Request::new(""), Some(&unknown))), Some(ErrorCode::PERSISTED_QUERY_NOT_FOUND));
    }

    #[test]
    fn apollo_persisted_query_hashes_resolve_too() {
        let hash = sha256_hex(ME);
        let trusted = load(Mode::Enforce, &[(&format!("sha256:{hash}"), ME)]).unwrap_or_else(|e| panic!("{e}"));
        let apollo = |value: serde_json::Value| {
            let mut request = Request::new("");
            request.extensions.insert("persistedQuery".into(), Value::from_json(value).unwrap_or_default());
            request
        };
        let mut request = apollo(serde_json::json!({ "version": 1, "sha256Hash": hash.to_uppercase() }));
        assert!(trusted.admit(&mut request, None).is_ok());
        assert_eq!(request.query, ME);
        let mut old = apollo(serde_json::json!({ "version": 2, "sha256Hash": hash }));
        assert_eq!(code(trusted.admit(&mut old, None)), Some(ErrorCode::BAD_REQUEST));
        let mut both = apollo(serde_json::json!({ "version": 1, "sha256Hash": sha256_hex("x") }));
        assert_eq!(code(trusted.admit(&mut both, Some(&format!("sha256:{hash}")))), Some(ErrorCode::BAD_REQUEST));
    }
}
