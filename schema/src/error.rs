//! The GraphQL edge of [`DomainError`]: one exhaustive table from variant to `extensions.code`.
//!
//! `GqlError` is deliberately not `Display`: async-graphql turns `?` on any `Display` error into a
//! code-less message, so only `From<DomainError>` exists and a raw `DbErr` cannot reach a client.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ErrorExtensions as _};
use stoa_domain::DomainError;

/// Stable error codes, part of the API: never renamed. Listed in `docs/errors.md`.
pub mod codes {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL: &str = "INTERNAL";
    /// Transport: the request itself is malformed (bad JSON, no query, wrong content type).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// Transport: the document does not parse.
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// Transport: the document does not validate against the schema.
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// Transport: a limit on tokens, nesting, depth, complexity, aliases or directives was exceeded.
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// Transport: the operation kind is not allowed here (e.g. a mutation over GET).
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// Transport: the request body is larger than allowed.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";

    /// Every code, for the docs check.
    pub const ALL: [&str; 13] = [
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        BAD_USER_INPUT,
        CONFLICT,
        RATE_LIMITED,
        INTERNAL,
        BAD_REQUEST,
        GRAPHQL_PARSE_FAILED,
        GRAPHQL_VALIDATION_FAILED,
        QUERY_TOO_COMPLEX,
        METHOD_NOT_ALLOWED,
        PAYLOAD_TOO_LARGE,
    ];
}

/// A domain error on its way to a client.
#[derive(Debug, Clone)]
pub struct GqlError(Arc<DomainError>);

/// Named `Result` because the `#[Object]` macro looks for that name.
pub type Result<T, E = GqlError> = std::result::Result<T, E>;

impl From<DomainError> for GqlError {
    fn from(err: DomainError) -> Self {
        Self(Arc::new(err))
    }
}

impl GqlError {
    /// A `BAD_USER_INPUT` on `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::invalid(field, reason).into()
    }
}

fn set_extensions(err: &DomainError, ext: &mut ErrorExtensionValues, trace_id: Option<&str>) {
    match err {
        DomainError::Unauthenticated(_) => ext.set("code", codes::UNAUTHENTICATED),
        DomainError::Forbidden { needed } => {
            ext.set("code", codes::FORBIDDEN);
            ext.set("needed", format!("{needed:?}"));
        }
        DomainError::NotFound(entity) => {
            ext.set("code", codes::NOT_FOUND);
            ext.set("entity", *entity);
        }
        DomainError::Invalid { field, .. } => {
            ext.set("code", codes::BAD_USER_INPUT);
            ext.set("field", *field);
        }
        DomainError::Conflict(_) => ext.set("code", codes::CONFLICT),
        DomainError::RateLimited { retry_after_s } => {
            ext.set("code", codes::RATE_LIMITED);
            ext.set("retryAfter", *retry_after_s);
        }
        DomainError::Internal(_) => {
            ext.set("code", codes::INTERNAL);
            if let Some(id) = trace_id {
                ext.set("traceId", id);
            }
        }
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(GqlError(err): GqlError) -> Self {
        let (message, trace_id) = match &*err {
            DomainError::Internal(cause) => {
                let trace_id = uuid::Uuid::now_v7().to_string();
                tracing::error!(error = ?cause, trace_id = %trace_id, "internal error");
                ("internal error".to_owned(), Some(trace_id))
            }
            other => (other.to_string(), None),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| set_extensions(&err, ext, trace_id.as_deref()))
    }
}

/// A GraphQL error with a transport code (used before or around execution).
#[must_use]
pub fn transport_error(code: &'static str, message: impl Into<String>) -> async_graphql::ServerError {
    let mut err = async_graphql::ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    err.extensions = Some(ext);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented_in_docs_errors_md() {
        let doc = include_str!("../../docs/errors.md");
        for code in codes::ALL {
            assert!(doc.contains(&format!("`{code}`")), "{code} missing from docs/errors.md");
        }
    }

    #[test]
    fn every_domain_error_maps_to_a_listed_code() {
        let errors = [
            DomainError::Unauthenticated("x"),
            DomainError::Forbidden { needed: stoa_domain::authz::Permission::ManageMembers },
            DomainError::NotFound("workspace"),
            DomainError::invalid("email", "bad"),
            DomainError::Conflict("taken"),
            DomainError::RateLimited { retry_after_s: 3 },
            DomainError::Internal(anyhow::anyhow!("secret detail")),
        ];
        for err in errors {
            let gql: async_graphql::Error = GqlError::from(err).into();
            let code = gql.extensions.as_ref().and_then(|e| e.get("code")).map(ToString::to_string);
            let code = code.unwrap_or_default().trim_matches('"').to_owned();
            assert!(codes::ALL.contains(&code.as_str()), "{code}");
            assert!(!gql.message.contains("secret detail"));
        }
    }
}
