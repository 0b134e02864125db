//! Defences that run before and beside async-graphql's own validation.
//!
//! [`prescan`] reads the raw text once, with no allocation and no recursion, and refuses documents
//! with too many tokens or brackets nested too deep *before* async-graphql's recursive parser sees
//! them (a ~3 KB document nested ~1,600 deep overflows its stack and aborts the process).
//! [`check_document`] then counts aliases and directives on the parsed document and refuses unknown
//! directives. Depth and complexity are async-graphql's `limit_depth`/`limit_complexity`.

use async_graphql::ServerError;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};

use crate::error::{ErrorCode, transport_error};

/// Every limit on a document; each is configurable (README lists the defaults).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Lexical tokens in one document.
    pub max_tokens: usize,
    /// Nesting of `{`, `[` and `(` in the raw text.
    pub max_nesting: usize,
    /// Selection depth (async-graphql `limit_depth`).
    pub max_depth: usize,
    /// Cost: every field 1, lists multiplied by their `first`/`limit` (async-graphql `limit_complexity`).
    pub max_complexity: usize,
    /// Aliased fields in one document.
    pub max_aliases: usize,
    /// Directive uses in one document.
    pub max_directives: usize,
    /// Times one response key may be selected in one selection set (`{ id id id … }`).
    pub max_field_repeats: usize,
    /// Operations in one batched HTTP request.
    pub max_batch: usize,
    /// Introspection (`__schema`, `__type`) allowed.
    pub introspection: bool,
    /// "Did you mean …" suggestions in validation errors.
    pub suggestions: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tokens: 2_000,
            max_nesting: 40,
            max_depth: 12,
            max_complexity: 5_000,
            max_aliases: 15,
            max_directives: 50,
            max_field_repeats: 3,
            max_batch: 10,
            introspection: true,
            suggestions: true,
        }
    }
}

fn too_complex(message: String) -> ServerError {
    transport_error(ErrorCode::QUERY_TOO_COMPLEX, message)
}

/// Scans raw GraphQL text: counts tokens and tracks bracket nesting. Linear, allocation-free, never
/// panics; anything it cannot classify counts as one token and is left to the parser to refuse.
///
/// # Errors
/// `QUERY_TOO_COMPLEX` when a limit is exceeded.
pub fn prescan(src: &str, limits: &Limits) -> Result<(), ServerError> {
    let bytes = src.as_bytes();
    let (mut i, mut tokens, mut depth) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            0xEF if bytes.get(i + 1..i + 3) == Some(&[0xBB, 0xBF]) => {
                i += 3;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes.get(i + 1..i + 3) == Some(b"\"\"") => i = skip_block_string(bytes, i + 3),
            b'"' => i = skip_string(bytes, i + 1),
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(too_complex(format!("document nested deeper than {} brackets", limits.max_nesting)));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' => i += if bytes.get(i..i + 3) == Some(b"...") { 3 } else { 1 },
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-')) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(too_complex(format!("document has more than {} tokens", limits.max_tokens)));
        }
    }
    Ok(())
}

/// Index just past a string's closing quote (or the end of the line/text if unterminated).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Index just past a block string's closing `"""` (escaped `\"""` does not close it).
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes.get(i..i + 4) == Some(b"\\\"\"\"") {
            i += 4;
        } else if bytes.get(i..i + 3) == Some(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Directives an executable document may use.
const KNOWN_DIRECTIVES: [&str; 2] = ["include", "skip"];

#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
    unknown: Option<String>,
    introspection: bool,
    /// The most times one response key appears in one selection set.
    max_repeats: usize,
}

