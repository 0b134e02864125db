//! Typed `UUIDv7` identifiers, so a `UserId` can never be passed where a `WorkspaceId` is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )*};
}

id_type!(
    /// A user account.
    UserId,
    /// A refresh-token family: one login and all its rotations.
    SessionFamilyId,
    /// A workspace (tenant).
    WorkspaceId,
    /// A department inside a workspace.
    DepartmentId,
    /// An audit log entry.
    AuditEntryId,
    /// A chat channel (public, private, direct, ticket or voice).
    ChannelId,
    /// A chat message.
    MessageId,
    /// A stored notification.
    NotificationId,
    /// An uploaded file.
    AttachmentId,
    /// An outbound mail.
    MailId,
    /// A helpdesk ticket.
    TicketId,
    /// A business calendar (hours, zone, holidays).
    SlaCalendarId,
    /// An SLA policy (targets by priority, department, category).
    SlaPolicyId,
);
