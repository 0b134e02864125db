//! The scan job: release a clean file, destroy an infected one and tell its uploader.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use stoa_entities::{attachments, notifications};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::chat::Notification;
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::files::model::{Attachment, AttachmentStatus, clean_key, quarantine_key};
use crate::ids::{AttachmentId, NotificationId, WorkspaceId};
use crate::ports::scanner::ScanVerdict;

/// Scans one attachment. Idempotent: anything but `pending_scan` is left alone. A scanner failure
/// is returned as an error so the job is retried; it never marks a file clean.
///
/// # Errors
/// `Internal` when the scanner or storage fails (retry).
#[tracing::instrument(skip_all, fields(attachment = %id))]
pub async fn scan_attachment(app: &AppCtx, id: AttachmentId) -> Result<()> {
    let Some(row) = attachments::Entity::find_by_id(id.0).one(app.db()).await? else { return Ok(()) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::PendingScan {
        return Ok(());
    }
    let Some(bytes) = app.storage().get(&quarantine_key(id)).await? else {
        return finish(app, row, AttachmentStatus::ScanFailed, Some("the quarantined object is missing".into())).await;
    };
    match app.scanner().scan(&bytes).await.map_err(DomainError::Internal)? {
        ScanVerdict::Clean => {
            app.storage().copy(&quarantine_key(id), &clean_key(id)).await?;
            app.storage().delete(&quarantine_key(id)).await?;
            let image = row.mime.starts_with("image/");
            finish(app, row, AttachmentStatus::Clean, None).await?;
            if image {
                app.jobs().enqueue(crate::jobs::Job::Thumbnail { id }).await?;
            }
            Ok(())
        }
        ScanVerdict::Infected(signature) => {
            app.storage().delete(&quarantine_key(id)).await?;
            finish(app, row, AttachmentStatus::Infected, Some(signature)).await
        }
    }
}

/// Gives up on a file whose scan kept failing (the job runtime calls this after the last attempt).
///
/// # Errors
/// `Internal` on database failure.
pub async fn mark_scan_failed(app: &AppCtx, id: AttachmentId, reason: &str) -> Result<()> {
    let Some(row) = attachments::Entity::find_by_id(id.0).one(app.db()).await? else { return Ok(()) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::PendingScan {
        return Ok(());
    }
    finish(app, row, AttachmentStatus::ScanFailed, Some(reason.chars().take(200).collect())).await
}

async fn finish(app: &AppCtx, row: attachments::Model, status: AttachmentStatus, detail: Option<String>) -> Result<()> {
    let mut tx = app.begin().await?;
    let uploader = row.uploader_id;
    let workspace = WorkspaceId(row.workspace_id);
    let filename = row.filename.clone();
    let mut model = row.into_active_model();
    model.status = Set(status.as_str().to_owned());
    model.scan_detail = Set(detail.clone());
    model.scanned_at = Set(Some(app.now()));
    let saved: Attachment = model.update(tx.db()).await?.into();
    if status == AttachmentStatus::Infected {
        let note = notifications::Entity::insert(notifications::ActiveModel {
            id: Set(NotificationId::new().0),
            user_id: Set(uploader),
            workspace_id: Set(workspace.0),
            kind: Set("file_infected".into()),
            channel_id: Set(None),
            message_id: Set(saved.message_id.map(|m| m.0)),
            actor_id: Set(None),
            preview: Set(format!("{filename} was removed: {}", detail.as_deref().unwrap_or("malware found"))),
            created_at: Set(app.now()),
            read_at: Set(None),
        })
        .exec_with_returning(tx.db())
        .await?;
        tx.emit(Event::NotificationCreated(Notification::from(note)));
        let record = AuditRecord::new(
            &Actor::system("file_scan"),
            Some(workspace),
            "attachment.infected",
            "attachment",
            Some(saved.id.0),
        )
        .with(serde_json::json!({ "signature": detail }));
        audit::record(&mut tx, record).await?;
    }
    tx.emit(Event::AttachmentScanned(saved));
    tx.commit().await
}

/// Files waiting for a scan for longer than `older_than`: their job was lost (a worker died while
/// holding it). Scans are idempotent, so the runtime simply queues them again.
///
/// # Errors
/// `Internal` on database failure.
pub async fn stale_scans(app: &AppCtx, older_than: std::time::Duration) -> Result<Vec<AttachmentId>> {
    use sea_orm::{ColumnTrait as _, QueryFilter as _, QuerySelect as _};
    let cutoff = app.now() - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
    let rows = attachments::Entity::find()
        .filter(attachments::Column::Status.eq(AttachmentStatus::PendingScan.as_str()))
        .filter(attachments::Column::CreatedAt.lt(cutoff))
        .limit(500)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(|r| AttachmentId(r.id)).collect())
}