impl Counts {
    fn directives<'a>(&mut self, names: impl Iterator<Item = &'a str>) {
        for name in names {
            self.directives += 1;
            if !KNOWN_DIRECTIVES.contains(&name) && self.unknown.is_none() {
                self.unknown = Some(name.to_owned());
            }
        }
    }

    /// Recursion is bounded: `prescan` already capped bracket nesting.
    fn selection_set(&mut self, set: &SelectionSet) {
        let mut keys: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for item in &set.items {
            if let Selection::Field(field) = &item.node {
                let key = field.node.alias.as_ref().unwrap_or(&field.node.name).node.as_str();
                let n = keys.entry(key).or_default();
                *n += 1;
                self.max_repeats = self.max_repeats.max(*n);
            }
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    if matches!(field.node.name.node.as_str(), "__schema" | "__type") {
                        self.introspection = true;
                    }
                    self.directives(field.node.directives.iter().map(|d| d.node.name.node.as_str()));
                    self.selection_set(&field.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives(spread.node.directives.iter().map(|d| d.node.name.node.as_str()));
                }
                Selection::InlineFragment(inline) => {
                    self.directives(inline.node.directives.iter().map(|d| d.node.name.node.as_str()));
                    self.selection_set(&inline.node.selection_set.node);
                }
            }
        }
    }
}

/// Counts aliases and directives over the whole document (as written, fragments once) and refuses
/// unknown directives, and introspection when it is switched off (async-graphql would answer
/// `null` without an error).
///
/// # Errors
/// `QUERY_TOO_COMPLEX` over a limit; `GRAPHQL_VALIDATION_FAILED` for an unknown directive.
pub fn check_document(doc: &ExecutableDocument, limits: &Limits) -> Result<(), ServerError> {
    let mut counts = Counts::default();
    for (_, op) in doc.operations.iter() {
        counts.directives(op.node.directives.iter().map(|d| d.node.name.node.as_str()));
        for var in &op.node.variable_definitions {
            counts.directives(var.node.directives.iter().map(|d| d.node.name.node.as_str()));
        }
        counts.selection_set(&op.node.selection_set.node);
    }
    for fragment in doc.fragments.values() {
        counts.directives(fragment.node.directives.iter().map(|d| d.node.name.node.as_str()));
        counts.selection_set(&fragment.node.selection_set.node);
    }
    if let Some(name) = counts.unknown {
        return Err(transport_error(ErrorCode::GRAPHQL_VALIDATION_FAILED, format!("unknown directive @{name}")));
    }
    if counts.introspection && !limits.introspection {
        return Err(transport_error(ErrorCode::GRAPHQL_VALIDATION_FAILED, "introspection is disabled on this server"));
    }
    if counts.max_repeats > limits.max_field_repeats {
        return Err(too_complex(format!(
            "a field is selected more than {} times in one selection set",
            limits.max_field_repeats
        )));
    }
    if counts.aliases > limits.max_aliases {
        return Err(too_complex(format!("document uses more than {} aliases", limits.max_aliases)));
    }
    if counts.directives > limits.max_directives {
        return Err(too_complex(format!("document uses more than {} directives", limits.max_directives)));
    }
    Ok(())
}

