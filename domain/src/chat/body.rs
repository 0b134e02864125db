//! Message bodies: parsed once (trimmed, bounded, no control characters but newlines and tabs),
//! and the mentions they carry: `<@user-uuid>` for a person and `@channel` for everyone.

use std::collections::BTreeSet;

use crate::error::{DomainError, Result};
use crate::ids::UserId;

/// A valid message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// # Errors
    /// `BAD_USER_INPUT` on `body` when empty after trimming, longer than `max_bytes`, or holding
    /// control characters other than newline and tab.
    pub fn parse(raw: &str, max_bytes: usize) -> Result<Self> {
        let body = raw.trim();
        if body.is_empty() {
            return Err(DomainError::invalid("body", "must not be empty"));
        }
        if body.len() > max_bytes {
            return Err(DomainError::invalid("body", format!("must be at most {max_bytes} bytes")));
        }
        if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            return Err(DomainError::invalid("body", "must not contain control characters"));
        }
        Ok(Self(body.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Users mentioned as `<@uuid>`, deduplicated, at most 50.
    #[must_use]
    pub fn mentioned_users(&self) -> BTreeSet<UserId> {
        let mut found = BTreeSet::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("<@") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find('>') else { break };
            if let Ok(id) = uuid::Uuid::parse_str(&rest[..end]) {
                found.insert(UserId(id));
                if found.len() == 50 {
                    break;
                }
            }
            rest = &rest[end..];
        }
        found
    }

    /// Whether `@channel` appears as a word.
    #[must_use]
    pub fn mentions_channel(&self) -> bool {
        self.0.match_indices("@channel").any(|(i, _)| {
            let before = self.0[..i].chars().next_back();
            let after = self.0[i + "@channel".len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    }

    /// A short preview for notifications: the first 140 characters.
    #[must_use]
    pub fn preview(&self) -> String {
        let mut preview: String = self.0.chars().take(140).collect();
        if self.0.chars().count() > 140 {
            preview.push('…');
        }
        preview
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_trimmed_bounded_and_clean() {
        assert_eq!(MessageBody::parse("  hi \n", 10).ok().map(MessageBody::into_inner), Some("hi".to_owned()));
        assert!(MessageBody::parse("   ", 10).is_err());
        assert!(MessageBody::parse("12345678901", 10).is_err());
        assert!(MessageBody::parse("a\u{0}b", 10).is_err());
        assert!(MessageBody::parse("line\nline\ttab", 100).is_ok());
    }

    #[test]
    fn mentions_are_found_once_each() {
        let a = uuid::Uuid::now_v7();
        let b = uuid::Uuid::now_v7();
        let Ok(body) = MessageBody::parse(&format!("hey <@{a}> and <@{b}>, <@{a}> <@nope> <@"), 1000) else { panic!() };
        assert_eq!(body.mentioned_users(), BTreeSet::from([UserId(a), UserId(b)]));
    }

    #[test]
    fn at_channel_is_a_word() {
        let yes = ["@channel", "hi @channel!", "(@channel)"];
        let no = ["email@channel", "@channels", "@channel_x", "channel"];
        for text in yes {
            assert!(MessageBody::parse(text, 100).is_ok_and(|b| b.mentions_channel()), "{text}");
        }
        for text in no {
            assert!(!MessageBody::parse(text, 100).is_ok_and(|b| b.mentions_channel()), "{text}");
        }
    }
}
