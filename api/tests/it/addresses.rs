//! Which client a request counts against: IPv6 grouped by /64, and the forwarding headers honoured
//! only from a peer listed in `STOA_TRUSTED_PROXIES` (rightmost untrusted hop).

use serde_json::json;

use crate::helpers::{TestApp, spawn_app_with};

/// Runs `{ __typename }` with `header: value` set; the error code when refused.
async fn ping_from(app: &TestApp, header: &str, value: &str) -> Option<String> {
    let res = app
        .http
        .post(app.url())
        .header(header, value)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    body["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
}

async fn spend(app: &TestApp, header: &str, value: &str, n: usize) {
    for i in 0..n {
        assert_eq!(ping_from(app, header, value).await, None, "request {i} from {value}");
    }
}

const BUDGET: &str = "3";

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = spawn_app_with(&[("STOA_RATE_LIMIT_IP_PER_MIN", BUDGET), ("STOA_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    spend(&app, "x-forwarded-for", "203.0.113.7", 3).await;
    assert_eq!(ping_from(&app, "x-forwarded-for", "203.0.113.7").await.as_deref(), Some("RATE_LIMITED"));
    // Another client behind the same proxy is not locked out.
    assert_eq!(ping_from(&app, "x-forwarded-for", "203.0.113.8").await, None);
    // RFC 7239 works too.
    assert_eq!(ping_from(&app, "forwarded", r#"for="203.0.113.9:4711";proto=https"#).await, None);
}

#[tokio::test]
async fn the_rightmost_untrusted_hop_is_the_client() {
    let app =
        spawn_app_with(&[("STOA_RATE_LIMIT_IP_PER_MIN", BUDGET), ("STOA_TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/8")])
            .await;
    // The client writes whatever it likes on the left; the proxies append what they saw.
    spend(&app, "x-forwarded-for", "1.1.1.1, 198.51.100.4, 10.1.2.3", 3).await;
    let rotated = ping_from(&app, "x-forwarded-for", "9.9.9.9, 198.51.100.4, 10.1.2.3").await;
    assert_eq!(rotated.as_deref(), Some("RATE_LIMITED"), "a forged left hop buys no fresh budget");
}

#[tokio::test]
async fn a_forwarding_header_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(&[("STOA_RATE_LIMIT_IP_PER_MIN", BUDGET)]).await;
    for i in 0..3 {
        assert_eq!(ping_from(&app, "x-forwarded-for", &format!("203.0.113.{i}")).await, None);
    }
    let spoofed = ping_from(&app, "x-forwarded-for", "203.0.113.200").await;
    assert_eq!(spoofed.as_deref(), Some("RATE_LIMITED"), "the peer's own address counts");
    let spoofed = ping_from(&app, "forwarded", "for=203.0.113.201").await;
    assert_eq!(spoofed.as_deref(), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn ipv6_clients_share_a_budget_per_64() {
    let app = spawn_app_with(&[("STOA_RATE_LIMIT_IP_PER_MIN", BUDGET), ("STOA_TRUSTED_PROXIES", "127.0.0.1")]).await;
    // Rotating the interface id within one /64 (as privacy addresses do) buys nothing.
    for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::3"] {
        assert_eq!(ping_from(&app, "x-forwarded-for", host).await, None, "{host}");
    }
    let same_64 = ping_from(&app, "x-forwarded-for", "2001:db8:1:2:ffff:ffff:ffff:ffff").await;
    assert_eq!(same_64.as_deref(), Some("RATE_LIMITED"));
    assert_eq!(ping_from(&app, "x-forwarded-for", "2001:db8:1:3::1").await, None, "the next /64 is another client");
    assert_eq!(ping_from(&app, "forwarded", r#"for="[2001:db8:1:4::1]:443""#).await, None);
}
