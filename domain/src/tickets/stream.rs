//! `ticketEvents` and `ticketQueue`: subscribed before the access check (nothing published
//! between the two is lost), re-checked periodically (a viewer who loses access is cut off), and
//! filtered so a requester never receives an internal kind.

use futures::StreamExt as _;
use futures::stream::BoxStream;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::error::{DomainError, Result};
use crate::events::{Event, Topic};
use crate::ids::{DepartmentId, TicketId};
use crate::recheck::{AccessCheck, while_allowed};
use crate::tickets::model::{QueueEvent, TicketEvent};
use crate::tickets::queries;

fn ticket_access(app: &AppCtx, actor: &Actor, id: TicketId) -> AccessCheck {
    let (app, actor) = (app.clone(), actor.clone());
    Box::new(move || {
        let (app, actor) = (app.clone(), actor.clone());
        Box::pin(async move { queries::ticket(&app, &actor, id).await.map(|_| ()) })
    })
}

/// The events of one ticket (and, for its staff, of its sub-tickets). Requesters receive public
/// kinds only.
///
/// # Errors
/// `UNAUTHENTICATED`; `NOT_FOUND` when the viewer may not see the ticket.
pub async fn ticket_events(
    app: &AppCtx,
    actor: &Actor,
    id: TicketId,
) -> Result<BoxStream<'static, std::sync::Arc<TicketEvent>>> {
    let events = app.bus().subscribe(&Topic::Ticket(id));
    app.bus().subscribed(&Topic::Ticket(id)).await;
    let ticket = queries::ticket(app, actor, id).await?;
    let staff = ticket.viewer_is_staff;
    let events = events
        .filter_map(move |event| {
            let item = match event {
                // The allocation every local subscriber shares (grouped renders match on it).
                Event::Ticket(e) if staff || (!e.kind.internal() && e.ticket_id == id) => Some(e),
                _ => None,
            };
            futures::future::ready(item)
        })
        .boxed();
    Ok(while_allowed(events, app.chat().stream_recheck, ticket_access(app, actor, id)))
}

fn department_access(app: &AppCtx, actor: &Actor, department: DepartmentId) -> AccessCheck {
    let (app, actor) = (app.clone(), actor.clone());
    Box::new(move || {
        let (app, actor) = (app.clone(), actor.clone());
        Box::pin(async move { staff_of(&app, &actor, department).await })
    })
}

/// Staff of `department`: its agents, moderators and above.
async fn staff_of(app: &AppCtx, actor: &Actor, department: DepartmentId) -> Result<()> {
    use sea_orm::EntityTrait as _;
    let dept = stoa_entities::departments::Entity::find_by_id(department.0)
        .one(app.db())
        .await?
        .ok_or(DomainError::NotFound("department"))?;
    let viewer = crate::tickets::store::viewer(app.db(), actor, dept.workspace_id.into(), "department").await?;
    // Its queue is the staff's business: to anyone else it does not exist.
    if viewer.staffs(department) { Ok(()) } else { Err(DomainError::NotFound("department")) }
}

/// Admissions and queueing of one department, for its staff.
///
/// # Errors
/// `UNAUTHENTICATED`; `NOT_FOUND` (not its staff).
pub async fn queue_events(
    app: &AppCtx,
    actor: &Actor,
    department: DepartmentId,
) -> Result<BoxStream<'static, std::sync::Arc<QueueEvent>>> {
    let events = app.bus().subscribe(&Topic::Department(department));
    app.bus().subscribed(&Topic::Department(department)).await;
    staff_of(app, actor, department).await?;
    let events = events
        .filter_map(|event| {
            futures::future::ready(match event {
                Event::TicketQueue(e) => Some(e),
                _ => None,
            })
        })
        .boxed();
    Ok(while_allowed(events, app.chat().stream_recheck, department_access(app, actor, department)))
}
