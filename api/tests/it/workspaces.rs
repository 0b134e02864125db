//! Workspaces, members, roles, departments and the audit log: scoping and role rules.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ADD_MEMBER, CREATE_WORKSPACE, TestApp, TestUser, WsClient, spawn_app};

const WORKSPACE: &str = "query($id: ID!) { workspace(id: $id) { id name myRole members { role user { id displayName } } departments { code head { id } } } }";
const WORKSPACES: &str = "{ workspaces { id name myRole } }";
const REMOVE: &str = "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { userId } }";
const CHANGE_ROLE: &str = "mutation($input: ChangeRoleInput!) { changeRole(input: $input) { member { role } } }";
const CREATE_DEPT: &str = "mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { department { id code name capacity head { id } } } }";
const UPDATE_DEPT: &str =
    "mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) { department { id name } } }";
const DELETE_DEPT: &str = "mutation($id: ID!) { deleteDepartment(id: $id) { id } }";
const AUDIT: &str = "query($ws: ID!, $first: Int, $after: String) { auditLog(workspaceId: $ws, first: $first, after: $after) { edges { cursor node { action actorLabel objectType actor { id } } } pageInfo { hasNextPage } } }";

fn code(res: &crate::helpers::Gql) -> String {
    res.error_code().unwrap_or_else(|| format!("no error: {}", res.body))
}

#[tokio::test]
async fn the_creator_of_a_workspace_is_its_owner_and_sees_it_listed() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;

    let res = app
        .gql_as(Some(&alice.token), CREATE_WORKSPACE, json!({ "input": { "name": "Sunny Hills Estate" } }))
        .await
        .ok();

    let ws = &res.data()["createWorkspace"]["workspace"];
    assert_eq!(ws["myRole"], "OWNER");
    assert!(ws["slug"].as_str().unwrap().starts_with("sunny-hills-estate-"));
    let list = app.gql_as(Some(&alice.token), WORKSPACES, json!({})).await.ok();
    assert_eq!(list.data()["workspaces"], json!([{ "id": ws["id"], "name": "Sunny Hills Estate", "myRole": "OWNER" }]));
}

#[tokio::test]
async fn a_taken_slug_is_a_conflict_and_a_bad_one_is_bad_input() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let slug = format!("acme-{}", &uuid::Uuid::now_v7().simple().to_string()[26..]);
    app.gql_as(Some(&alice.token), CREATE_WORKSPACE, json!({ "input": { "name": "Acme", "slug": slug } })).await.ok();

    let taken =
        app.gql_as(Some(&alice.token), CREATE_WORKSPACE, json!({ "input": { "name": "Acme 2", "slug": slug } })).await;
    let bad = app
        .gql_as(Some(&alice.token), CREATE_WORKSPACE, json!({ "input": { "name": "Acme 3", "slug": "Not OK" } }))
        .await;

    assert_eq!(code(&taken), "CONFLICT");
    assert_eq!(code(&bad), "BAD_USER_INPUT");
}

async fn department(app: &TestApp, by: &TestUser, ws: &str, code: &str) -> String {
    let input = json!({ "input": { "workspaceId": ws, "department": { "name": code, "code": code, "capacity": 5 } } });
    let res = app.gql_as(Some(&by.token), CREATE_DEPT, input).await.ok();
    res.data()["createDepartment"]["department"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_outsider_gets_not_found_from_every_workspace_query_and_mutation() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let mallory = app.signed_up("mallory").await;
    let ws = app.workspace(&alice, "Private").await;
    let dept = department(&app, &alice, &ws, "OPS").await;
    let fields = json!({ "name": "X", "code": "XX", "capacity": 1 });

    let attempts: Vec<(&str, Value)> = vec![
        (WORKSPACE, json!({ "id": ws })),
        (AUDIT, json!({ "ws": ws })),
        (ADD_MEMBER, json!({ "input": { "workspaceId": ws, "email": mallory.email, "role": "MEMBER" } })),
        (REMOVE, json!({ "input": { "workspaceId": ws, "userId": alice.id } })),
        (CHANGE_ROLE, json!({ "input": { "workspaceId": ws, "userId": mallory.id, "role": "OWNER" } })),
        (CREATE_DEPT, json!({ "input": { "workspaceId": ws, "department": fields } })),
        (UPDATE_DEPT, json!({ "input": { "id": dept, "department": fields } })),
        (DELETE_DEPT, json!({ "id": dept })),
    ];
    for (query, vars) in attempts {
        let res = app.gql_as(Some(&mallory.token), query, vars).await;
        assert_eq!(code(&res), "NOT_FOUND", "{query}");
    }
    let list = app.gql_as(Some(&mallory.token), WORKSPACES, json!({})).await.ok();
    assert_eq!(list.data()["workspaces"], json!([]));
    let mut socket = WsClient::init(&app, Some(&mallory.token)).await;
    socket
        .send(json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription($ws: ID!) { membershipChanged(workspaceId: $ws) { userId } }", "variables": { "ws": ws } } }))
        .await;
    let msg = socket.next_json().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["payload"][0]["extensions"]["code"], "NOT_FOUND");
    let still = app.gql_as(Some(&alice.token), WORKSPACE, json!({ "id": ws })).await.ok();
    assert_eq!(still.data()["workspace"]["departments"][0]["code"], "OPS");
}

#[tokio::test]
async fn anonymous_callers_are_unauthenticated_everywhere() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let ws = app.workspace(&alice, "W").await;
    for (query, vars) in [
        (WORKSPACES, json!({})),
        (WORKSPACE, json!({ "id": ws })),
        (AUDIT, json!({ "ws": ws })),
        (CREATE_WORKSPACE, json!({ "input": { "name": "x" } })),
    ] {
        let res = app.gql(query, vars).await;
        assert_eq!(code(&res), "UNAUTHENTICATED", "{query}");
    }
}

