//! Cursor pages shared by every list: keyset pagination over time-ordered `UUIDv7` ids.

/// How many items a page may hold at most, whatever the client asks.
pub const MAX_PAGE: u64 = 100;

/// A request for one page going forward from `after` (exclusive).
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest {
    pub first: Option<u64>,
    pub after: Option<uuid::Uuid>,
}

impl PageRequest {
    /// The clamped page size (default 50).
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.first.unwrap_or(50).clamp(1, MAX_PAGE)
    }
}

/// One page plus whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}
