//! Who a request counts against: the key the operation budgets and login limits use.
//!
//! - The peer's address, unless the peer is a proxy listed in `STOA_TRUSTED_PROXIES`; then the
//!   rightmost hop of `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` that is not itself a
//!   trusted proxy. A client can write anything on the left of those headers, so only what the
//!   trusted proxies appended counts; a header from any other peer is ignored.
//! - IPv6 addresses count per /64: a host rotating its interface id (privacy addresses) within its
//!   network gets no fresh budget. IPv4-mapped IPv6 counts as the IPv4 address.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies allowed to say who the client is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs or single addresses (`10.0.0.0/8, 127.0.0.1, ::1`).
    ///
    /// # Errors
    /// The first entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| format!("{entry:?} is not a CIDR"))?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The budget key of a request from `peer` carrying `headers`.
#[must_use]
pub fn client_key(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> String {
    let Some(peer) = peer.map(|p| canonical(p.ip())) else {
        return "unknown".to_owned();
    };
    key_of(client_ip(peer, headers, trusted))
}

/// The client's own address (not its budget key), for the audit log.
#[must_use]
pub fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> String {
    peer.map_or_else(|| "unknown".to_owned(), |p| client_ip(canonical(p.ip()), headers, trusted).to_string())
}

/// The request's `User-Agent`, when it is readable text.
#[must_use]
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok())
}

/// The client's address: the peer, or the rightmost forwarded hop that is not a trusted proxy.
fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_hops(headers).into_iter().rev() {
        // An unreadable hop (obfuscated, `unknown`, garbage) ends the walk: nothing left of it is
        // vouched for, so the nearest address we could read counts.
        let Some(ip) = hop else { break };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// The hops of `Forwarded` when present, else of `X-Forwarded-For`, leftmost first, across every
/// instance of the header; `None` for a hop that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok()).collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value.trim().trim_matches('"')))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_node(hop.trim()))
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    let bracketed = node.strip_prefix('[')?.split(']').next()?;
    bracketed.parse::<Ipv6Addr>().ok().map(|ip| canonical(IpAddr::V6(ip)))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// IPv4 as is; IPv6 as its /64 network.
fn key_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn key(peer: &str, pairs: &[(&'static str, &'static str)], trusted: &str) -> String {
        let trusted = TrustedProxies::parse(trusted).unwrap_or_default();
        client_key(Some(peer.parse().unwrap_or_else(|_| panic!("{peer}"))), &headers(pairs), &trusted)
    }

    #[test]
    fn without_trusted_proxies_the_peer_counts() {
        assert_eq!(key("192.0.2.1:5000", &[("x-forwarded-for", "203.0.113.1")], ""), "192.0.2.1");
        assert_eq!(key("192.0.2.1:5000", &[("forwarded", "for=203.0.113.1")], "10.0.0.0/8"), "192.0.2.1");
    }

    #[test]
    fn the_rightmost_untrusted_hop_counts_across_header_lines() {
        let trusted = "10.0.0.0/8";
        let xff = [("x-forwarded-for", "6.6.6.6, 203.0.113.5"), ("x-forwarded-for", "10.0.0.2")];
        assert_eq!(key("10.0.0.1:1", &xff, trusted), "203.0.113.5");
        assert_eq!(key("10.0.0.1:1", &[("x-forwarded-for", "10.0.0.3, 10.0.0.2")], trusted), "10.0.0.3");
        assert_eq!(key("10.0.0.1:1", &[], trusted), "10.0.0.1");
        assert_eq!(key("10.0.0.1:1", &[("x-forwarded-for", "junk, 10.0.0.9")], trusted), "10.0.0.9");
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_reads_every_node_form() {
        let trusted = "10.0.0.0/8";
        let both = [("forwarded", "for=198.51.100.1"), ("x-forwarded-for", "203.0.113.1")];
        assert_eq!(key("10.0.0.1:1", &both, trusted), "198.51.100.1");
        let v6 = [("forwarded", r#"for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.5"#)];
        assert_eq!(key("10.0.0.1:1", &v6, trusted), "2001:db8:cafe::/64");
        assert_eq!(key("10.0.0.1:1", &[("forwarded", "For=192.0.2.60:80;by=10.0.0.1")], trusted), "192.0.2.60");
        assert_eq!(key("10.0.0.1:1", &[("forwarded", "for=_hidden")], trusted), "10.0.0.1");
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("[2001:db8:1:2:3:4:5:6]:1", &[], ""), "2001:db8:1:2::/64");
        assert_eq!(key("[::ffff:192.0.2.7]:1", &[], ""), "192.0.2.7");
        assert_eq!(key("[::ffff:10.0.0.1]:1", &[("x-forwarded-for", "192.0.2.8")], "10.0.0.0/8"), "192.0.2.8");
    }

    #[test]
    fn a_bad_proxy_list_is_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/8, nope").is_err());
        assert_eq!(TrustedProxies::parse(" , ").map(|t| t.0.len()), Ok(0));
        assert!(TrustedProxies::parse("::1, 127.0.0.1/32").is_ok());
    }
}
