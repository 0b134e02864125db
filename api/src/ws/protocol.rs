//! Message shapes and close codes of the two subprotocols.

use axum::extract::ws::{CloseFrame, Message};
use serde_json::{Value, json};

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// The subprotocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// graphql-transport-ws.
    Transport,
    /// subscriptions-transport-ws ("graphql-ws").
    Legacy,
    /// The client offered only protocols Stoa does not speak: closed with 4406.
    Unsupported,
}

impl Protocol {
    /// Picks from the client's offer; no offer at all means graphql-transport-ws.
    #[must_use]
    pub fn choose(offered: &[String]) -> Self {
        if offered.is_empty() || offered.iter().any(|p| p == TRANSPORT_WS) {
            Self::Transport
        } else if offered.iter().any(|p| p == LEGACY_WS) {
            Self::Legacy
        } else {
            Self::Unsupported
        }
    }
}

/// Close codes of graphql-transport-ws.
pub mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INIT: u16 = 4429;
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
}

/// A close frame; the reason is cut to the 123 bytes a close frame allows, on a char boundary.
#[must_use]
pub fn close_frame(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = reason.get(..end).unwrap_or_default().to_owned();
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// A JSON text message.
#[must_use]
pub fn text(value: &Value) -> Message {
    Message::Text(value.to_string().into())
}

/// `{"type": ty}` plus `id` and `payload` when given.
#[must_use]
pub fn message(ty: &str, id: Option<&str>, payload: Option<Value>) -> Message {
    let mut m = json!({ "type": ty });
    if let Some(id) = id {
        m["id"] = Value::String(id.to_owned());
    }
    if let Some(payload) = payload {
        m["payload"] = payload;
    }
    text(&m)
}

/// The access token from a `connection_init` payload: `authorization`, `Authorization`, `token`,
/// `accessToken` or `authToken`, with or without `Bearer `.
#[must_use]
pub fn token(payload: Option<&Value>) -> Option<String> {
    let payload = payload?.as_object()?;
    ["authorization", "Authorization", "token", "accessToken", "authToken"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_in_a_frame_even_with_multibyte_text() {
        let Message::Close(Some(frame)) = close_frame(4409, &"é".repeat(100)) else { panic!("not a close frame") };
        assert!(frame.reason.len() <= 123);
        assert_eq!(frame.code, 4409);
    }

    #[test]
    fn protocol_choice_prefers_transport_ws() {
        assert_eq!(Protocol::choose(&[]), Protocol::Transport);
        assert_eq!(Protocol::choose(&[LEGACY_WS.into(), TRANSPORT_WS.into()]), Protocol::Transport);
        assert_eq!(Protocol::choose(&[LEGACY_WS.into()]), Protocol::Legacy);
        assert_eq!(Protocol::choose(&["mqtt".into()]), Protocol::Unsupported);
    }

    #[test]
    fn tokens_are_found_under_common_keys() {
        assert_eq!(token(Some(&json!({"authorization": "Bearer x"}))), Some("Bearer x".into()));
        assert_eq!(token(Some(&json!({"accessToken": "y"}))), Some("y".into()));
        assert_eq!(token(Some(&json!({"other": 1}))), None);
        assert_eq!(token(None), None);
    }
}
