//! Changing one's own display name and custom status.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveModelTrait, EntityTrait};
use stoa_entities::users;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::error::{DomainError, Result};
use crate::identity::model::User;
use crate::identity::password::DisplayName;

/// Fields to change; `None` leaves a field as it is, `Some(None)` clears a status field.
#[derive(Debug, Clone, Default)]
pub struct UpdateProfile {
    pub display_name: Option<String>,
    pub status_text: Option<Option<String>>,
    pub status_emoji: Option<Option<String>>,
}

fn status_text(raw: Option<String>) -> Result<Option<String>> {
    let Some(text) = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > 100 || text.chars().any(char::is_control) {
        return Err(DomainError::invalid("statusText", "at most 100 characters, no control characters"));
    }
    Ok(Some(text))
}

fn status_emoji(raw: Option<String>) -> Result<Option<String>> {
    let Some(emoji) = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    // One emoji can be several code points (ZWJ sequences, skin tones); bound it, and refuse plain text.
    if emoji.chars().count() > 16 || emoji.chars().any(|c| c.is_ascii_alphanumeric() || c.is_control()) {
        return Err(DomainError::invalid("statusEmoji", "a single emoji expected"));
    }
    Ok(Some(emoji))
}

/// Updates the actor's own profile.
///
/// # Errors
/// `UNAUTHENTICATED`, `BAD_USER_INPUT` (displayName, statusText, statusEmoji).
#[tracing::instrument(skip_all, fields(actor = %actor.label()))]
pub async fn update_profile(app: &AppCtx, actor: &Actor, input: UpdateProfile) -> Result<User> {
    let id = actor.user_id()?;
    let mut model = users::ActiveModel { id: Set(id.0), ..Default::default() };
    model.display_name = match input.display_name {
        Some(name) => Set(DisplayName::parse(&name)?.into_inner()),
        None => NotSet,
    };
    model.status_text = input.status_text.map_or(Ok(NotSet), |t| status_text(t).map(Set))?;
    model.status_emoji = input.status_emoji.map_or(Ok(NotSet), |e| status_emoji(e).map(Set))?;
    let status_changes = model.status_text.is_set() || model.status_emoji.is_set();
    model.updated_at = Set(app.now());
    let tx = app.begin().await?;
    if users::Entity::find_by_id(id.0).one(tx.db()).await?.is_none() {
        return Err(DomainError::Unauthenticated("account no longer exists"));
    }
    let user = model.update(tx.db()).await?;
    tx.commit().await?;
    if status_changes {
        // Ephemeral, like presence itself: a failed signal does not undo the saved status.
        if let Err(e) = crate::chat::presence::status_changed(app, id).await {
            tracing::warn!(error = %format_args!("{e:#}"), "announcing a status change failed");
        }
    }
    Ok(User::from(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_trimmed_bounded_and_clearable() {
        assert_eq!(status_text(Some("  in a meeting ".into())).ok(), Some(Some("in a meeting".to_owned())));
        assert_eq!(status_text(Some("   ".into())).ok(), Some(None));
        assert!(status_text(Some("x".repeat(101))).is_err());
        assert_eq!(status_emoji(Some("🌴".into())).ok(), Some(Some("🌴".to_owned())));
        assert!(status_emoji(Some("palm".into())).is_err());
    }
}
