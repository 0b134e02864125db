//! Account lifecycles through the API: verified email, email change, password reset and change,
//! the password blocklist, and mail that cannot be delivered.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ReceivedMail, TestApp, TestUser, WsClient, WsEvent, spawn_app, spawn_app_with};

const ME: &str = "{ me { id email emailVerified } }";
const VERIFY: &str = "mutation($t: String!) { verifyEmail(token: $t) { viewer { email emailVerified } } }";
const RESEND: &str = "mutation { resendVerification { ok } }";
const CHANGE_EMAIL: &str = "mutation($i: ChangeEmailInput!) { changeEmail(input: $i) { ok } }";
const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) { ok } }";
const RESET: &str = "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { ok } }";
const CHANGE_PASSWORD: &str = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { ok } }";
const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }";

fn code(res: &crate::helpers::Gql) -> String {
    res.error_code().unwrap_or_else(|| format!("no error: {}", res.body))
}

async fn verification_mail(app: &TestApp, user: &TestUser) -> ReceivedMail {
    app.nth_mail_to(&user.email, 1).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> crate::helpers::Gql {
    app.gql(LOGIN, json!({ "i": { "email": email, "password": password } })).await
}

#[tokio::test]
async fn registering_mails_a_link_that_verifies_the_address_once() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["emailVerified"], false);

    let mail = verification_mail(&app, &alice).await;
    assert!(mail.source.contains("multipart/alternative"), "a plain-text and an HTML part");
    assert!(mail.source.contains("text/html"));
    assert!(mail.source.contains("Subject: Confirm your email address"));
    let token = mail.token("/verify-email");

    let verified = app.gql(VERIFY, json!({ "t": token })).await.ok();
    assert_eq!(verified.data()["verifyEmail"]["viewer"], json!({ "email": alice.email, "emailVerified": true }));
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["emailVerified"], true);

    let reused = app.gql(VERIFY, json!({ "t": token })).await;
    assert_eq!(code(&reused), "INVALID_TOKEN");
    assert_eq!(reused.body["errors"][0]["extensions"]["token"], "verification");
    for malformed in ["", "nope", &"A".repeat(43), &format!("{token}x")] {
        assert_eq!(code(&app.gql(VERIFY, json!({ "t": malformed })).await), "INVALID_TOKEN", "{malformed:?}");
    }
    let again = app.gql_as(Some(&alice.token), RESEND, json!({})).await;
    assert_eq!(code(&again), "CONFLICT", "already verified");
}

