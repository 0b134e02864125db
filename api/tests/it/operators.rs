//! The instance operator role: granted and revoked only with `stoa operator` on the command line
//! (audited, absent from the API); in production an operator's session alone may introspect and
//! send free-form documents, everyone else runs trusted documents only.

use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, error_code as code, spawn_app_with};

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

#[tokio::test]
async fn only_an_operator_introspects_and_sends_free_form_documents_in_production() {
    let app = spawn_app_with(&[("STOA_ENV", "production"), ("STOA_PLAYGROUND", "on")]).await;
    let TestUser { email: op_email, token: op_token, .. } = app.signed_up_trusted("olga").await;
    let TestUser { token: member_token, .. } = app.signed_up_trusted("max").await;
    let free_form = json!({ "query": "{ me { id email } }" });
    let before = app.post_json(Some(&op_token), &free_form.clone()).await.1;
    assert_eq!(code(&before), "TRUSTED_DOCUMENTS_ONLY", "{before}");

    let said = operator_cli(&app, &["add", &op_email]);
    assert!(said.contains("is an operator"), "{said}");
    assert!(operator_cli(&app, &["list"]).contains(&op_email));

    let mine = app.post_json(Some(&op_token), &free_form.clone()).await.1;
    assert_eq!(mine["data"]["me"]["email"], op_email.as_str(), "{mine}");
    let schema = app.post_json(Some(&op_token), &json!({ "query": STANDARD_INTROSPECTION })).await.1;
    assert_eq!(schema["data"]["__schema"]["queryType"]["name"], "Query", "{schema}");
    for body in [free_form.clone(), json!({ "query": STANDARD_INTROSPECTION })] {
        let refused = app.post_json(Some(&member_token), &body).await.1;
        assert_eq!(code(&refused), "TRUSTED_DOCUMENTS_ONLY", "a member: {refused}");
        let anonymous = app.post_json(None, &json!({ "query": "{ __typename }" })).await.1;
        assert_eq!(code(&anonymous), "TRUSTED_DOCUMENTS_ONLY", "{anonymous}");
    }

    assert!(operator_cli(&app, &["remove", &op_email]).contains("no longer an operator"));
    let after = app.post_json(Some(&op_token), &free_form).await.1;
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
    let TestUser { email: op_email, token: op_token, .. } = app.signed_up_trusted("opal").await;
    let TestUser { token: member_token, .. } = app.signed_up_trusted("mia").await;
    operator_cli(&app, &["add", &op_email]);
    let ok = app.post_json(Some(&op_token), &json!({ "query": STANDARD_INTROSPECTION })).await.1;
    assert_eq!(ok["data"]["__schema"]["queryType"]["name"], "Query", "{ok}");
    let refused = app.post_json(Some(&member_token), &json!({ "query": STANDARD_INTROSPECTION })).await.1;
    assert_eq!(code(&refused), "GRAPHQL_VALIDATION_FAILED", "{refused}");
    // The operator's document is cached apart: the member is refused again after it ran.
    let again = app.post_json(Some(&member_token), &json!({ "query": STANDARD_INTROSPECTION })).await.1;
    assert_eq!(code(&again), "GRAPHQL_VALIDATION_FAILED", "{again}");
    let anonymous = app.post_json(None, &json!({ "query": "{ __schema { queryType { name } } }" })).await.1;
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
    let TestUser { email, .. } = app.signed_up_trusted("dup").await;
    operator_cli(&app, &["add", &email]);
    let mut again = app.stoa_process("operator-dup", &["operator", "add", &email], &[]);
    assert!(!again.0.wait().unwrap().success(), "granting twice is a conflict");
}

#[tokio::test]
async fn the_standard_introspection_query_runs_under_the_default_depth_limit() {
    let app = spawn_app_with(&[]).await;
    let body = app.post_json(None, &json!({ "query": STANDARD_INTROSPECTION })).await.1;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{body}");
    // Other documents keep the depth limit of 12, an introspection field beside them or not.
    let replies = "replies { edges { node { ".repeat(3) + "id" + &" } } }".repeat(3);
    let deep =
        format!("query Deep {{ __typename channel(id: \"x\") {{ messages {{ edges {{ node {{ {replies} }} }} }} }} }}");
    let res = app.post_json(None, &json!({ "query": deep })).await.1;
    assert_eq!(code(&res), "QUERY_TOO_COMPLEX", "{res}");
}
