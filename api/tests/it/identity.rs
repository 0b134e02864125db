//! Sign-up, sign-in, token rotation and reuse detection, sign-out, forged and expired tokens.

use serde_json::json;

use crate::helpers::{LOGIN, REGISTER, spawn_app, spawn_app_with};

const ME: &str = "{ me { id email displayName statusText statusEmoji } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
const LOGOUT: &str = "mutation($t: String!) { logout(input: { refreshToken: $t }) { ok } }";

#[tokio::test]
async fn a_registered_user_reads_their_own_account_with_the_access_token() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;

    let res = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();

    assert_eq!(res.data()["me"]["id"], alice.id.as_str());
    assert_eq!(res.data()["me"]["email"], alice.email.as_str());
    assert_eq!(res.data()["me"]["displayName"], "alice");
}

#[tokio::test]
async fn me_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    let res = app.gql(ME, json!({})).await;
    assert_eq!(res.error_code().as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_email_registers_once_whatever_its_case() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let input =
        json!({ "input": { "email": alice.email.to_uppercase(), "password": "another-pass", "displayName": "A2" } });

    let res = app.gql(REGISTER, input).await;

    assert_eq!(res.error_code().as_deref(), Some("CONFLICT"));
}

#[tokio::test]
async fn bad_registration_input_names_the_field() {
    let app = spawn_app().await;
    for (email, password, name, field) in [
        ("not-an-email", "long-enough", "Ann", "email"),
        ("ann@example.com", "short", "Ann", "password"),
        ("ann@example.com", "long-enough", "   ", "displayName"),
    ] {
        let res =
            app.gql(REGISTER, json!({ "input": { "email": email, "password": password, "displayName": name } })).await;
        assert_eq!(res.error_code().as_deref(), Some("BAD_USER_INPUT"), "{field}");
        assert_eq!(res.body["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;

    let wrong = app.gql(LOGIN, json!({ "input": { "email": alice.email, "password": "wrong-password" } })).await;
    let unknown =
        app.gql(LOGIN, json!({ "input": { "email": "nobody@example.com", "password": "wrong-password" } })).await;

    assert_eq!(wrong.error_code().as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(wrong.body["errors"][0]["message"], unknown.body["errors"][0]["message"]);
    assert_eq!(wrong.body["errors"][0]["extensions"], unknown.body["errors"][0]["extensions"]);
    let ok = app.gql(LOGIN, json!({ "input": { "email": alice.email, "password": alice.password } })).await.ok();
    assert_eq!(ok.data()["login"]["viewer"]["id"], alice.id.as_str());
}

#[tokio::test]
async fn the_eleventh_login_attempt_in_a_minute_is_rate_limited() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let bad = json!({ "input": { "email": alice.email, "password": "wrong-password" } });
    for _ in 0..10 {
        let res = app.gql(LOGIN, bad.clone()).await;
        assert_eq!(res.error_code().as_deref(), Some("UNAUTHENTICATED"));
    }

    let res = app.gql(LOGIN, json!({ "input": { "email": alice.email, "password": alice.password } })).await;

    assert_eq!(res.error_code().as_deref(), Some("RATE_LIMITED"));
    let retry = res.body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((1..=60).contains(&retry), "retryAfter {retry}");
}

#[tokio::test]
async fn refreshing_rotates_the_token_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;

    let first = app.gql(REFRESH, json!({ "t": alice.refresh })).await.ok();
    let new_refresh = first.data()["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
    let new_access = first.data()["refreshSession"]["accessToken"].as_str().unwrap().to_owned();

    assert_ne!(new_refresh, alice.refresh);
    app.gql_as(Some(&new_access), ME, json!({})).await.ok();
    let second = app.gql(REFRESH, json!({ "t": new_refresh })).await.ok();
    assert!(second.data()["refreshSession"]["refreshToken"].is_string());
}

#[tokio::test]
async fn presenting_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let rotated = app.gql(REFRESH, json!({ "t": alice.refresh })).await.ok();
    let current = rotated.data()["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();

    let reuse = app.gql(REFRESH, json!({ "t": alice.refresh })).await;

    assert_eq!(reuse.error_code().as_deref(), Some("UNAUTHENTICATED"));
    let after = app.gql(REFRESH, json!({ "t": current })).await;
    assert_eq!(after.error_code().as_deref(), Some("UNAUTHENTICATED"), "the thief's new token must die too");
    let other_login =
        app.gql(LOGIN, json!({ "input": { "email": alice.email, "password": alice.password } })).await.ok();
    let other = other_login.data()["login"]["refreshToken"].as_str().unwrap().to_owned();
    app.gql(REFRESH, json!({ "t": other })).await.ok();
}

#[tokio::test]
async fn logout_revokes_the_session_and_unknown_tokens_are_refused() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;

    let res = app.gql(LOGOUT, json!({ "t": alice.refresh })).await.ok();

    assert_eq!(res.data()["logout"]["ok"], true);
    let refresh = app.gql(REFRESH, json!({ "t": alice.refresh })).await;
    assert_eq!(refresh.error_code().as_deref(), Some("UNAUTHENTICATED"));
    let unknown = app.gql(LOGOUT, json!({ "t": "never-issued" })).await;
    assert_eq!(unknown.error_code().as_deref(), Some("UNAUTHENTICATED"));
}

/// The session family (`sid`) of a real access token: a token signed for a session that never
/// existed is refused like a revoked one.
fn sid_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].clone()
}

