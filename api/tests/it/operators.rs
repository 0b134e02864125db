//! The instance operator role: granted and revoked only with `stoa operator` on the command line
//! (audited, absent from the API); in production an operator's session alone may introspect and
//! send free-form documents, everyone else runs trusted documents only.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

fn trusted_id(name: &str) -> String {
    let manifest: HashMap<String, String> = serde_json::from_str(stoa_api::trusted::EMBEDDED_MANIFEST).unwrap();
    let needle = format!("mutation {name}(");
    manifest.into_iter().find(|(_, text)| text.contains(&needle)).map(|(id, _)| id).unwrap()
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let mut req = app.http.post(app.url()).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn register(app: &TestApp, name: &str) -> (String, String) {
    let email = format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple());
    let input = json!({ "email": email, "password": format!("pw-{name}-12345"), "displayName": name });
    let body = post(app, None, json!({ "documentId": trusted_id("Register"), "variables": { "input": input } })).await;
    (email, body["data"]["register"]["accessToken"].as_str().unwrap().to_owned())
}

/// `stoa operator <args>` on the app's database; its stdout, after it exited successfully.
fn operator_cli(app: &TestApp, args: &[&str]) -> String {
    let mut all = vec!["operator"];
    all.extend_from_slice(args);
    let name = format!("operator-{}", uuid::Uuid::now_v7().simple());
    let mut child = app.stoa_process(&name, &all, &[]);
    let status = child.0.wait().unwrap();
    let out = std::fs::read_to_string(&child.1).unwrap_or_default();
    assert!(status.success(), "stoa operator {args:?}: {out}");
    out
}

const STANDARD_INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } types { ...FullType } } } \
    fragment FullType on __Type { kind name fields(includeDeprecated: true) { name type { ...TypeRef } } } \
    fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name \
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }";

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn only_an_operator_introspects_and_sends_free_form_documents_in_production() {
    let app = spawn_app_with(&[("STOA_ENV", "production"), ("STOA_PLAYGROUND", "on")]).await;
    let (op_email, op_token) = register(&app, "olga").await;
    let (_, member_token) = register(&app, "max").await;
    let free_form = json!({ "query": "{ me { id email } }" });
    let before = post(&app, Some(&op_token), free_form.clone()).await;
    assert_eq!(code(&before), "TRUSTED_DOCUMENTS_ONLY", "{before}");

    let said = operator_cli(&app, &["add", &op_email]);
    assert!(said.contains("is an operator"), "{said}");
    assert!(operator_cli(&app, &["list"]).contains(&op_email));

    let mine = post(&app, Some(&op_token), free_form.clone()).await;
    assert_eq!(mine["data"]["me"]["email"], op_email.as_str(), "{mine}");
    let schema = post(&app, Some(&op_token), json!({ "query": STANDARD_INTROSPECTION })).await;
    assert_eq!(schema["data"]["__schema"]["queryType"]["name"], "Query", "{schema}");
    for body in [free_form.clone(), json!({ "query": STANDARD_INTROSPECTION })] {
        let refused = post(&app, Some(&member_token), body).await;
        assert_eq!(code(&refused), "TRUSTED_DOCUMENTS_ONLY", "a member: {refused}");
        let anonymous = post(&app, None, json!({ "query": "{ __typename }" })).await;
        assert_eq!(code(&anonymous), "TRUSTED_DOCUMENTS_ONLY", "{anonymous}");
    }

    assert!(operator_cli(&app, &["remove", &op_email]).contains("no longer an operator"));
    let after = post(&app, Some(&op_token), free_form).await;
    assert_eq!(code(&after), "TRUSTED_DOCUMENTS_ONLY", "the role is gone at once: {after}");
    assert!(operator_cli(&app, &["list"]).contains("no operators"));

    let db = app.app.db_for_tests();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT action, actor_label FROM audit_log WHERE action LIKE 'operator.%' ORDER BY created_at",
        ))
        .await
        .unwrap();
    let actions: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.try_get::<String>("", "action").unwrap(), r.try_get::<String>("", "actor_label").unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("operator.granted".into(), "system:cli".into()), ("operator.revoked".into(), "system:cli".into())]
    );
}

#[tokio::test]
async fn with_introspection_off_an_operator_still_introspects_and_others_are_refused() {
    let app = spawn_app_with(&[("STOA_ENV", "production"), ("STOA_TRUSTED_DOCUMENTS_MODE", "off")]).await;
    let (op_email, op_token) = register(&app, "opal").await;
    let (_, member_token) = register(&app, "mia").await;
    operator_cli(&app, &["add", &op_email]);
    let ok = post(&app, Some(&op_token), json!({ "query": STANDARD_INTROSPECTION })).await;
    assert_eq!(ok["data"]["__schema"]["queryType"]["name"], "Query", "{ok}");
    let refused = post(&app, Some(&member_token), json!({ "query": STANDARD_INTROSPECTION })).await;
    assert_eq!(code(&refused), "GRAPHQL_VALIDATION_FAILED", "{refused}");
    // The operator's document is cached apart: the member is refused again after it ran.
    let again = post(&app, Some(&member_token), json!({ "query": STANDARD_INTROSPECTION })).await;
    assert_eq!(code(&again), "GRAPHQL_VALIDATION_FAILED", "{again}");
    let anonymous = post(&app, None, json!({ "query": "{ __schema { queryType { name } } }" })).await;
    assert_eq!(code(&anonymous), "GRAPHQL_VALIDATION_FAILED", "{anonymous}");
}

#[tokio::test]
async fn the_operator_role_is_not_part_of_the_api_and_the_cli_refuses_bad_input() {
    let sdl = stoa_schema::sdl().to_lowercase();
    assert!(!sdl.contains("operator"), "no field, type or argument names the operator role");
    let app = spawn_app_with(&[]).await;
    for args in [&["add", "nobody@example.com"][..], &["add", "not an email"], &["remove", "nobody@example.com"]] {
        let mut all = vec!["operator"];
        all.extend_from_slice(args);
        let mut child = app.stoa_process("operator-bad", &all, &[]);
        let status = child.0.wait().unwrap();
        let out = std::fs::read_to_string(&child.1).unwrap_or_default();
        assert!(!status.success(), "{args:?} must fail: {out}");
        assert!(out.contains("stoa:"), "one clear line: {out}");
    }
    let (email, _) = register(&app, "dup").await;
    operator_cli(&app, &["add", &email]);
    let mut again = app.stoa_process("operator-dup", &["operator", "add", &email], &[]);
    assert!(!again.0.wait().unwrap().success(), "granting twice is a conflict");
}

#[tokio::test]
async fn the_standard_introspection_query_runs_under_the_default_depth_limit() {
    let app = spawn_app_with(&[]).await;
    let body = post(&app, None, json!({ "query": STANDARD_INTROSPECTION })).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{body}");
    // Other documents keep the depth limit of 12, an introspection field beside them or not.
    let replies = "replies { edges { node { ".repeat(3) + "id" + &" } } }".repeat(3);
    let deep =
        format!("query Deep {{ __typename channel(id: \"x\") {{ messages {{ edges {{ node {{ {replies} }} }} }} }} }}");
    let res = post(&app, None, json!({ "query": deep })).await;
    assert_eq!(code(&res), "QUERY_TOO_COMPLEX", "{res}");
}