#[tokio::test]
async fn members_see_the_workspace_but_cannot_manage_it() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.signed_up("alice").await, app.signed_up("bob").await, app.signed_up("carol").await);
    let ws = app.workspace(&alice, "W").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;

    let seen = app.gql_as(Some(&bob.token), WORKSPACE, json!({ "id": ws })).await.ok();
    assert_eq!(seen.data()["workspace"]["myRole"], "MEMBER");
    assert_eq!(seen.data()["workspace"]["members"].as_array().unwrap().len(), 2);

    let add =
        app.gql_as(Some(&bob.token), ADD_MEMBER, json!({ "input": { "workspaceId": ws, "email": carol.email } })).await;
    assert_eq!(code(&add), "FORBIDDEN");
    let dept = app
        .gql_as(
            Some(&bob.token),
            CREATE_DEPT,
            json!({ "input": { "workspaceId": ws, "department": { "name": "D", "code": "DD" } } }),
        )
        .await;
    assert_eq!(code(&dept), "FORBIDDEN");
    let audit = app.gql_as(Some(&bob.token), AUDIT, json!({ "ws": ws })).await;
    assert_eq!(code(&audit), "FORBIDDEN");
    let promote = app
        .gql_as(
            Some(&bob.token),
            CHANGE_ROLE,
            json!({ "input": { "workspaceId": ws, "userId": bob.id, "role": "ADMIN" } }),
        )
        .await;
    assert_eq!(code(&promote), "FORBIDDEN");
}

#[tokio::test]
async fn admins_manage_only_below_themselves() {
    let app = spawn_app().await;
    let (owner, admin, other_admin, member) = (
        app.signed_up("owner").await,
        app.signed_up("admin").await,
        app.signed_up("admin2").await,
        app.signed_up("m").await,
    );
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &admin, "ADMIN").await;
    app.add(&owner, &ws, &other_admin, "ADMIN").await;

    let grant_admin = app
        .gql_as(
            Some(&admin.token),
            ADD_MEMBER,
            json!({ "input": { "workspaceId": ws, "email": member.email, "role": "ADMIN" } }),
        )
        .await;
    assert_eq!(code(&grant_admin), "FORBIDDEN");
    app.add(&admin, &ws, &member, "AGENT").await;
    let promote = app
        .gql_as(
            Some(&admin.token),
            CHANGE_ROLE,
            json!({ "input": { "workspaceId": ws, "userId": member.id, "role": "MODERATOR" } }),
        )
        .await
        .ok();
    assert_eq!(promote.data()["changeRole"]["member"]["role"], "MODERATOR");
    let demote_owner = app
        .gql_as(
            Some(&admin.token),
            CHANGE_ROLE,
            json!({ "input": { "workspaceId": ws, "userId": owner.id, "role": "MEMBER" } }),
        )
        .await;
    assert_eq!(code(&demote_owner), "FORBIDDEN");
    let remove_peer = app
        .gql_as(Some(&admin.token), REMOVE, json!({ "input": { "workspaceId": ws, "userId": other_admin.id } }))
        .await;
    assert_eq!(code(&remove_peer), "FORBIDDEN");
    app.gql_as(Some(&admin.token), REMOVE, json!({ "input": { "workspaceId": ws, "userId": member.id } })).await.ok();
    let gone = app.gql_as(Some(&member.token), WORKSPACE, json!({ "id": ws })).await;
    assert_eq!(code(&gone), "NOT_FOUND");
    let twice = app
        .gql_as(Some(&owner.token), ADD_MEMBER, json!({ "input": { "workspaceId": ws, "email": admin.email } }))
        .await;
    assert_eq!(code(&twice), "CONFLICT");
}

