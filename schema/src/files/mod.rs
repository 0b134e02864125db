//! GraphQL surface of files: multipart uploads, signed-URL uploads, attachments and downloads.

mod loaders;
mod mutation;
mod query;
mod subscription;
mod types;

pub use loaders::AttachmentsLoader;
pub use mutation::{FilesAdminMutation, FilesMutation};
pub use query::{FilesAdminQuery, FilesQuery};
pub use subscription::FilesSubscription;
pub use types::Attachment;
