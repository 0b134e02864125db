//! Typed access to what the transport puts in each request: the app, the actor, the client address.

use async_graphql::Context;
use stoa_domain::{Actor, AppCtx, DomainError};

use crate::error::{GqlError, Result};

/// The verified caller of this request, or why there is none: `Err("sign in required")` for an
/// anonymous request, `Err("invalid or expired access token")` for a refused token. A refused token
/// fails only the fields that need a user, so `login` and `refreshSession` still work with a stale
/// `Authorization` header.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Result<Actor, &'static str>);

/// The client's address as the transport saw it.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Helpers on the resolver context; never use bare `data_unchecked`.
pub trait ContextExt {
    /// The application context.
    ///
    /// # Errors
    /// `INTERNAL` when the schema was built without it (a wiring bug).
    fn app(&self) -> Result<&AppCtx>;
    /// The signed-in actor.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for an anonymous request.
    fn actor(&self) -> Result<&Actor>;
    /// The signed-in actor, giving `reason` (an admin mutation's argument) for the audit log.
    ///
    /// # Errors
    /// `UNAUTHENTICATED`; `BAD_USER_INPUT` on `reason`.
    fn acting(&self, reason: Option<String>) -> Result<Actor>;
    /// The client's address, or "unknown".
    fn client_ip(&self) -> String;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> Result<&AppCtx> {
        self.data_opt::<AppCtx>()
            .ok_or_else(|| GqlError::from(DomainError::Internal(anyhow::anyhow!("AppCtx missing"))))
    }

    fn actor(&self) -> Result<&Actor> {
        match self.data_opt::<RequestActor>().map(|a| a.0.as_ref()) {
            Some(Ok(actor)) => Ok(actor),
            Some(Err(reason)) => Err(DomainError::Unauthenticated(reason).into()),
            None => Err(DomainError::Unauthenticated("sign in required").into()),
        }
    }

    fn acting(&self, reason: Option<String>) -> Result<Actor> {
        Ok(self.actor()?.because(reason)?)
    }

    fn client_ip(&self) -> String {
        self.data_opt::<ClientIp>().map_or_else(|| "unknown".to_owned(), |ip| ip.0.clone())
    }
}

/// An optional input field as the domain reads it: undefined leaves a field as it is (`None`),
/// null clears it (`Some(None)`), a value sets it.
#[must_use]
pub fn maybe(value: async_graphql::MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        async_graphql::MaybeUndefined::Undefined => None,
        async_graphql::MaybeUndefined::Null => Some(None),
        async_graphql::MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// Parses an `ID!` argument as a UUID.
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn parse_id<T: From<uuid::Uuid>>(id: &async_graphql::ID, field: &'static str) -> Result<T> {
    uuid::Uuid::parse_str(id.as_str()).map(T::from).map_err(|_| GqlError::invalid(field, "not a valid ID"))
}

/// The request's `DataLoader<T>`, attached by the transport for every request.
///
/// # Errors
/// `INTERNAL` when the transport did not attach it (a wiring bug).
pub fn loader<'a, T: Send + Sync + 'static>(ctx: &Context<'a>) -> Result<&'a async_graphql::dataloader::DataLoader<T>> {
    ctx.data_opt::<async_graphql::dataloader::DataLoader<T>>().ok_or_else(|| {
        GqlError::from(DomainError::Internal(anyhow::anyhow!("DataLoader<{}> missing", std::any::type_name::<T>())))
    })
}
