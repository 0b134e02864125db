//! Connection arguments, converted once for every paginated field: the one `first`/`last` rule
//! and the cursor parsers. Resolvers turn their arguments into a domain page request here, then make
//! their one domain call; no resolver reads `first` or `last` itself.
//!
//! The rule: an absent page size leaves the field's default to the domain, a negative one is
//! refused with `BAD_USER_INPUT` (`extensions.field` is the argument's name), and one above
//! [`MAX_PAGE`] is capped at it. Nothing here reads the database or decides who sees what.

use stoa_domain::chat::SeqWindow;
use stoa_domain::pagination::{MAX_PAGE, PageRequest};

use crate::error::{GqlError, Result};

/// A `first`/`last` argument as a page size, by the rule in the module doc.
///
/// # Errors
/// `BAD_USER_INPUT` on `field` when `n` is negative.
pub fn page_size(n: Option<i32>, field: &'static str) -> Result<Option<u64>> {
    n.map(|n| u64::try_from(n).map(|n| n.min(MAX_PAGE)).map_err(|_| GqlError::invalid(field, "must not be negative")))
        .transpose()
}

/// The query cost of a page of `n` items (`default` when absent) whose items cost
/// `child_complexity` each: the `complexity` of every connection field. It counts what the page can
/// hold, so a negative size (refused when the field runs) costs nothing and a huge one costs
/// [`MAX_PAGE`] items.
#[must_use]
pub fn cost(n: Option<i32>, default: u64, child_complexity: usize) -> usize {
    let items = n.map_or(default, |n| u64::try_from(n).unwrap_or(0)).min(MAX_PAGE);
    usize::try_from(items).unwrap_or(usize::MAX).saturating_mul(child_complexity)
}

/// `first`/`after` over a list keyed by time-ordered ids (the cursor is the last item's id).
///
/// # Errors
/// `BAD_USER_INPUT` on `first` (negative) or `after` (not an id).
pub fn page(first: Option<i32>, after: Option<String>) -> Result<PageRequest> {
    let after = after
        .map(|c| uuid::Uuid::parse_str(&c).map_err(|_| GqlError::invalid("after", "not a valid cursor")))
        .transpose()?;
    Ok(PageRequest { first: page_size(first, "first")?, after })
}

/// Relay arguments over a list ordered by sequence number (the cursors are sequence numbers):
/// `first`/`after` read forward, `last`/`before` backward.
///
/// # Errors
/// `BAD_USER_INPUT` on `first` or `last` (negative), `after` or `before` (not a number).
pub fn seq_window(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<SeqWindow> {
    let seq = |c: Option<String>, field: &'static str| {
        c.map(|c| c.parse::<i64>().map_err(|_| GqlError::invalid(field, "not a valid cursor"))).transpose()
    };
    Ok(SeqWindow {
        first: page_size(first, "first")?,
        after: seq(after, "after")?,
        last: page_size(last, "last")?,
        before: seq(before, "before")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `extensions.code` and `extensions.field` a client would see, when `result` is an error.
    fn refusal<T>(result: Result<T>) -> Option<(String, String)> {
        let gql: async_graphql::Error = result.err()?.into();
        let ext = gql.extensions?;
        let text = |key: &str| ext.get(key).map(|v| v.to_string().trim_matches('"').to_owned()).unwrap_or_default();
        Some((text("code"), text("field")))
    }

    fn bad_input(field: &str) -> (String, String) {
        ("BAD_USER_INPUT".to_owned(), field.to_owned())
    }

    #[test]
    fn an_absent_page_size_leaves_the_default_to_the_domain() {
        assert_eq!(page_size(None, "first").ok(), Some(None));
    }

    #[test]
    fn a_page_size_within_the_maximum_is_kept() {
        for n in [0_u16, 1, 50, 100] {
            assert_eq!(page_size(Some(i32::from(n)), "first").ok(), Some(Some(u64::from(n))));
        }
    }

    #[test]
    fn a_page_size_above_the_maximum_is_capped_at_it() {
        for n in [101, 1_000, i32::MAX] {
            assert_eq!(page_size(Some(n), "last").ok(), Some(Some(MAX_PAGE)));
        }
    }

    #[test]
    fn a_negative_page_size_is_refused_naming_its_argument() {
        for (n, field) in [(-1, "first"), (i32::MIN, "last")] {
            assert_eq!(refusal(page_size(Some(n), field)), Some(bad_input(field)));
        }
    }

    #[test]
    fn every_argument_of_a_window_follows_the_rule() {
        let w = seq_window(Some(500), Some("7".into()), None, None).ok();
        assert_eq!(w.map(|w| (w.first, w.after, w.last, w.before)), Some((Some(MAX_PAGE), Some(7), None, None)));
        assert_eq!(refusal(seq_window(Some(-1), None, None, None)), Some(bad_input("first")));
        assert_eq!(refusal(seq_window(None, None, Some(-3), None)), Some(bad_input("last")));
        assert_eq!(refusal(seq_window(None, None, None, Some("x".into()))), Some(bad_input("before")));
    }

    #[test]
    fn an_id_keyed_page_follows_the_rule() {
        assert_eq!(page(Some(1_000), None).ok().and_then(|p| p.first), Some(MAX_PAGE));
        assert_eq!(refusal(page(Some(-1), None)), Some(bad_input("first")));
        assert_eq!(refusal(page(Some(5), Some("not-an-id".into()))), Some(bad_input("after")));
    }

    #[test]
    fn a_page_costs_what_it_can_hold() {
        assert_eq!(cost(None, 50, 3), 150);
        assert_eq!(cost(Some(10), 50, 3), 30);
        assert_eq!(cost(Some(10_000), 50, 3), 300);
        assert_eq!(cost(Some(-5), 50, 3), 0);
    }
}
