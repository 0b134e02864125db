//! GraphQL over WebSocket: `graphql-transport-ws` (the graphql-ws library's PROTOCOL.md) and the
//! legacy `graphql-ws` (subscriptions-transport-ws). Stoa drives `execute_stream` itself rather
//! than using async-graphql's handler, because that handler departs from the protocol (close codes,
//! no init timeout, silent id replacement, `next` for validation errors) and would parse documents
//! before Stoa's pre-scan could refuse a hostile one.

mod connection;
pub mod groups;
mod operation;
mod protocol;
mod writer;

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::state::AppState;
pub use protocol::Protocol;

/// Upgrades and serves one connection.
pub fn upgrade(state: AppState, addr: Option<SocketAddr>, headers: &HeaderMap, ws: WebSocketUpgrade) -> Response {
    let offered: Vec<String> = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
        .collect();
    let protocol = Protocol::choose(&offered);
    let ws = ws
        .protocols([protocol::TRANSPORT_WS, protocol::LEGACY_WS])
        // Client messages are small; a large one grows the buffer as it arrives.
        .read_buffer_size(1024)
        .max_message_size(state.ws.max_message_bytes)
        .max_frame_size(state.ws.max_message_bytes);
    let ip = crate::client_addr::client_key(addr, headers, &state.proxies);
    let client = connection::Client {
        address: crate::client_addr::client_address(addr, headers, &state.proxies),
        user_agent: crate::client_addr::user_agent(headers).map(str::to_owned),
    };
    ws.on_upgrade(move |socket| connection::serve(socket, state, ip, client, protocol))
}