/// The kind of the operation that `operation_name` selects, if the document has exactly that one.
#[must_use]
pub fn operation_type(doc: &ExecutableDocument, operation_name: Option<&str>) -> Option<OperationType> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        // A document with one named operation runs it without `operationName`.
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Gives every error that async-graphql produced without a code the code a client can act on.
pub fn classify_errors(errors: &mut [ServerError]) {
    for err in errors {
        let has_code = err.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if err.message.starts_with("Query is nested too deep")
            || err.message.starts_with("Query is too complex")
            || err.message.contains("too many directives")
            || err.message.contains("too deep")
        {
            ErrorCode::QUERY_TOO_COMPLEX
        } else if err.message.starts_with(" --> ") || err.message.contains("expected ") && err.path.is_empty() {
            ErrorCode::GRAPHQL_PARSE_FAILED
        } else if err.path.is_empty() {
            ErrorCode::GRAPHQL_VALIDATION_FAILED
        } else {
            ErrorCode::BAD_USER_INPUT
        };
        err.extensions.get_or_insert_with(Default::default).set("code", code.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { max_tokens: 50, max_nesting: 5, ..Limits::default() }
    }

    #[test]
    fn ordinary_documents_pass() {
        let doc = r"query Q($id: ID!) { workspace(id: $id) { name members { role } } } # c { { { {
        ";
        assert!(prescan(doc, &limits()).is_ok());
        assert!(prescan(r#"{ a(s: "{{{{{{{{[[[[[[", b: """ {{{{{{ \""" [[[[[[ """) }"#, &limits()).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let doc = format!("{{ f(a: {}1{}) }}", "[".repeat(1600), "]".repeat(1600));
        let err = prescan(&doc, &Limits::default()).err();
        assert!(err.is_some_and(|e| e.message.contains("nested")));
        assert!(prescan(&"{".repeat(6), &limits()).is_err());
    }

    #[test]
    fn too_many_tokens_are_refused() {
        assert!(prescan(&"a ".repeat(51), &limits()).is_err());
        assert!(prescan(&"a ".repeat(50), &limits()).is_ok());
    }

    #[test]
    fn unterminated_strings_and_garbage_do_not_panic() {
        for doc in ["\"", "\"\"\"", "\"\\", "...", "-", "\u{1F600}{", "\u{FEFF}{a}", "#", "\"\"\"\\\"\"\""] {
            let _ = prescan(doc, &limits());
        }
    }

    fn parse(doc: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(doc).unwrap_or_else(|e| panic!("parse: {e}"))
    }

    #[test]
    fn aliases_and_directives_are_counted_and_unknown_directives_refused() {
        let l = Limits { max_aliases: 2, max_directives: 2, ..Limits::default() };
        assert!(check_document(&parse("{ a: x b: x }"), &l).is_ok());
        assert!(check_document(&parse("{ a: x b: x ... on Q { c: x } }"), &l).is_err());
        assert!(check_document(&parse("{ x @skip(if: true) y @include(if: true) }"), &l).is_ok());
        assert!(check_document(&parse("{ x @skip(if: true) y @include(if: true) z @skip(if: false) }"), &l).is_err());
        assert!(check_document(&parse("{ x @evil }"), &l).is_err());
    }

    #[test]
    fn operation_kind_is_found_by_name() {
        let doc = parse("query A { x } mutation B { y }");
        assert_eq!(operation_type(&doc, Some("B")), Some(OperationType::Mutation));
        assert_eq!(operation_type(&doc, None), None);
        assert_eq!(operation_type(&parse("mutation { y }"), None), Some(OperationType::Mutation));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Fragments that make GraphQL-ish text, including the nasty parts: brackets, strings, block
    /// strings, escapes, comments, spreads and multi-byte characters.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("\"".to_owned()),
            Just("\"\"\"".to_owned()),
            Just("\\".to_owned()),
            Just("#".to_owned()),
            Just("\n".to_owned()),
            Just("...".to_owned()),
            Just(":".to_owned()),
            Just("$v".to_owned()),
            Just("@skip(if: true)".to_owned()),
            Just("é".to_owned()),
            Just("\u{FEFF}".to_owned()),
            "[a-z_]{1,6}",
            "-?[0-9]{1,4}(\\.[0-9]+)?",
            " ",
        ]
    }

    fn document() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..400).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn the_prescan_never_panics_and_what_it_passes_parses_safely(doc in document()) {
            let limits = Limits { max_tokens: 300, max_nesting: 12, ..Limits::default() };
            if prescan(&doc, &limits).is_ok() {
                // Parsing must return (Ok or a parse error) instead of overflowing the stack.
                let _ = async_graphql::parser::parse_query(&doc);
            }
        }

        #[test]
        fn deep_nesting_of_any_bracket_is_always_refused(depth in 41usize..3_000, kind in 0usize..3) {
            let (open, close) = [("[", "]"), ("{", "}"), ("(", ")")][kind];
            let doc = format!("{{ f(a: {}1{}) }}", open.repeat(depth), close.repeat(depth));
            prop_assert!(prescan(&doc, &Limits::default()).is_err());
        }
    }
}
