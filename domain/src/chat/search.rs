//! Full-text search over the messages of the channels a viewer can read in a workspace, newest
//! first with an id cursor. One statement per page; nothing here writes.

use sea_orm::{ConnectionTrait as _, FromQueryResult as _};
use stoa_entities::messages;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::Message;
use crate::chat::store::stmt;
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, WorkspaceId};
use crate::pagination;
use crate::workspaces::store::require_permission;

/// Search hits, newest first, with an opaque cursor (the last hit's id).
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<Message>,
    pub has_next_page: bool,
}

fn search_terms(raw: &str) -> Result<Vec<String>> {
    let terms: Vec<String> =
        raw.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).take(16).map(str::to_lowercase).collect();
    if terms.is_empty() || raw.len() > 500 {
        return Err(DomainError::invalid("query", "1 to 500 characters with at least one word"));
    }
    Ok(terms)
}

/// Full-text search over the messages of channels the actor can read in `workspace`
/// (Postgres: GIN over `to_tsvector('simple', body)`; SQLite: FTS5). Every word must match.
///
/// # Errors
/// `NOT_FOUND` (not a member), `BAD_USER_INPUT` (query).
pub async fn search(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    query: &str,
    first: Option<u64>,
    after: Option<MessageId>,
) -> Result<SearchPage> {
    let user = actor.user_id()?;
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let terms = search_terms(query)?;
    let limit = pagination::limit(first, 20);
    let backend = app.db().get_database_backend();
    let (matcher, join, needle) = if backend == sea_orm::DbBackend::Postgres {
        ("to_tsvector('simple', m.body) @@ to_tsquery('simple', $3)", "", terms.join(" & "))
    } else {
        let quoted: Vec<String> = terms.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect();
        ("messages_fts MATCH $3", "JOIN messages_fts ON messages_fts.rowid = m.rowid", quoted.join(" "))
    };
    let sql = format!(
        "SELECT m.* FROM messages m {join} JOIN channels c ON c.id = m.channel_id \
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2 \
         WHERE c.workspace_id = $1 AND c.deleted_at IS NULL AND (c.kind = 'public' OR cm.id IS NOT NULL) \
         AND m.deleted_at IS NULL \
         AND {matcher} AND ($4 IS NULL OR m.id < $4) ORDER BY m.id DESC LIMIT $5"
    );
    let values: Vec<sea_orm::Value> = vec![
        workspace.0.into(),
        user.0.into(),
        needle.into(),
        after.map(|a| a.0).into(),
        i64::try_from(limit + 1).unwrap_or(i64::MAX).into(),
    ];
    let rows = app.db().query_all_raw(stmt(backend, &sql, values)).await?;
    let mut items = rows
        .iter()
        .map(|row| messages::Model::from_query_result(row, "").map(Message::from))
        .collect::<Result<Vec<_>, _>>()?;
    let has_next_page = items.len() as u64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(SearchPage { items, has_next_page })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_words_only() {
        assert_eq!(
            search_terms("Boiler, \"broken\" AND-NOT*").ok(),
            Some(vec!["boiler".into(), "broken".into(), "and".into(), "not".into()])
        );
        assert!(search_terms("  *** ").is_err());
    }
}
