//! OpenID Connect sign-in against a real provider (`oidc-provider` 9, `e2e/oidc/provider.mjs`),
//! driven like a browser: a cookie jar, redirects followed by hand, the provider's login form.

use reqwest::Url;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{KillOnDrop, TestApp, spawn_app_with};

const FRONTEND: &str = "http://frontend.example";
const EXCHANGE: &str = "mutation($c: String!) { exchangeSignInCode(code: $c) { accessToken viewer { id } } }";
const ME: &str = "{ me { id email emailVerified linkedIdentities { provider email } } }";

/// The provider, on a free port; killed when dropped.
fn provider() -> (KillOnDrop, String) {
    use std::io::BufRead as _;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e");
    assert!(
        root.join("node_modules/oidc-provider").exists(),
        "e2e/node_modules/oidc-provider is missing: run `npm ci --prefix e2e` (the OIDC tests start a real provider)"
    );
    let log = std::env::temp_dir().join(format!("stoa-oidc-{}.log", uuid::Uuid::now_v7()));
    let mut child = std::process::Command::new("node")
        .arg(root.join("oidc/provider.mjs"))
        .env("OIDC_PORT", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("node starts (the OIDC tests need Node.js)");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
    let issuer = line.trim().strip_prefix("oidc provider listening on ").unwrap_or_else(|| panic!("{line}")).to_owned();
    (KillOnDrop(child, log), issuer)
}

async fn app_with_provider(issuer: &str) -> TestApp {
    spawn_app_with(&[
        ("STOA_OIDC_PROVIDERS", "test"),
        ("STOA_OIDC_TEST_ISSUER", issuer),
        ("STOA_OIDC_TEST_CLIENT_ID", "stoa"),
        ("STOA_OIDC_TEST_CLIENT_SECRET", "stoa-secret"),
        ("STOA_APP_URL", FRONTEND),
    ])
    .await
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn follow(res: &reqwest::Response) -> Url {
    assert_eq!(res.status(), 303, "{:?}", res.headers());
    let base = res.url().clone();
    base.join(res.headers()[LOCATION].to_str().unwrap()).unwrap()
}

/// One sign-in at the provider as `login`, from Stoa's start to the provider's redirect back:
/// returns the callback URL and the flow cookie Stoa set. `edit` may change the authorize URL.
async fn at_provider(
    app: &TestApp,
    browser: &reqwest::Client,
    login: &str,
    edit: impl Fn(Url) -> Url,
) -> (Url, String) {
    let start = browser.get(format!("http://{}/auth/oidc/test/start", app.addr)).send().await.unwrap();
    let cookie = start.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let authorize = edit(follow(&start));
    let interaction = follow(&browser.get(authorize).send().await.unwrap());
    let login_res = browser.post(format!("{interaction}/login")).form(&[("login", login)]).send().await.unwrap();
    let resume = follow(&login_res);
    let callback = follow(&browser.get(resume).send().await.unwrap());
    assert!(callback.path().ends_with("/auth/oidc/test/callback"), "{callback}");
    (callback, cookie)
}

/// Stoa's answer to a callback: the fragment of its redirect to the frontend.
async fn finish(browser: &reqwest::Client, callback: Url) -> String {
    let done = follow(&browser.get(callback).send().await.unwrap());
    assert!(done.as_str().starts_with(&format!("{FRONTEND}/sign-in#")), "{done}");
    done.fragment().unwrap().to_owned()
}

async fn sign_in(app: &TestApp, login: &str) -> String {
    let browser = browser();
    let (callback, _) = at_provider(app, &browser, login, |u| u).await;
    finish(&browser, callback).await
}

fn code_of(fragment: &str) -> String {
    fragment.strip_prefix("code=").unwrap_or_else(|| panic!("not a code: {fragment}")).to_owned()
}

#[tokio::test]
async fn a_new_user_signs_in_through_the_provider_and_cannot_unlink_their_only_way_in() {
    let (_provider, issuer) = provider();
    let app = app_with_provider(&issuer).await;
    let login = format!("fresh-{}", uuid::Uuid::now_v7().simple());
    let code = code_of(&sign_in(&app, &login).await);
    let signed_in = app.gql(EXCHANGE, json!({ "c": code })).await.ok();
    let token = signed_in.data()["exchangeSignInCode"]["accessToken"].as_str().unwrap().to_owned();
    let me = app.gql_as(Some(&token), ME, json!({})).await.ok();
    assert_eq!(
        me.data()["me"]["linkedIdentities"],
        json!([{ "provider": "test", "email": format!("{login}@example.com") }])
    );
    assert_eq!(me.data()["me"]["emailVerified"], true, "the provider vouched for the address");
    let replayed = app.gql(EXCHANGE, json!({ "c": code })).await;
    assert_eq!(replayed.error_code().as_deref(), Some("INVALID_TOKEN"), "single use");
    let unlink = app.gql_as(Some(&token), "mutation { unlinkIdentity(provider: \"test\") { ok } }", json!({})).await;
    assert_eq!(unlink.error_code().as_deref(), Some("CONFLICT"), "the last sign-in method");

    // Signing in again finds the same account.
    let again = code_of(&sign_in(&app, &login).await);
    let second = app.gql(EXCHANGE, json!({ "c": again })).await.ok();
    assert_eq!(second.data()["exchangeSignInCode"]["viewer"]["id"], me.data()["me"]["id"]);
}

#[tokio::test]
async fn a_verified_address_links_the_existing_account_which_may_then_unlink() {
    let (_provider, issuer) = provider();
    let app = app_with_provider(&issuer).await;
    let alice = app.signed_up("alice").await;
    let login = alice.email.strip_suffix("@example.com").unwrap();
    let code = code_of(&sign_in(&app, login).await);
    let signed_in = app.gql(EXCHANGE, json!({ "c": code })).await.ok();
    assert_eq!(signed_in.data()["exchangeSignInCode"]["viewer"]["id"], alice.id.as_str(), "linked, not a new account");
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["linkedIdentities"][0]["provider"], "test");
    app.gql_as(Some(&alice.token), "mutation { unlinkIdentity(provider: \"test\") { ok } }", json!({})).await.ok();
    let me = app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    assert_eq!(me.data()["me"]["linkedIdentities"], json!([]));
    let missing =
        app.gql_as(Some(&alice.token), "mutation { unlinkIdentity(provider: \"test\") { ok } }", json!({})).await;
    assert_eq!(missing.error_code().as_deref(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn an_unverified_address_a_wrong_state_a_wrong_nonce_and_a_replayed_code_are_refused() {
    let (_provider, issuer) = provider();
    let app = app_with_provider(&issuer).await;
    assert_eq!(sign_in(&app, "unverified").await, "error=EMAIL_NOT_VERIFIED");

    let browser = browser();
    let (mut callback, _) = at_provider(&app, &browser, "state-test", |u| u).await;
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(
            |(k, v)| {
                if k == "state" { (k.into_owned(), "forged".to_owned()) } else { (k.into_owned(), v.into_owned()) }
            },
        )
        .collect();
    callback.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(finish(&browser, callback).await, "error=OIDC_STATE_MISMATCH");

    let browser = self::browser();
    let renonce = |mut u: Url| {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                if k == "nonce" {
                    (k.into_owned(), "not-the-nonce".to_owned())
                } else {
                    (k.into_owned(), v.into_owned())
                }
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        u
    };
    let (callback, _) = at_provider(&app, &browser, "nonce-test", renonce).await;
    assert_eq!(finish(&browser, callback).await, "error=OIDC_NONCE_MISMATCH");

    let browser = self::browser();
    let (callback, cookie) = at_provider(&app, &browser, "replay-test", |u| u).await;
    assert!(finish(&browser, callback.clone()).await.starts_with("code="));
    // The same redirect again, with the flow cookie it came with: the provider refuses the code.
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = replay.get(callback).header("cookie", cookie).send().await.unwrap();
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{FRONTEND}/sign-in#error=OIDC_EXCHANGE_FAILED"));
}

#[tokio::test]
async fn an_unconfigured_provider_is_not_found() {
    let (_provider, issuer) = provider();
    let app = app_with_provider(&issuer).await;
    for path in ["start", "callback?code=x&state=y"] {
        let res = app.http.get(format!("http://{}/auth/oidc/nope/{path}", app.addr)).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    }
    let bare = crate::helpers::spawn_app().await;
    let res = bare.http.get(format!("http://{}/auth/oidc/test/start", bare.addr)).send().await.unwrap();
    assert_eq!(res.status(), 404, "no provider configured");
}
