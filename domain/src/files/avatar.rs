//! Profile pictures and workspace icons, from an uploaded image that scanned clean: a job renders
//! it as 256 px and 64 px square WebP (centre-cropped, decoded with the thumbnail's limits) and
//! only then points the user or workspace at it; `avatarUrl` is a signed, expiring URL.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use stoa_entities::{users, workspaces};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, Result};
use crate::files::model::{AttachmentStatus, clean_key};
use crate::files::store;
use crate::files::thumbnail::{decode_limited, webp};
use crate::ids::{AttachmentId, UserId, WorkspaceId};
use crate::jobs::Job;

/// The sizes kept, in pixels.
pub const SIZES: [u32; 2] = [256, 64];

/// How long an avatar URL works.
const URL_TTL: std::time::Duration = std::time::Duration::from_hours(1);

fn key(set: &str, side: u32) -> String {
    format!("avatars/{set}/{side}.webp")
}

fn render(bytes: &[u8], side: u32) -> anyhow::Result<Vec<u8>> {
    let square = decode_limited(bytes)?.resize_to_fill(side, side, image::imageops::FilterType::Lanczos3);
    webp(&square.to_rgba8())
}

/// Checks that `attachment` may become the actor's picture (or a workspace's icon): the actor
/// uploaded it, it scanned clean, and it is an image.
async fn usable(app: &AppCtx, actor: &Actor, attachment: AttachmentId) -> Result<()> {
    let me = actor.user_id()?;
    let row = store::attachment(app.db(), attachment).await?;
    let Some(row) = row.filter(|r| r.uploader_id == me.0) else { return Err(DomainError::NotFound("attachment")) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::Clean {
        return Err(DomainError::invalid("attachmentId", "the file has not scanned clean"));
    }
    if !row.mime.starts_with("image/") {
        return Err(DomainError::invalid("attachmentId", "not an image"));
    }
    Ok(())
}

/// Makes an uploaded clean image the actor's profile picture (once the job has rendered it).
///
/// # Errors
/// `NOT_FOUND` (not the actor's upload), `BAD_USER_INPUT` (`attachmentId`: not clean, not an
/// image; or it does not decode, from the inline job).
pub async fn set_avatar(app: &AppCtx, actor: &Actor, attachment: AttachmentId) -> Result<()> {
    usable(app, actor, attachment).await?;
    app.jobs().enqueue(Job::Avatar { attachment, workspace: None }).await.map_err(DomainError::Internal)
}

/// Makes an uploaded clean image a workspace's icon, or removes it (`None`). Owners and admins.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` as [`set_avatar`].
pub async fn set_workspace_icon(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    attachment: Option<AttachmentId>,
) -> Result<()> {
    crate::workspaces::store::require_permission(app.db(), actor, workspace, Permission::ManageMembers).await?;
    let Some(attachment) = attachment else {
        let mut tx = app.begin().await?;
        workspaces::Entity::update_many()
            .col_expr(workspaces::Column::IconKey, Expr::value(Option::<String>::None))
            .filter(workspaces::Column::Id.eq(workspace.0))
            .exec(tx.db())
            .await?;
        audit::record(
            &mut tx,
            AuditRecord::new(actor, Some(workspace), "workspace.icon_removed", "workspace", Some(workspace.0)),
        )
        .await?;
        return tx.commit().await;
    };
    usable(app, actor, attachment).await?;
    app.jobs().enqueue(Job::Avatar { attachment, workspace: Some(workspace) }).await.map_err(DomainError::Internal)
}

/// Removes the actor's profile picture.
///
/// # Errors
/// `UNAUTHENTICATED`.
pub async fn remove_avatar(app: &AppCtx, actor: &Actor) -> Result<()> {
    let me = actor.user_id()?;
    users::Entity::update_many()
        .col_expr(users::Column::AvatarKey, Expr::value(Option::<String>::None))
        .filter(users::Column::Id.eq(me.0))
        .exec(app.db())
        .await?;
    Ok(())
}

/// The [`Job::Avatar`] handler: renders both sizes, then points the uploader (or the workspace)
/// at them. Idempotent; an image that does not decode changes nothing.
///
/// # Errors
/// `Internal` on storage or database failure (retried).
pub async fn render_avatar(app: &AppCtx, attachment: AttachmentId, workspace: Option<WorkspaceId>) -> Result<()> {
    let Some(row) = store::attachment(app.db(), attachment).await? else { return Ok(()) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::Clean {
        return Ok(());
    }
    let Some(bytes) = app.storage().get(&clean_key(attachment)).await? else { return Ok(()) };
    let set = attachment.to_string();
    for side in SIZES {
        let source = bytes.clone();
        let rendered = tokio::task::spawn_blocking(move || render(&source, side))
            .await
            .map_err(|e| DomainError::Internal(e.into()))?;
        match rendered {
            Ok(webp) => app.storage().put(&key(&set, side), webp.into()).await?,
            Err(e) => {
                tracing::info!(error = %e, "no avatar: the image does not decode");
                return Ok(());
            }
        }
    }
    match workspace {
        None => {
            users::Entity::update_many()
                .col_expr(users::Column::AvatarKey, Expr::value(Some(set)))
                .filter(users::Column::Id.eq(row.uploader_id))
                .exec(app.db())
                .await?;
        }
        Some(workspace) => {
            workspaces::Entity::update_many()
                .col_expr(workspaces::Column::IconKey, Expr::value(Some(set)))
                .filter(workspaces::Column::Id.eq(workspace.0))
                .exec(app.db())
                .await?;
        }
    }
    Ok(())
}

/// The avatar key of each of `users` that has one (`DataLoader` backend).
///
/// # Errors
/// `Internal` on database failure.
pub async fn avatar_keys(app: &AppCtx, ids: &[UserId]) -> Result<HashMap<UserId, String>> {
    let rows = users::Entity::find().filter(users::Column::Id.is_in(ids.iter().map(|u| u.0))).all(app.db()).await?;
    Ok(rows.into_iter().filter_map(|u| Some((UserId(u.id), u.avatar_key?))).collect())
}

/// A signed URL (one hour) of rendering `side` (256 or 64) of avatar `set`.
///
/// # Errors
/// `BAD_USER_INPUT` (`size`), `Internal` when signing fails.
pub async fn avatar_url(app: &AppCtx, set: &str, side: u32) -> Result<String> {
    if !SIZES.contains(&side) {
        return Err(DomainError::invalid("size", "256 or 64"));
    }
    Ok(app.storage().signed_download_url(&key(set, side), URL_TTL).await?)
}
