//! The one table of error codes: each code is declared once below, and [`ErrorCode`], the
//! `extensions.code` strings, the HTTP status of a refused request and the code table of
//! `docs/errors.md` all come from that declaration (a test holds the committed doc to it).
//!
//! Codes are API: a code is never renamed. Adding one means one new row here and the same row in
//! `docs/errors.md` (the test prints it).

use std::fmt::Write as _;

/// Declares the codes. Each row: the `///` lines say when the code is answered (they become the
/// variant's docs and the doc table's "when" column), then `NAME => (status, "extra extensions")`.
/// `status` is the HTTP status of a request refused with this code before it runs, `None` for
/// codes only raised while an operation runs (answered beside `data` in a 200).
macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $name:ident => ($http:expr, $extensions:literal) ),+ $(,)?) => {
        /// A stable error code, sent as `extensions.code` of a GraphQL error; the value is the wire
        /// string. Codes are never renamed; a new one may be added at any time, so a client must
        /// treat an unknown code as `INTERNAL`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
        #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, reason = "the variant is the wire code")]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $name, )+
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &[Self] = &[$(Self::$name),+];

            /// The wire string, e.g. `"NOT_FOUND"`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$name => stringify!($name)),+ }
            }

            /// The HTTP status of a request refused with this code before it runs; `None` when the
            /// code is only raised while an operation runs (a 200 beside `data`).
            #[must_use]
            pub const fn http_status(self) -> Option<u16> {
                match self { $(Self::$name => $http),+ }
            }

            /// When the code is answered: one line, as in `docs/errors.md`.
            #[must_use]
            pub const fn when(self) -> &'static str {
                match self { $(Self::$name => concat!($($doc),+).trim_ascii()),+ }
            }

            /// The extensions sent beside `code`, as `docs/errors.md` describes them.
            #[must_use]
            pub const fn extensions(self) -> &'static str {
                match self { $(Self::$name => $extensions),+ }
            }
        }
    };
}

error_codes! {
    /// no access token, an expired/forged one, or refused credentials (login answers the same for an
    /// unknown email and a wrong password)
    UNAUTHENTICATED => (None, ""),
    /// signed in, but the role does not allow it
    FORBIDDEN => (None, "`needed` (the permission)"),
    /// missing, or invisible to the caller (outsiders never learn a workspace exists)
    NOT_FOUND => (None, "`entity`"),
    /// an input breaks a rule (bad email, short password, bad ID, negative capacity, …)
    BAD_USER_INPUT => (None, "`field`"),
    /// uniqueness or state conflict (email taken, already a member, last owner), or a stale
    /// `version` (optimistic locking: nothing was written)
    CONFLICT => (None, "`currentVersion` and `currentState` on a stale `version`"),
    /// the object's state or a condition of the transition does not allow the action
    INVALID_STATE => (None, "`reason` (`INVALID_TRANSITION`, `OPEN_SUBTICKETS`, `APPROVAL_PENDING`, `REOPEN_LIMIT`, `REOPEN_WINDOW`), `allowed` (the actions open to the caller), `blockedBy` (open sub-tickets)"),
    /// the user is banned from the workspace: no invitation or link lets them back until unbanned
    BANNED => (None, ""),
    /// the member is timed out: no posting, reacting or joining voice until `until`
    TIMED_OUT => (None, "`until` (RFC 3339)"),
    /// the action needs a verified email address (an email invitation; a workspace that requires
    /// one to join)
    EMAIL_NOT_VERIFIED => (None, ""),
    /// a mailed or one-time token is malformed, unknown, expired, already used, revoked or meant for
    /// someone else (which of these is not said)
    INVALID_TOKEN => (None, "`token` (`verification`, `password_reset`, `invitation`, `sign_in_code`)"),
    /// too many attempts (login: 10 per minute per account and address, answered in a 200), or too
    /// many operations for the address's or the role's budget (refused with `Retry-After`)
    RATE_LIMITED => (Some(429), "`retryAfter` (seconds)"),
    /// anything unexpected; the message is always "internal error" and the detail is in the server
    /// log under the trace id (refused with 500 only when a request handler panicked)
    INTERNAL => (Some(500), "`traceId`"),
    /// a dependency cannot be reached in its deadline (the database; Redis when
    /// `STOA_RATE_LIMIT_REDIS_DOWN=closed`): nothing was done, retry after `retryAfter` seconds
    /// (refused with 503 and `Retry-After` when no part of the request executed)
    UNAVAILABLE => (Some(503), "`retryAfter` (seconds), `dependency` (`database` or `redis`)"),
    /// the HTTP request is malformed: not JSON, no `query`, wrong `Content-Type` (answered 415), batch
    /// too large
    BAD_REQUEST => (Some(400), ""),
    /// the document does not parse
    GRAPHQL_PARSE_FAILED => (Some(400), ""),
    /// the document does not validate (unknown field, unknown directive, introspection when disabled)
    GRAPHQL_VALIDATION_FAILED => (Some(400), ""),
    /// a document limit was exceeded: tokens, bracket nesting, depth, complexity, aliases, directives
    QUERY_TOO_COMPLEX => (Some(400), ""),
    /// the request names a trusted document (`documentId`, or Apollo's
    /// `extensions.persistedQuery`) the server does not list, and sends no text
    PERSISTED_QUERY_NOT_FOUND => (Some(404), ""),
    /// query text whose sha256 is not a trusted document, on a server that runs only those
    /// (`STOA_TRUSTED_DOCUMENTS_MODE=enforce`, the default in production): send a `documentId`
    TRUSTED_DOCUMENTS_ONLY => (Some(400), ""),
    /// a mutation sent over `GET`
    METHOD_NOT_ALLOWED => (Some(405), ""),
    /// the request body exceeds `STOA_MAX_BODY_BYTES`
    PAYLOAD_TOO_LARGE => (Some(413), ""),
}

