//! The scan job: release a clean file, destroy an infected one and tell its uploader.

use stoa_entities::attachments;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::files::model::{Attachment, AttachmentStatus, clean_key, quarantine_key};
use crate::files::store::{self, InfectedNotice};
use crate::ids::{AttachmentId, UserId, WorkspaceId};
use crate::ports::scanner::ScanVerdict;
use crate::ports::scanner::sha256_hex;

/// Scans one attachment. Idempotent: anything but `pending_scan` is left alone, also when it
/// changes during the scan (a file deleted with its message stays deleted, and its clean copy is
/// removed). A scanner failure is returned as an error so the job is retried; it never marks a
/// file clean.
///
/// # Errors
/// `Internal` when the scanner or storage fails (retry).
#[tracing::instrument(skip_all, fields(attachment = %id))]
pub async fn scan_attachment(app: &AppCtx, id: AttachmentId) -> Result<()> {
    let Some(row) = store::attachment(app.db(), id).await? else { return Ok(()) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::PendingScan {
        return Ok(());
    }
    let Some(bytes) = app.storage().get(&quarantine_key(id)).await? else {
        let detail = Some("the quarantined object is missing".into());
        return finish(app, row, AttachmentStatus::ScanFailed, detail).await.map(drop);
    };
    // Exactly the bytes completeUpload checked, or nothing: anything else in quarantine is refused.
    if row.sha256.as_deref().is_some_and(|expected| expected != sha256_hex(&bytes)) {
        app.storage().delete(&quarantine_key(id)).await?;
        let reason = Some("the quarantined bytes are not the ones checked at upload".into());
        return finish(app, row, AttachmentStatus::ScanFailed, reason).await.map(drop);
    }
    match app.scanner().scan(&bytes).await.map_err(DomainError::Internal)? {
        ScanVerdict::Clean => {
            // The bytes scanned are the bytes written: no copy of a key that may have changed since.
            app.storage().put_for_download(&clean_key(id), bytes).await?;
            app.storage().delete(&quarantine_key(id)).await?;
            let image = row.mime.starts_with("image/");
            if !finish(app, row, AttachmentStatus::Clean, None).await? {
                app.storage().delete(&clean_key(id)).await?; // deleted while scanned: nothing to release
                return Ok(());
            }
            if image {
                app.jobs().enqueue(crate::jobs::Job::Thumbnail { id }).await?;
            }
            Ok(())
        }
        ScanVerdict::Infected(signature) => {
            app.storage().delete(&quarantine_key(id)).await?;
            finish(app, row, AttachmentStatus::Infected, Some(signature)).await.map(drop)
        }
    }
}

/// Gives up on a file whose scan kept failing (the job runtime calls this after the last attempt).
///
/// # Errors
/// `Internal` on database failure.
pub async fn mark_scan_failed(app: &AppCtx, id: AttachmentId, reason: &str) -> Result<()> {
    let Some(row) = store::attachment(app.db(), id).await? else { return Ok(()) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::PendingScan {
        return Ok(());
    }
    finish(app, row, AttachmentStatus::ScanFailed, Some(reason.chars().take(200).collect())).await.map(drop)
}

/// Records the outcome; an infected file also notifies its uploader and is audited. `false` (and
/// nothing recorded) when the file stopped waiting for its scan meanwhile.
async fn finish(
    app: &AppCtx,
    row: attachments::Model,
    status: AttachmentStatus,
    detail: Option<String>,
) -> Result<bool> {
    let mut tx = app.begin().await?;
    let uploader = UserId(row.uploader_id);
    let workspace = WorkspaceId(row.workspace_id);
    let filename = row.filename.clone();
    let id = AttachmentId(row.id);
    let Some(saved) = store::set_scan_result(tx.db(), id, status, detail.clone(), app.now()).await? else {
        return Ok(false);
    };
    let saved: Attachment = saved.into();
    if status == AttachmentStatus::Infected {
        let notice = InfectedNotice {
            uploader,
            workspace,
            message: saved.message_id,
            preview: format!("{filename} was removed: {}", detail.as_deref().unwrap_or("malware found")),
            at: app.now(),
        };
        let note = store::insert_infected_notice(tx.db(), notice).await?;
        tx.emit(Event::NotificationCreated(note));
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
    tx.commit().await?;
    Ok(true)
}

/// Files waiting for a scan for longer than `older_than`: their job was lost (a worker died while
/// holding it). Scans are idempotent, so the runtime simply queues them again.
///
/// # Errors
/// `Internal` on database failure.
pub async fn stale_scans(app: &AppCtx, older_than: std::time::Duration) -> Result<Vec<AttachmentId>> {
    let cutoff = app.now() - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
    store::pending_scans_before(app.db(), cutoff, 500).await
}
