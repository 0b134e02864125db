//! Operation budgets: a token bucket per client address and one per user, sized by the user's
//! highest role. Backed by the domain's `RateLimiter` (in-process, or Redis so replicas share one
//! budget). When Redis cannot be reached, `STOA_RATE_LIMIT_REDIS_DOWN` decides (see
//! `adapters::GuardedLimiter`): `open` limits by this replica alone, `closed` refuses `UNAVAILABLE`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stoa_domain::authz::Role;
use stoa_domain::ids::UserId;
use stoa_domain::ports::ratelimit::Budget;
use stoa_domain::{AppCtx, workspaces};
use stoa_schema::RequestActor;

/// Budgets in operations per minute.
#[derive(Debug, Clone)]
pub struct OpBudgets {
    /// Every operation from one address.
    pub per_ip: u32,
    /// Per user, by their highest role anywhere (users in no workspace count as members).
    pub owner: u32,
    pub admin: u32,
    pub moderator: u32,
    pub agent: u32,
    pub member: u32,
}

impl Default for OpBudgets {
    fn default() -> Self {
        Self { per_ip: 600, owner: 300, admin: 300, moderator: 250, agent: 250, member: 150 }
    }
}

impl OpBudgets {
    fn for_role(&self, role: Option<Role>) -> u32 {
        match role {
            Some(Role::Owner) => self.owner,
            Some(Role::Admin) => self.admin,
            Some(Role::Moderator) => self.moderator,
            Some(Role::Agent) => self.agent,
            Some(Role::Member) | None => self.member,
        }
    }

    /// Parses `owner=300,admin=300,…` over the defaults.
    ///
    /// # Errors
    /// On an unknown role or a non-positive number.
    pub fn with_roles(mut self, spec: &str) -> Result<Self, String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (role, n) = part.split_once('=').ok_or_else(|| format!("{part:?}: expected role=number"))?;
            let n: u32 =
                n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("{part:?}: not a positive number"))?;
            match role.trim() {
                "owner" => self.owner = n,
                "admin" => self.admin = n,
                "moderator" => self.moderator = n,
                "agent" => self.agent = n,
                "member" => self.member = n,
                other => return Err(format!("unknown role {other:?}")),
            }
        }
        Ok(self)
    }
}

/// Why an operation was refused before it ran.
#[derive(Debug, Clone, Copy)]
pub enum Refused {
    /// A budget is spent.
    Budget(Budget),
    /// The shared limiter is unreachable and the policy is `closed`.
    Unavailable,
}

impl Refused {
    /// The coded error a client gets.
    #[must_use]
    pub fn error(&self) -> async_graphql::ServerError {
        use stoa_schema::error::{ErrorCode, transport_error};
        let (mut err, retry) = match self {
            Self::Budget(budget) => {
                let retry = budget.retry_after_s.unwrap_or(1);
                (transport_error(ErrorCode::RATE_LIMITED, format!("too many operations: retry in {retry}s")), retry)
            }
            Self::Unavailable => {
                let retry = stoa_domain::error::RETRY_AFTER_S;
                let mut err =
                    transport_error(ErrorCode::UNAVAILABLE, format!("rate limiter unavailable: retry in {retry}s"));
                err.extensions.get_or_insert_with(Default::default).set("dependency", "redis");
                (err, retry)
            }
        };
        err.extensions.get_or_insert_with(Default::default).set("retryAfter", retry);
        err
    }

    /// Seconds until a retry may succeed.
    #[must_use]
    pub fn retry_after_s(&self) -> u64 {
        match self {
            Self::Budget(budget) => budget.retry_after_s.unwrap_or(1),
            Self::Unavailable => stoa_domain::error::RETRY_AFTER_S,
        }
    }
}

/// How long a user's highest role is cached before it is read again.
const ROLE_TTL: Duration = Duration::from_secs(30);

/// Checks operation budgets.
pub struct OpLimiter {
    budgets: OpBudgets,
    roles: Mutex<HashMap<UserId, (Option<Role>, Instant)>>,
}

impl OpLimiter {
    #[must_use]
    pub fn new(budgets: OpBudgets) -> Self {
        Self { budgets, roles: Mutex::new(HashMap::new()) }
    }

    async fn role(&self, app: &AppCtx, user: UserId) -> Option<Role> {
        let cached = self.roles.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&user).copied();
        if let Some((role, at)) = cached
            && at.elapsed() < ROLE_TTL
        {
            return role;
        }
        let role = match workspaces::highest_role(app, user).await {
            Ok(role) => role,
            Err(e) => {
                // The member budget for now, not cached: an outage must not pin a user to it.
                tracing::warn!(error = %format_args!("{e:#}"), "loading a role for the rate limit failed");
                return None;
            }
        };
        let mut roles = self.roles.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if roles.len() > 100_000 {
            roles.clear();
        }
        roles.insert(user, (role, Instant::now()));
        role
    }

    /// Takes `cost` tokens from the address's bucket and the user's. Returns the tighter budget
    /// (`None` when no shared budget could be read).
    ///
    /// # Errors
    /// The exhausted bucket's budget, or `Unavailable` under the closed policy.
    pub async fn check(
        &self,
        app: &AppCtx,
        ip: &str,
        actor: &RequestActor,
        cost: u32,
    ) -> Result<Option<Budget>, Refused> {
        let mut keys = vec![(format!("ops:ip:{ip}"), self.budgets.per_ip)];
        if let Some(user) = actor.0.as_ref().ok().and_then(|a| a.user_id().ok()) {
            let per_minute = self.budgets.for_role(self.role(app, user).await);
            keys.push((format!("ops:user:{user}"), per_minute));
        }
        let budgets = match app.limiter().take_all(&keys, cost).await {
            Ok(budgets) => budgets,
            // The guarded limiter has logged it; anything else failing lets the operation through.
            Err(e) if e.downcast_ref::<stoa_domain::error::Unreachable>().is_some() => {
                return Err(Refused::Unavailable);
            }
            Err(e) => {
                tracing::warn!(error = %format_args!("{e:#}"), "rate limiter failed; letting the operation through");
                return Ok(None);
            }
        };
        if let Some(refused) = budgets.iter().find(|b| b.retry_after_s.is_some()) {
            return Err(Refused::Budget(*refused));
        }
        Ok(budgets.into_iter().min_by_key(|b| b.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_budgets_parse_over_the_defaults() {
        let b = OpBudgets::default().with_roles("member=10, agent=20").ok();
        assert_eq!(b.as_ref().map(|b| (b.member, b.agent, b.owner)), Some((10, 20, 300)));
        assert!(OpBudgets::default().with_roles("root=1").is_err());
        assert!(OpBudgets::default().with_roles("member=0").is_err());
        assert!(OpBudgets::default().with_roles("member").is_err());
    }
}
