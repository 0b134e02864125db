//! Read receipts: moving the actor's read mark forward.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use stoa_entities::channel_members;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::model::Channel;
use crate::chat::store::{self, channel_view};
use crate::error::{DomainError, Result};
use crate::ids::ChannelId;

/// Marks the channel read up to `seq` (clamped to the channel's last seq). The mark never moves back.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not a member), `BAD_USER_INPUT` (negative seq).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), channel = %id))]
pub async fn mark_read(app: &AppCtx, actor: &Actor, id: ChannelId, seq: i64) -> Result<Channel> {
    if seq < 0 {
        return Err(DomainError::invalid("seq", "must not be negative"));
    }
    let tx = app.begin().await?;
    let access = store::readable(tx.db(), actor, id).await?;
    let member =
        access.member.as_ref().ok_or(DomainError::Forbidden { needed: crate::authz::Permission::PostMessages })?;
    let target = seq.min(access.channel.last_seq).max(member.last_read_seq);
    channel_members::Entity::update_many()
        .col_expr(channel_members::Column::LastReadSeq, Expr::value(target))
        .filter(channel_members::Column::Id.eq(member.id))
        .exec(tx.db())
        .await?;
    tx.commit().await?;
    Ok(channel_view(access.channel, Some(target)))
}
