//! Cursor pages shared by every list: keyset pagination over time-ordered `UUIDv7` ids.

/// How many items a page may hold at most, whatever the client asks.
pub const MAX_PAGE: u64 = 100;

/// The number of items to read for a request of `requested` (`default` when absent): at least one,
/// at most [`MAX_PAGE`]. Every list reads its size through this; the GraphQL edge has already
/// refused negative sizes by then.
#[must_use]
pub fn limit(requested: Option<u64>, default: u64) -> u64 {
    requested.unwrap_or(default).clamp(1, MAX_PAGE)
}

/// A request for one page going forward from `after` (exclusive).
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest {
    pub first: Option<u64>,
    pub after: Option<uuid::Uuid>,
}

impl PageRequest {
    /// The page size to read (default 50), by [`limit`].
    #[must_use]
    pub fn limit(&self) -> u64 {
        limit(self.first, 50)
    }
}

/// One page plus whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_at_least_one_and_at_most_the_maximum() {
        assert_eq!(limit(None, 50), 50);
        assert_eq!(limit(Some(0), 50), 1);
        assert_eq!(limit(Some(30), 50), 30);
        assert_eq!(limit(Some(5_000), 50), MAX_PAGE);
    }
}
