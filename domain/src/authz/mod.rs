//! Permission math: pure functions over roles, tested exhaustively. Loading the actor's role is the
//! job of each feature's store; deciding is done only here.

use serde::{Deserialize, Serialize};

/// A member's role in a workspace, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Moderator,
    Agent,
    Member,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Moderator, Role::Agent, Role::Member];

    /// Higher outranks lower.
    #[must_use]
    pub const fn rank(self) -> u8 {
        match self {
            Role::Owner => 5,
            Role::Admin => 4,
            Role::Moderator => 3,
            Role::Agent => 2,
            Role::Member => 1,
        }
    }

    /// The stored form.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Agent => "agent",
            Role::Member => "member",
        }
    }

    /// Parses the stored form.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Something an actor may or may not do inside a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    /// See the workspace, its members and departments.
    ViewWorkspace,
    /// Add, remove and re-role members.
    ManageMembers,
    /// Create, change and delete departments.
    ManageDepartments,
    /// Read the audit log.
    ViewAuditLog,
    /// Post in a channel (needs channel membership and a live channel).
    PostMessages,
    /// Delete others' messages.
    ModerateMessages,
    /// Archive channels and remove others from them.
    ManageChannels,
    /// Notify a whole large channel with `@channel`.
    MentionEveryone,
    /// Time out, ban and unban members below oneself.
    ModerateMembers,
    /// Fire a ticket transition the caller's part in the ticket allows (the transition table says
    /// who; this names the refusal).
    WorkTicket,
    /// Set up business calendars and SLA policies, and the workspace's ticket settings.
    ManageHelpdesk,
}

/// Whether `role` grants `permission`.
#[must_use]
pub const fn can(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::ViewWorkspace | Permission::PostMessages | Permission::WorkTicket => true,
        Permission::ModerateMessages | Permission::MentionEveryone | Permission::ModerateMembers => {
            matches!(role, Role::Owner | Role::Admin | Role::Moderator)
        }
        Permission::ManageChannels => matches!(role, Role::Owner | Role::Admin),
        Permission::ManageMembers
        | Permission::ManageDepartments
        | Permission::ViewAuditLog
        | Permission::ManageHelpdesk => {
            matches!(role, Role::Owner | Role::Admin)
        }
    }
}

/// Whether an actor with `actor` role may give `new` to someone whose role is `current` (`None`: not yet a member).
///
/// Owners may do anything. Admins manage only people below them and grant only roles below their own.
#[must_use]
pub fn can_assign(actor: Role, current: Option<Role>, new: Role) -> bool {
    if !can(actor, Permission::ManageMembers) {
        return false;
    }
    if actor == Role::Owner {
        return true;
    }
    current.is_none_or(|c| c.rank() < actor.rank()) && new.rank() < actor.rank()
}

/// Whether an actor with `actor` role may remove a member whose role is `target`. Leaving oneself is
/// handled by the caller (always allowed, except for the last owner).
#[must_use]
pub fn can_remove(actor: Role, target: Role) -> bool {
    can(actor, Permission::ManageMembers) && (actor == Role::Owner || target.rank() < actor.rank())
}

/// Whether an actor with `actor` role may time out or ban a member whose role is `target`:
/// moderators and above, on those below them (owners on anyone).
#[must_use]
pub fn can_moderate(actor: Role, target: Role) -> bool {
    can(actor, Permission::ModerateMembers) && (actor == Role::Owner || target.rank() < actor.rank())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_and_admins_manage_members_departments_and_audit() {
        for role in Role::ALL {
            let manager = matches!(role, Role::Owner | Role::Admin);
            assert!(can(role, Permission::ViewWorkspace));
            assert_eq!(can(role, Permission::ManageMembers), manager);
            assert_eq!(can(role, Permission::ManageDepartments), manager);
            assert_eq!(can(role, Permission::ViewAuditLog), manager);
            assert_eq!(can(role, Permission::ManageChannels), manager);
            assert_eq!(can(role, Permission::ModerateMessages), manager || role == Role::Moderator);
            assert!(can(role, Permission::PostMessages));
        }
    }

    #[test]
    fn owners_assign_any_role_to_anyone() {
        for current in Role::ALL.map(Some).into_iter().chain([None]) {
            for new in Role::ALL {
                assert!(can_assign(Role::Owner, current, new));
            }
        }
    }

    #[test]
    fn admins_assign_only_below_themselves_to_people_below_themselves() {
        for current in Role::ALL.map(Some).into_iter().chain([None]) {
            for new in Role::ALL {
                let expected = current.is_none_or(|c| c.rank() < Role::Admin.rank()) && new.rank() < Role::Admin.rank();
                assert_eq!(can_assign(Role::Admin, current, new), expected, "{current:?} -> {new:?}");
            }
        }
    }

    #[test]
    fn roles_below_admin_assign_nothing_and_remove_no_one() {
        for actor in [Role::Moderator, Role::Agent, Role::Member] {
            for target in Role::ALL {
                assert!(!can_remove(actor, target));
                assert!(!can_assign(actor, Some(target), Role::Member));
                assert!(!can_assign(actor, None, Role::Member));
            }
        }
    }

    #[test]
    fn admins_remove_only_people_below_them() {
        for target in Role::ALL {
            assert_eq!(can_remove(Role::Admin, target), target.rank() < Role::Admin.rank());
            assert!(can_remove(Role::Owner, target));
        }
    }

    #[test]
    fn stored_role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
