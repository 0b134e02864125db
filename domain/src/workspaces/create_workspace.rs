//! Creating a workspace: the creator becomes its owner.

use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use stoa_entities::workspaces;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Role;
use crate::error::{DomainError, OnUnique as _, Result};
use crate::events::Event;
use crate::ids::WorkspaceId;
use crate::workspaces::model::Workspace;
use crate::workspaces::store;

/// Input of [`create_workspace`].
#[derive(Debug, Clone)]
pub struct CreateWorkspace {
    pub name: String,
    /// URL-safe handle; derived from the name when absent.
    pub slug: Option<String>,
}

pub(crate) fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > 80 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be 1 to 80 characters, no control characters"));
    }
    Ok(name.to_owned())
}

/// Lower-case ASCII letters, digits and single dashes, 3 to 40 characters.
pub(crate) fn parse_slug(raw: &str) -> Result<String> {
    let ok = (3..=40).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !raw.starts_with('-')
        && !raw.ends_with('-')
        && !raw.contains("--");
    if ok { Ok(raw.to_owned()) } else { Err(DomainError::invalid("slug", "3 to 40 of a-z, 0-9 and single dashes")) }
}

fn slug_from(name: &str, id: WorkspaceId) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(30).collect();
    // The id's random tail keeps derived slugs unique without a retry loop.
    let simple = id.0.simple().to_string();
    let tail = simple.get(simple.len() - 6..).unwrap_or("000000");
    if slug.len() < 3 { format!("ws-{tail}") } else { format!("{}-{tail}", slug.trim_matches('-')) }
}

/// Creates a workspace owned by the actor.
///
/// # Errors
/// `UNAUTHENTICATED`, `BAD_USER_INPUT` (name, slug), `CONFLICT` (slug taken).
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn create_workspace(app: &AppCtx, actor: &Actor, input: CreateWorkspace) -> Result<Workspace> {
    let owner = actor.user_id()?;
    let name = parse_name(&input.name)?;
    let id = WorkspaceId::new();
    let slug = match input.slug {
        Some(slug) => parse_slug(&slug)?,
        None => slug_from(&name, id),
    };
    let now = app.now();
    let mut tx = app.begin().await?;
    let row = workspaces::Entity::insert(workspaces::ActiveModel {
        id: Set(id.0),
        name: Set(name),
        slug: Set(slug),
        created_by: Set(owner.0),
        created_at: Set(now),
        max_upload_bytes: Set(None),
        invite_policy: Set(crate::workspaces::InvitePolicy::default().as_str().to_owned()),
        require_verified_email: Set(false),
        description: Set(None),
        icon_key: Set(None),
        // The migration's defaults (72 h, 14 days).
        ticket_auto_close_minutes: sea_orm::ActiveValue::NotSet,
        ticket_reopen_window_minutes: sea_orm::ActiveValue::NotSet,
    })
    .exec_with_returning(tx.db())
    .await
    .on_unique(|| DomainError::Conflict("slug already taken"))?;
    store::insert_membership(tx.db(), id, owner, Role::Owner, now).await?;
    audit::record(&mut tx, AuditRecord::new(actor, Some(id), "workspace.created", "workspace", Some(id.0))).await?;
    tx.emit(Event::MemberAdded { workspace_id: id, user_id: owner, role: Role::Owner });
    tx.commit().await?;
    Ok(Workspace::from_row(row, Role::Owner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked_and_derived() {
        assert!(parse_slug("acme-estate").is_ok());
        for bad in ["ab", "Acme", "acme--x", "-acme", "acme-", "ac me"] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
        let derived = slug_from("Sunny Hills Estate!", WorkspaceId::new());
        assert!(derived.starts_with("sunny-hills-estate-"), "{derived}");
        assert!(parse_slug(&derived).is_ok(), "{derived}");
        assert!(parse_slug(&slug_from("日本", WorkspaceId::new())).is_ok());
    }
}