fn forge(secret: &str, alg: jsonwebtoken::Algorithm, sub: &str, sid: &serde_json::Value, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "sub": sub, "sid": sid, "iat": now, "exp": now + exp_offset, "typ": "access" });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn expired_forged_and_unsigned_tokens_are_refused() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let valid = forge(&app.secret, jsonwebtoken::Algorithm::HS256, &alice.id, &sid_of(&alice.token), 600);
    app.gql_as(Some(&valid), ME, json!({})).await.ok();
    let no_such_session =
        forge(&app.secret, jsonwebtoken::Algorithm::HS256, &alice.id, &json!(uuid::Uuid::now_v7()), 600);

    let expired = forge(&app.secret, jsonwebtoken::Algorithm::HS256, &alice.id, &sid_of(&alice.token), -10);
    let wrong_key = forge(
        "another-secret-of-sufficient-length!",
        jsonwebtoken::Algorithm::HS256,
        &alice.id,
        &sid_of(&alice.token),
        600,
    );
    let other_alg = forge(&app.secret, jsonwebtoken::Algorithm::HS512, &alice.id, &sid_of(&alice.token), 600);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = valid.split('.').nth(1).unwrap();
    let alg_none = format!("{}.{payload}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#));
    let tampered = {
        let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
        claims["sub"] = json!(uuid::Uuid::now_v7());
        let parts: Vec<&str> = valid.split('.').collect();
        format!("{}.{}.{}", parts[0], b64.encode(claims.to_string()), parts[2])
    };

    for (name, token) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("HS512", other_alg),
        ("alg none", alg_none),
        ("tampered", tampered),
        ("no such session", no_such_session),
    ] {
        let res = app.gql_as(Some(&token), ME, json!({})).await;
        assert_eq!(res.error_code().as_deref(), Some("UNAUTHENTICATED"), "{name}");
        assert_eq!(res.body["data"], serde_json::Value::Null, "{name}");
    }
}

#[tokio::test]
async fn a_stale_token_does_not_stop_a_login_or_refresh() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let stale = forge(&app.secret, jsonwebtoken::Algorithm::HS256, &alice.id, &sid_of(&alice.token), -10);

    app.gql_as(Some(&stale), LOGIN, json!({ "input": { "email": alice.email, "password": alice.password } }))
        .await
        .ok();
    app.gql_as(Some(&stale), REFRESH, json!({ "t": alice.refresh })).await.ok();
}

#[tokio::test]
async fn a_profile_update_sets_and_clears_the_custom_status() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { viewer { displayName statusText statusEmoji } } }";

    let set = app
        .gql_as(
            Some(&alice.token),
            update,
            json!({ "input": { "displayName": "Alice L.", "statusText": "on leave", "statusEmoji": "🌴" } }),
        )
        .await
        .ok();
    assert_eq!(
        set.data()["updateProfile"]["viewer"],
        json!({ "displayName": "Alice L.", "statusText": "on leave", "statusEmoji": "🌴" })
    );

    let cleared = app.gql_as(Some(&alice.token), update, json!({ "input": { "statusText": null } })).await.ok();
    assert_eq!(cleared.data()["updateProfile"]["viewer"]["statusText"], serde_json::Value::Null);
    assert_eq!(cleared.data()["updateProfile"]["viewer"]["statusEmoji"], "🌴");

    let bad = app.gql_as(Some(&alice.token), update, json!({ "input": { "statusEmoji": "palm tree" } })).await;
    assert_eq!(bad.error_code().as_deref(), Some("BAD_USER_INPUT"));
    let anonymous = app.gql(update, json!({ "input": { "displayName": "x" } })).await;
    assert_eq!(anonymous.error_code().as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn every_aliased_login_in_a_batch_is_charged_against_the_address() {
    let app = spawn_app_with(&[("STOA_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "5")]).await;
    // Ten operations of three aliased logins, each for another email: 30 password hashes bought
    // with one request if only the (email, address) pair were limited.
    let op = |i: usize| {
        let fields: Vec<String> = (0..3)
            .map(|j| {
                format!(r#"l{j}: login(input: {{ email: "nobody{i}-{j}@example.com", password: "wrong-password" }}) {{ accessToken }}"#)
            })
            .collect();
        json!({ "query": format!("mutation {{ {} }}", fields.join(" ")) })
    };
    let batch: Vec<serde_json::Value> = (0..10).map(op).collect();
    let res = app.http.post(app.url()).json(&batch).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let codes: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["errors"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
        .map(|c| {
            if c == "UNAUTHENTICATED" {
                "UNAUTHENTICATED"
            } else if c == "RATE_LIMITED" {
                "RATE_LIMITED"
            } else {
                "OTHER"
            }
        })
        .collect();
    assert_eq!(codes.len(), 30, "{body}");
    assert_eq!(codes.iter().filter(|c| **c == "UNAUTHENTICATED").count(), 5, "{body}");
    assert_eq!(codes.iter().filter(|c| **c == "RATE_LIMITED").count(), 25, "{body}");
}