impl ErrorCode {
    /// The code whose wire string is `code`.
    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The code of an error that carries one in `extensions.code`.
    #[must_use]
    pub fn of(err: &async_graphql::ServerError) -> Option<Self> {
        match err.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Self::parse(code),
            _ => None,
        }
    }
}

/// The header of the code table in `docs/errors.md`.
const DOC_HEADER: &str = "| code | HTTP refusal | when | extra extensions |";

/// The code table of `docs/errors.md`, generated from [`ErrorCode`].
#[must_use]
pub fn doc_table() -> String {
    let mut table = format!("{DOC_HEADER}\n|---|---|---|---|\n");
    for code in ErrorCode::ALL {
        let http = code.http_status().map_or_else(|| "—".to_owned(), |s| s.to_string());
        let extensions = code.extensions();
        let extensions = if extensions.is_empty() { " ".to_owned() } else { format!(" {extensions} ") };
        let _ = writeln!(table, "| `{}` | {http} | {} |{extensions}|", code.as_str(), code.when());
    }
    table
}

/// The rows of the code table in `text` (the lines after [`DOC_HEADER`] and its separator, up to
/// the first line that is not a row), each with its code; `None` without the header.
fn table_rows(text: &str) -> Option<Vec<(String, String)>> {
    let mut lines = text.lines().skip_while(|l| l.trim() != DOC_HEADER);
    lines.next()?; // the header
    lines.next(); // its separator
    let rows = lines.take_while(|l| l.starts_with('|')).map(|row| {
        let code = row.split('|').nth(1).unwrap_or_default().trim().trim_matches('`').to_owned();
        (code, row.trim_end().to_owned())
    });
    Some(rows.collect())
}

/// How the code table in `doc` differs from `expected` (a table as [`doc_table`] renders it): one
/// line per code missing on either side or with a different row. Empty when they agree.
#[must_use]
pub fn doc_mismatches(doc: &str, expected: &str) -> Vec<String> {
    let (Some(documented), Some(declared)) = (table_rows(doc), table_rows(expected)) else {
        return vec![format!("no code table: expected a table headed `{DOC_HEADER}`")];
    };
    let mut problems = Vec::new();
    for (code, row) in &declared {
        match documented.iter().find(|(c, _)| c == code) {
            None => problems.push(format!("`{code}` is declared in ErrorCode but missing from the doc")),
            Some((_, doc_row)) if doc_row != row => {
                problems.push(format!("`{code}` differs:\n  doc:      {doc_row}\n  declared: {row}"));
            }
            Some(_) => {}
        }
    }
    for (code, _) in &documented {
        if !declared.iter().any(|(c, _)| c == code) {
            problems.push(format!("`{code}` is in the doc but not declared in ErrorCode"));
        }
    }
    if problems.is_empty() && documented != declared {
        problems.push("the rows are in a different order than ErrorCode declares them".to_owned());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../docs/errors.md");

    #[test]
    fn docs_errors_md_lists_exactly_the_declared_codes() {
        let problems = doc_mismatches(DOC, &doc_table()).join("\n");
        assert!(
            problems.is_empty(),
            "docs/errors.md is out of date:\n{problems}\n\nits table should read:\n{}",
            doc_table()
        );
    }

    #[test]
    fn a_code_declared_but_not_documented_is_reported() {
        let declared = format!("{}| `TEAPOT` | 418 | short and stout | |\n", doc_table());
        let problems = doc_mismatches(DOC, &declared);
        assert_eq!(problems, ["`TEAPOT` is declared in ErrorCode but missing from the doc"]);
    }

    #[test]
    fn a_code_documented_but_not_declared_is_reported() {
        let row = "| `PAYLOAD_TOO_LARGE` |";
        let doctored = DOC.replacen(row, &format!("| `TEAPOT` | 418 | short and stout | |\n{row}"), 1);
        let problems = doc_mismatches(&doctored, &doc_table());
        assert_eq!(problems, ["`TEAPOT` is in the doc but not declared in ErrorCode"]);
    }

    #[test]
    fn a_row_whose_text_drifted_is_reported() {
        let doctored = DOC.replacen("the document does not parse", "the document is odd", 1);
        let problems = doc_mismatches(&doctored, &doc_table());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("`GRAPHQL_PARSE_FAILED` differs"), "{problems:?}");
        assert!(doc_mismatches("# Error codes\n", &doc_table())[0].starts_with("no code table"));
    }

    #[test]
    fn codes_are_screaming_snake_case_and_unique() {
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
            assert_eq!(ErrorCode::parse(s), Some(*code));
            assert!(!code.when().is_empty(), "{s} says when it is answered");
        }
        assert_eq!(ErrorCode::parse("NOPE"), None);
    }
}
