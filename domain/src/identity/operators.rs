//! Instance operators: the site-wide role above every workspace role. An operator's session may
//! introspect and send free-form documents where everyone else runs only trusted documents (the
//! playground in production). Granted and revoked only by `stoa operator` on the server's command
//! line, audited, and never settable through the API (no resolver calls `grant` or `revoke`).

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use stoa_entities::{site_operators, users};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::identity::password::Email;

/// One operator.
#[derive(Debug, Clone)]
pub struct Operator {
    pub email: String,
    pub granted_at: DateTime<Utc>,
}

/// Who grants and revokes: the command line, as the audit log names it.
const CLI: Actor = Actor::System("cli");

async fn user_by_email(app: &AppCtx, email: &str) -> Result<users::Model> {
    let email = Email::parse(email)?;
    users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(app.db())
        .await?
        .ok_or(DomainError::NotFound("user"))
}

/// Grants the operator role to the account with `email`.
///
/// # Errors
/// `BAD_USER_INPUT` for a malformed address, `NOT_FOUND` without such an account, `CONFLICT` when
/// it is an operator already.
pub async fn grant_operator(app: &AppCtx, email: &str) -> Result<Operator> {
    let user = user_by_email(app, email).await?;
    let now = app.now();
    let mut tx = app.begin().await?;
    site_operators::Entity::insert(site_operators::ActiveModel { user_id: Set(user.id), granted_at: Set(now) })
        .exec(tx.db())
        .await
        .on_unique(|| DomainError::Conflict("already an operator"))?;
    audit::record(&mut tx, AuditRecord::new(&CLI, None, "operator.granted", "user", Some(user.id))).await?;
    tx.commit().await?;
    Ok(Operator { email: user.email, granted_at: now })
}

/// Revokes the operator role of the account with `email`.
///
/// # Errors
/// `BAD_USER_INPUT`, `NOT_FOUND` without such an account or when it is no operator.
pub async fn revoke_operator(app: &AppCtx, email: &str) -> Result<()> {
    let user = user_by_email(app, email).await?;
    let mut tx = app.begin().await?;
    let gone = site_operators::Entity::delete_by_id(user.id).exec(tx.db()).await?;
    if gone.rows_affected == 0 {
        return Err(DomainError::NotFound("operator"));
    }
    audit::record(&mut tx, AuditRecord::new(&CLI, None, "operator.revoked", "user", Some(user.id))).await?;
    tx.commit().await?;
    Ok(())
}

/// Every operator, by the time they were granted the role.
///
/// # Errors
/// `INTERNAL` when the database fails.
pub async fn list_operators(app: &AppCtx) -> Result<Vec<Operator>> {
    let rows = site_operators::Entity::find().order_by_asc(site_operators::Column::GrantedAt).all(app.db()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(user) = users::Entity::find_by_id(row.user_id).one(app.db()).await? {
            out.push(Operator { email: user.email, granted_at: row.granted_at });
        }
    }
    Ok(out)
}

/// Whether `actor` is a signed-in user holding the operator role.
///
/// # Errors
/// `INTERNAL` when the database fails.
pub async fn is_operator(app: &AppCtx, actor: &Actor) -> Result<bool> {
    let Ok(user) = actor.user_id() else { return Ok(false) };
    Ok(site_operators::Entity::find_by_id(user.0).one(app.db()).await?.is_some())
}