#[tokio::test]
async fn the_last_owner_can_neither_leave_nor_be_demoted_but_others_can_leave() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "MEMBER").await;

    let leave =
        app.gql_as(Some(&owner.token), REMOVE, json!({ "input": { "workspaceId": ws, "userId": owner.id } })).await;
    assert_eq!(code(&leave), "CONFLICT");
    let demote = app
        .gql_as(
            Some(&owner.token),
            CHANGE_ROLE,
            json!({ "input": { "workspaceId": ws, "userId": owner.id, "role": "ADMIN" } }),
        )
        .await;
    assert_eq!(code(&demote), "CONFLICT");

    app.gql_as(Some(&bob.token), REMOVE, json!({ "input": { "workspaceId": ws, "userId": bob.id } })).await.ok();
    app.gql_as(
        Some(&owner.token),
        CHANGE_ROLE,
        json!({ "input": { "workspaceId": ws, "userId": owner.id, "role": "OWNER" } }),
    )
    .await
    .ok();
}

#[tokio::test]
async fn departments_are_created_updated_and_deleted_with_checked_fields() {
    let app = spawn_app().await;
    let (owner, bob, stranger) = (app.signed_up("owner").await, app.signed_up("bob").await, app.signed_up("s").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "AGENT").await;

    let created = app
        .gql_as(
            Some(&owner.token),
            CREATE_DEPT,
            json!({ "input": { "workspaceId": ws, "department": { "name": "Maintenance", "code": "maint", "headUserId": bob.id, "capacity": 12 } } }),
        )
        .await
        .ok();
    let dept = &created.data()["createDepartment"]["department"];
    assert_eq!(dept["code"], "MAINT");
    assert_eq!(dept["head"]["id"], bob.id.as_str());
    let id = dept["id"].as_str().unwrap();

    let dup = app
        .gql_as(
            Some(&owner.token),
            CREATE_DEPT,
            json!({ "input": { "workspaceId": ws, "department": { "name": "M2", "code": "MAINT" } } }),
        )
        .await;
    assert_eq!(code(&dup), "CONFLICT");
    let outsider_head = app
        .gql_as(
            Some(&owner.token),
            CREATE_DEPT,
            json!({ "input": { "workspaceId": ws, "department": { "name": "S", "code": "SEC", "headUserId": stranger.id } } }),
        )
        .await;
    assert_eq!(code(&outsider_head), "BAD_USER_INPUT");
    assert_eq!(outsider_head.body["errors"][0]["extensions"]["field"], "headUserId");
    let negative = app
        .gql_as(
            Some(&owner.token),
            CREATE_DEPT,
            json!({ "input": { "workspaceId": ws, "department": { "name": "S", "code": "SEC", "capacity": -1 } } }),
        )
        .await;
    assert_eq!(code(&negative), "BAD_USER_INPUT");

    let updated = app
        .gql_as(
            Some(&owner.token),
            UPDATE_DEPT,
            json!({ "input": { "id": id, "department": { "name": "Works", "code": "MAINT" } } }),
        )
        .await
        .ok();
    assert_eq!(updated.data()["updateDepartment"]["department"]["name"], "Works");
    app.gql_as(Some(&owner.token), DELETE_DEPT, json!({ "id": id })).await.ok();
    let again = app.gql_as(Some(&owner.token), DELETE_DEPT, json!({ "id": id })).await;
    assert_eq!(code(&again), "NOT_FOUND");
    let bad_id = app.gql_as(Some(&owner.token), DELETE_DEPT, json!({ "id": "not-a-uuid" })).await;
    assert_eq!(code(&bad_id), "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_and_pages_newest_first() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "ADMIN").await;
    department(&app, &bob, &ws, "OPS").await;

    let page = app.gql_as(Some(&owner.token), AUDIT, json!({ "ws": ws, "first": 2 })).await.ok();
    let edges = page.data()["auditLog"]["edges"].as_array().unwrap().clone();
    let actions: Vec<&str> = edges.iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["department.created", "member.added"]);
    assert_eq!(edges[0]["node"]["actor"]["id"], bob.id.as_str());
    assert_eq!(page.data()["auditLog"]["pageInfo"]["hasNextPage"], true);

    let cursor = edges[1]["cursor"].as_str().unwrap();
    let rest = app.gql_as(Some(&bob.token), AUDIT, json!({ "ws": ws, "first": 10, "after": cursor })).await.ok();
    let actions: Vec<&str> = rest.data()["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["workspace.created"]);
    assert_eq!(rest.data()["auditLog"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn a_member_is_told_over_the_socket_when_someone_joins() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    let mut socket = WsClient::init(&app, Some(&owner.token)).await;
    socket
        .send(json!({ "id": "m", "type": "subscribe", "payload": { "query": "subscription($ws: ID!) { membershipChanged(workspaceId: $ws) { change userId role } }", "variables": { "ws": ws } } }))
        .await;
    // The subscription is live once a round trip on the same socket has completed.
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.next_json().await["type"], "pong");
    tokio::time::sleep(Duration::from_millis(100)).await;

    app.add(&owner, &ws, &bob, "AGENT").await;

    let msg = socket.next_json().await;
    assert_eq!(msg["type"], "next");
    assert_eq!(msg["id"], "m");
    assert_eq!(
        msg["payload"]["data"]["membershipChanged"],
        json!({ "change": "ADDED", "userId": bob.id, "role": "AGENT" })
    );
}

const AUDIT_FILTERED: &str = "query($ws: ID!, $f: AuditFilter) { auditLog(workspaceId: $ws, filter: $f) { edges { node { action objectId changes reason clientIp userAgent actor { id } } } } }";

async fn audited(app: &TestApp, by: &TestUser, ws: &str, filter: Value) -> Vec<Value> {
    let res = app.gql_as(Some(&by.token), AUDIT_FILTERED, json!({ "ws": ws, "f": filter })).await.ok();
    res.data()["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

#[tokio::test]
async fn an_admin_mutation_records_before_and_after_address_agent_and_reason() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "MEMBER").await;
    let change =
        json!({ "input": { "workspaceId": ws, "userId": bob.id, "role": "ADMIN", "reason": "runs the night shift" } });
    let res = app
        .http
        .post(app.url())
        .bearer_auth(&owner.token)
        .header("user-agent", "stoa-tests/1.0")
        .json(&json!({ "query": CHANGE_ROLE, "variables": change }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["data"]["changeRole"]["member"]["role"], "ADMIN");

    let changed = audited(&app, &owner, &ws, json!({ "action": "member.role_changed" })).await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    let entry = &changed[0];
    assert_eq!(entry["changes"], json!({ "role": { "from": "member", "to": "admin" } }));
    assert_eq!(entry["reason"], "runs the night shift");
    assert_eq!(entry["clientIp"], "127.0.0.1");
    assert_eq!(entry["userAgent"], "stoa-tests/1.0");
    assert_eq!(entry["objectId"], bob.id.as_str());

    let about_bob =
        audited(&app, &owner, &ws, json!({ "objectType": "user", "objectId": bob.id, "actorId": owner.id })).await;
    let actions: Vec<&str> = about_bob.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["member.role_changed", "member.added"]);
    assert_eq!(about_bob[1]["changes"], json!({ "role": { "from": null, "to": "member" } }));
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert!(audited(&app, &owner, &ws, json!({ "since": later })).await.is_empty());
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(audited(&app, &owner, &ws, json!({ "since": earlier, "until": later })).await.len(), 3);
    let backwards = app
        .gql_as(Some(&owner.token), AUDIT_FILTERED, json!({ "ws": ws, "f": { "since": later, "until": earlier } }))
        .await;
    assert_eq!(code(&backwards), "BAD_USER_INPUT");

    let too_long =
        json!({ "input": { "workspaceId": ws, "userId": bob.id, "role": "MEMBER", "reason": "x".repeat(501) } });
    let refused = app.gql_as(Some(&owner.token), CHANGE_ROLE, too_long).await;
    assert_eq!(code(&refused), "BAD_USER_INPUT");
    assert_eq!(
        audited(&app, &owner, &ws, json!({ "action": "member.role_changed" })).await.len(),
        1,
        "nothing changed"
    );
}

#[tokio::test]
async fn the_database_itself_refuses_to_update_or_delete_audit_entries() {
    use sea_orm::ConnectionTrait as _;
    let app = spawn_app().await;
    let owner = app.signed_up("owner").await;
    let ws = app.workspace(&owner, "W").await;
    let db = app.app.db_for_tests();
    let count = "SELECT COUNT(*) AS n FROM audit_log";
    let before = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), count)).await.unwrap();
    for statement in ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"] {
        let err = db.execute_unprepared(statement).await.expect_err(statement);
        assert!(err.to_string().contains("append-only"), "{statement}: {err}");
    }
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let err = db.execute_unprepared("TRUNCATE audit_log").await.expect_err("truncate");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    let after = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), count)).await.unwrap();
    let n = |row: Option<sea_orm::QueryResult>| row.and_then(|r| r.try_get::<i64>("", "n").ok());
    assert_eq!(n(before), n(after));
    let actions: Vec<String> =
        audited(&app, &owner, &ws, json!({})).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["workspace.created"]);
}
