//! Files: uploads (small ones through GraphQL multipart, large ones through a signed PUT URL),
//! attachments owned by a message or a ticket, virus scanning, and signed downloads of clean files.
//!
//! Owns `attachments`. Objects live under `quarantine/<id>` until scanned and `clean/<id>` after;
//! only clean files can be downloaded. Deleting a message deletes its files: their status becomes
//! `deleted` (shown to no one) and their objects are removed. Scanning runs as a [`crate::jobs::Job`].

mod admin;
mod avatar;
mod discard;
mod model;
pub mod policy;
mod scan;
mod store;
mod thumbnail;
mod upload;

pub use admin::{failed_scans, retry_scan, set_upload_limit};
pub use avatar::{avatar_keys, avatar_url, remove_avatar, render_avatar, set_avatar, set_workspace_icon};
pub(crate) use discard::{discard_with_message, remove_objects};
pub use model::{Attachment, AttachmentStatus, FilesSettings};
pub use scan::{mark_scan_failed, scan_attachment, stale_scans};
pub(crate) use store::{attachments_in_channel, mark_deleted_in_channel};
pub use thumbnail::make_thumbnail;
pub(crate) use upload::attach_to_message;
pub(crate) use upload::attachments_on;
pub use upload::{
    CreateUpload, UploadFile, attachment, attachments_of_messages, complete_upload, create_upload, download_url,
    thumbnail_url, upload_file,
};