#[tokio::test]
async fn a_resent_link_replaces_the_old_one_and_an_expired_link_is_refused() {
    use sea_orm::ConnectionTrait as _;
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let first = verification_mail(&app, &alice).await.token("/verify-email");
    app.gql_as(Some(&alice.token), RESEND, json!({})).await.ok();
    let second = app.nth_mail_with_link(&alice.email, "/verify-email", 2).await.token("/verify-email");
    assert_ne!(first, second);
    assert_eq!(code(&app.gql(VERIFY, json!({ "t": first })).await), "INVALID_TOKEN", "superseded");

    // The link's 24 hours have passed.
    let db = app.app.db_for_tests();
    db.execute_unprepared("UPDATE account_tokens SET expires_at = created_at").await.unwrap();
    assert_eq!(code(&app.gql(VERIFY, json!({ "t": second })).await), "INVALID_TOKEN", "expired");
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["emailVerified"], false, "nothing changed");

    // Three mails an hour: two are spent (register, resend), the third passes, the fourth is refused.
    app.gql_as(Some(&alice.token), RESEND, json!({})).await.ok();
    app.gql_as(Some(&alice.token), RESEND, json!({})).await.ok();
    let limited = app.gql_as(Some(&alice.token), RESEND, json!({})).await;
    assert_eq!(code(&limited), "RATE_LIMITED");
    assert_eq!(code(&app.gql(RESEND, json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_new_address_takes_effect_only_once_proven() {
    let app = spawn_app().await;
    let (alice, bob) = (app.signed_up("alice").await, app.signed_up("bob").await);
    let new_email = format!("alice.new.{}@example.com", uuid::Uuid::now_v7().simple());
    let input = |password: &str, email: &str| json!({ "i": { "newEmail": email, "password": password } });

    let wrong = app.gql_as(Some(&alice.token), CHANGE_EMAIL, input("not-her-password", &new_email)).await;
    assert_eq!(code(&wrong), "BAD_USER_INPUT");
    let registered = app.gql_as(Some(&alice.token), CHANGE_EMAIL, input(&alice.password, &bob.email)).await;
    assert_eq!(code(&registered), "CONFLICT");
    let bad = app.gql_as(Some(&alice.token), CHANGE_EMAIL, input(&alice.password, "not-an-email")).await;
    assert_eq!(bad.body["errors"][0]["extensions"]["field"], "newEmail");

    app.gql_as(Some(&alice.token), CHANGE_EMAIL, input(&alice.password, &new_email)).await.ok();
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["email"], alice.email.as_str(), "unchanged until the new address is proven");
    let mail = app.nth_mail_to(&new_email, 1).await;
    assert!(mail.source.contains("Subject: Confirm your new email address"));
    // Her old address's verification link is for an address she is leaving: it still proves that
    // one only while it is hers.
    let token = mail.token("/verify-email");
    let changed = app.gql(VERIFY, json!({ "t": token })).await.ok();
    assert_eq!(changed.data()["verifyEmail"]["viewer"], json!({ "email": new_email, "emailVerified": true }));
    let old = verification_mail(&app, &alice).await.token("/verify-email");
    assert_eq!(code(&app.gql(VERIFY, json!({ "t": old })).await), "INVALID_TOKEN", "mailed to a former address");
    login(&app, &new_email, &alice.password).await.ok();
    assert_eq!(code(&login(&app, &alice.email, &alice.password).await), "UNAUTHENTICATED");
}

async fn reset_token(app: &TestApp, user: &TestUser, nth: usize) -> String {
    app.gql(REQUEST_RESET, json!({ "e": user.email })).await.ok();
    app.nth_mail_with_link(&user.email, "/reset-password", nth).await.token("/reset-password")
}

#[tokio::test]
async fn a_password_reset_answers_alike_for_unknown_addresses_and_ends_every_session() {
    let app = spawn_app().await;
    let (alice, bob) = (app.signed_up("alice").await, app.signed_up("bob").await);
    let known = app.gql(REQUEST_RESET, json!({ "e": alice.email })).await;
    let nobody = format!("nobody.{}@example.com", uuid::Uuid::now_v7().simple());
    let unknown = app.gql(REQUEST_RESET, json!({ "e": nobody })).await;
    assert_eq!(known.body, unknown.body, "the same answer for a known and an unknown address");
    assert_eq!(known.body, json!({ "data": { "requestPasswordReset": { "ok": true } } }));
    let mail = app.nth_mail_with_link(&alice.email, "/reset-password", 1).await; // beside the verification mail
    assert!(mail.source.contains("Subject: Reset your password"));
    let token = mail.token("/reset-password");
    assert!(app.mails_to(&nobody).await.is_empty(), "no mail to an address without an account");

    let mut socket = WsClient::init(&app, Some(&alice.token)).await;
    let weak = app.gql(RESET, json!({ "i": { "token": token, "newPassword": "password1" } })).await;
    assert_eq!(weak.body["errors"][0]["extensions"]["field"], "newPassword", "{}", weak.body);
    // A verification token is no reset token, and bob's session is not alice's.
    let verification = verification_mail(&app, &alice).await.token("/verify-email");
    let wrong_kind =
        app.gql(RESET, json!({ "i": { "token": verification, "newPassword": "a long new secret" } })).await;
    assert_eq!(code(&wrong_kind), "INVALID_TOKEN");

    app.gql(RESET, json!({ "i": { "token": token, "newPassword": "a long new secret" } })).await.ok();
    let closed = loop {
        match socket.try_next(Duration::from_secs(2)).await {
            Some(WsEvent::Closed(code)) => break code,
            Some(WsEvent::Json(_)) => {}
            None => panic!("alice's socket stayed open after the reset"),
        }
    };
    assert_eq!(closed, Some(4403));
    assert_eq!(code(&app.gql_as(Some(&alice.token), ME, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(code(&app.gql(REFRESH, json!({ "t": alice.refresh })).await), "UNAUTHENTICATED");
    assert_eq!(code(&login(&app, &alice.email, &alice.password).await), "UNAUTHENTICATED");
    login(&app, &alice.email, "a long new secret").await.ok();
    app.gql_as(Some(&bob.token), ME, json!({})).await.ok();

    let reused = app.gql(RESET, json!({ "i": { "token": token, "newPassword": "another long secret" } })).await;
    assert_eq!(code(&reused), "INVALID_TOKEN");
    assert_eq!(reused.body["errors"][0]["extensions"]["token"], "password_reset");
    let me = app.gql_as(Some(&bob.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["emailVerified"], false, "bob proved nothing");
}

#[tokio::test]
async fn an_expired_reset_link_is_refused_and_changes_nothing() {
    use sea_orm::ConnectionTrait as _;
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let token = reset_token(&app, &alice, 1).await;
    app.app.db_for_tests().execute_unprepared("UPDATE account_tokens SET expires_at = created_at").await.unwrap();
    let expired = app.gql(RESET, json!({ "i": { "token": token, "newPassword": "a long new secret" } })).await;
    assert_eq!(code(&expired), "INVALID_TOKEN");
    login(&app, &alice.email, &alice.password).await.ok();
    app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let other = login(&app, &alice.email, &alice.password).await.ok();
    let other_token = other.data()["login"]["accessToken"].as_str().unwrap().to_owned();
    let change = |current: &str, new: &str| json!({ "i": { "currentPassword": current, "newPassword": new } });

    let wrong = app.gql_as(Some(&alice.token), CHANGE_PASSWORD, change("wrong password", "a long new secret")).await;
    assert_eq!(wrong.body["errors"][0]["extensions"]["field"], "currentPassword");
    let common = app.gql_as(Some(&alice.token), CHANGE_PASSWORD, change(&alice.password, "Qwerty123")).await;
    assert_eq!(common.body["errors"][0]["extensions"]["field"], "newPassword");
    app.gql_as(Some(&other_token), ME, json!({})).await.ok();

    app.gql_as(Some(&alice.token), CHANGE_PASSWORD, change(&alice.password, "a long new secret")).await.ok();
    app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(code(&app.gql_as(Some(&other_token), ME, json!({})).await), "UNAUTHENTICATED");
    login(&app, &alice.email, "a long new secret").await.ok();
}

#[tokio::test]
async fn register_refuses_the_most_common_passwords() {
    let app = spawn_app().await;
    for password in ["password", "iloveyou", "Sunshine1", "12345678"] {
        let email = format!("c.{}@example.com", uuid::Uuid::now_v7().simple());
        let res = app
            .gql(
                crate::helpers::REGISTER,
                json!({ "input": { "email": email, "password": password, "displayName": "C" } }),
            )
            .await;
        assert_eq!(res.body["errors"][0]["extensions"]["field"], "password", "{password}: {}", res.body);
        assert!(app.mails_to(&email).await.is_empty());
    }
}

#[tokio::test]
async fn undeliverable_mail_is_retried_then_dead_lettered_and_never_fails_its_mutation() {
    use sea_orm::ConnectionTrait as _;
    // Nothing listens on port 9: every SMTP connection is refused.
    let app = spawn_app_with(&[("STOA_SMTP_URL", "smtp://127.0.0.1:9")]).await;
    let alice = app.signed_up("alice").await;
    let db = app.app.db_for_tests();
    let sql = "SELECT status, attempts, body_text, last_error FROM outbound_mail";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let row = loop {
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
        let row = row.expect("the verification mail was queued");
        let status: String = row.try_get("", "status").unwrap();
        if status == "dead" {
            break row;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status} after 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(row.try_get::<i32>("", "attempts").unwrap(), 5, "retried, then given up");
    assert_eq!(row.try_get::<String>("", "body_text").unwrap(), "", "the body (and its token) is gone");
    let error: Option<String> = row.try_get("", "last_error").unwrap();
    assert!(error.is_some_and(|e| !e.is_empty()));
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["id"], Value::from(alice.id.as_str()), "the account exists and works");
}
