//! The GraphQL edge of [`DomainError`]: one exhaustive table from variant to `extensions.code`.
//!
//! `GqlError` is deliberately not `Display`: async-graphql turns `?` on any `Display` error into a
//! code-less message, so only `From<DomainError>` exists and a raw `DbErr` cannot reach a client.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ErrorExtensions as _};
use stoa_domain::DomainError;

pub use crate::error_codes::ErrorCode;

/// The body a transport falls back to when a response cannot be serialised or a handler panicked.
pub const INTERNAL_RESPONSE: &str = r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#;

/// The `errors` list of [`INTERNAL_RESPONSE`], for a WebSocket `error` frame that cannot be built.
#[must_use]
pub fn internal_errors() -> serde_json::Value {
    serde_json::json!([{ "message": "internal error", "extensions": { "code": ErrorCode::INTERNAL.as_str() } }])
}

/// A domain error on its way to a client.
#[derive(Debug, Clone)]
pub struct GqlError(Arc<DomainError>);

/// Named `Result` because the `#[Object]` macro looks for that name.
pub type Result<T, E = GqlError> = std::result::Result<T, E>;

impl From<DomainError> for GqlError {
    fn from(err: DomainError) -> Self {
        Self(Arc::new(err.classified()))
    }
}

impl GqlError {
    /// A `BAD_USER_INPUT` on `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::invalid(field, reason).into()
    }
}

/// The one table from variant to `extensions`: sets the variant's extra keys and returns its code.
/// Exhaustive on purpose: a new `DomainError` variant does not compile until it has a code.
fn extensions_of(err: &DomainError, ext: &mut ErrorExtensionValues, trace_id: Option<&str>) -> ErrorCode {
    match err {
        DomainError::Unauthenticated(_) => ErrorCode::UNAUTHENTICATED,
        DomainError::Forbidden { needed } => {
            ext.set("needed", format!("{needed:?}"));
            ErrorCode::FORBIDDEN
        }
        DomainError::NotFound(entity) => {
            ext.set("entity", *entity);
            ErrorCode::NOT_FOUND
        }
        DomainError::Invalid { field, .. } => {
            ext.set("field", *field);
            ErrorCode::BAD_USER_INPUT
        }
        DomainError::Conflict(_) => ErrorCode::CONFLICT,
        DomainError::StaleVersion { current_version, current_state } => {
            ext.set("currentVersion", *current_version);
            ext.set("currentState", *current_state);
            ErrorCode::CONFLICT
        }
        DomainError::InvalidState { reason, allowed, blocked_by } => {
            ext.set("reason", *reason);
            ext.set("allowed", allowed.iter().map(|a| async_graphql::Value::from(*a)).collect::<Vec<_>>());
            if !blocked_by.is_empty() {
                ext.set(
                    "blockedBy",
                    blocked_by.iter().map(|id| async_graphql::Value::from(id.to_string())).collect::<Vec<_>>(),
                );
            }
            ErrorCode::INVALID_STATE
        }
        DomainError::Banned => ErrorCode::BANNED,
        DomainError::TimedOut { until } => {
            ext.set("until", until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            ErrorCode::TIMED_OUT
        }
        DomainError::EmailNotVerified => ErrorCode::EMAIL_NOT_VERIFIED,
        DomainError::InvalidToken(kind) => {
            ext.set("token", *kind);
            ErrorCode::INVALID_TOKEN
        }
        DomainError::RateLimited { retry_after_s } => {
            ext.set("retryAfter", *retry_after_s);
            ErrorCode::RATE_LIMITED
        }
        DomainError::Unavailable { dependency, retry_after_s } => {
            ext.set("dependency", *dependency);
            ext.set("retryAfter", *retry_after_s);
            ErrorCode::UNAVAILABLE
        }
        DomainError::Internal(_) => {
            if let Some(id) = trace_id {
                ext.set("traceId", id);
            }
            ErrorCode::INTERNAL
        }
    }
}

fn set_extensions(err: &DomainError, ext: &mut ErrorExtensionValues, trace_id: Option<&str>) {
    let code = extensions_of(err, ext, trace_id);
    ext.set("code", code.as_str());
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
pub fn transport_error(code: ErrorCode, message: impl Into<String>) -> async_graphql::ServerError {
    let mut err = async_graphql::ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    err.extensions = Some(ext);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_maps_to_a_declared_code_and_documents_its_extensions() {
        let errors = [
            DomainError::Unauthenticated("x"),
            DomainError::Forbidden { needed: stoa_domain::authz::Permission::ManageMembers },
            DomainError::NotFound("workspace"),
            DomainError::invalid("email", "bad"),
            DomainError::Conflict("taken"),
            DomainError::RateLimited { retry_after_s: 3 },
            DomainError::database_unavailable(),
            DomainError::Internal(anyhow::anyhow!("secret detail")),
        ];
        for err in errors {
            let gql: async_graphql::Error = GqlError::from(err).into();
            let ext = serde_json::to_value(gql.extensions.as_ref()).unwrap_or_default();
            let code = ext["code"].as_str().and_then(ErrorCode::parse);
            let Some(code) = code else { panic!("no declared code in {ext}") };
            for key in ext.as_object().into_iter().flat_map(|o| o.keys()).filter(|k| *k != "code") {
                assert!(code.extensions().contains(&format!("`{key}`")), "{code:?} sets {key}, undocumented");
            }
            assert!(!gql.message.contains("secret detail"));
        }
    }

    #[test]
    fn the_fallback_bodies_carry_the_internal_code() {
        let body: serde_json::Value = serde_json::from_str(INTERNAL_RESPONSE).unwrap_or_default();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert_eq!(body["errors"], internal_errors());
        assert_eq!(body["errors"][0]["message"], "internal error");
    }

    #[test]
    fn a_transport_error_carries_its_code() {
        let err = transport_error(ErrorCode::BAD_REQUEST, "no");
        assert_eq!(ErrorCode::of(&err), Some(ErrorCode::BAD_REQUEST));
        assert_eq!(ErrorCode::of(&async_graphql::ServerError::new("bare", None)), None);
    }
}
