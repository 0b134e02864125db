//! Running a community through the API: invitations (email and link, new and existing users),
//! department agents, timeouts and bans, workspace settings, and List-Unsubscribe.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient, spawn_app};

const INVITE: &str = "mutation($i: CreateInvitationInput!) { createInvitation(input: $i) { token invitation { id email role uses maxUses expiresAt revokedAt } } }";
const ACCEPT: &str =
    "mutation($t: String!) { acceptInvitation(token: $t) { member { role workspaceId departments { code } } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeInvitation(id: $id) { invitation { revokedAt } } }";
const REGISTER: &str =
    "mutation($i: RegisterInput!) { register(input: $i) { accessToken viewer { id email emailVerified } } }";
const MY_ROLE: &str = "query($w: ID!) { workspace(id: $w) { myRole } }";
const VERIFY: &str = "mutation($t: String!) { verifyEmail(token: $t) { viewer { emailVerified } } }";
const BAN: &str = "mutation($i: BanMemberInput!) { banMember(input: $i) { userId } }";
const UNBAN: &str = "mutation($i: BanMemberInput!) { unbanMember(input: $i) { userId } }";
const TIMEOUT: &str = "mutation($i: TimeoutMemberInput!) { timeoutMember(input: $i) { member { timedOutUntil } } }";
const CHANNEL: &str = "mutation($i: CreateChannelInput!) { createChannel(input: $i) { channel { id } } }";
const POST: &str = "mutation($i: PostMessageInput!) { postMessage(input: $i) { message { id } } }";
const REACT: &str = "mutation($m: ID!) { toggleReaction(input: { messageId: $m, emoji: \"👍\" }) { added } }";
const UPDATE_WS: &str = "mutation($i: UpdateWorkspaceInput!) { updateWorkspace(input: $i) { workspace { name description invitePolicy requireVerifiedEmail } } }";

fn code(res: &crate::helpers::Gql) -> String {
    res.error_code().unwrap_or_else(|| format!("no error: {}", res.body))
}

async fn invite(app: &TestApp, by: &TestUser, input: Value) -> crate::helpers::Gql {
    app.gql_as(Some(&by.token), INVITE, json!({ "i": input })).await
}

async fn verify(app: &TestApp, user: &TestUser) {
    let token = app.nth_mail_to(&user.email, 1).await.token("/verify-email");
    app.gql(VERIFY, json!({ "t": token })).await.ok();
}

fn fresh_email(name: &str) -> String {
    format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple())
}

async fn register_with(app: &TestApp, email: &str, token: &str) -> crate::helpers::Gql {
    let input = json!({ "email": email, "password": "a long secret", "displayName": "New", "invitationToken": token });
    app.gql(REGISTER, json!({ "i": input })).await
}

#[tokio::test]
async fn an_email_invitation_brings_in_a_new_user_and_proves_their_address() {
    let app = spawn_app().await;
    let owner = app.signed_up("owner").await;
    let ws = app.workspace(&owner, "Estate").await;
    let dept = app
        .gql_as(
            Some(&owner.token),
            "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }",
            json!({ "i": { "workspaceId": ws, "department": { "name": "Maintenance", "code": "MAINT" } } }),
        )
        .await
        .ok()
        .data()["createDepartment"]["department"]["id"]
        .clone();
    let email = fresh_email("newcomer");
    let created =
        invite(&app, &owner, json!({ "workspaceId": ws, "email": email, "role": "AGENT", "departmentId": dept }))
            .await
            .ok();
    let invitation = &created.data()["createInvitation"];
    assert_eq!(invitation["token"], Value::Null, "an email invitation's token goes only to the address");
    assert_eq!(invitation["invitation"]["maxUses"], 1);
    let mail = app.nth_mail_to(&email, 1).await;
    assert!(mail.source.contains("invited you to Estate"), "{}", mail.source);
    assert!(mail.source.contains("List-Unsubscribe: <http"), "invitations can be unsubscribed from");
    assert!(mail.source.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let token = mail.token("/invite");

    let wrong = register_with(&app, &fresh_email("someone.else"), &token).await;
    assert_eq!(code(&wrong), "INVALID_TOKEN", "only the address it was sent to");
    assert_eq!(
        code(
            &app.gql(crate::helpers::LOGIN, json!({ "input": { "email": email, "password": "a long secret" } })).await
        ),
        "UNAUTHENTICATED",
        "no account was left behind"
    );

    let joined = register_with(&app, &email, &token).await.ok();
    assert_eq!(joined.data()["register"]["viewer"]["emailVerified"], true, "the mailed link proves the address");
    let newcomer_token = joined.data()["register"]["accessToken"].as_str().unwrap().to_owned();
    let role = app.gql_as(Some(&newcomer_token), MY_ROLE, json!({ "w": ws })).await.ok();
    assert_eq!(role.data()["workspace"]["myRole"], "AGENT");
    let agents = app
        .gql_as(Some(&owner.token), "query($w: ID!) { workspace(id: $w) { departments { code members { edges { node { user { displayName } } } } } } }", json!({ "w": ws }))
        .await
        .ok();
    assert_eq!(
        agents.data()["workspace"]["departments"][0]["members"]["edges"][0]["node"]["user"]["displayName"],
        "New"
    );
    assert!(app.mails_to(&email).await.len() == 1, "no verification mail: the address is proven");

    let again = register_with(&app, &fresh_email("third"), &token).await;
    assert_eq!(code(&again), "INVALID_TOKEN", "used up");
}

#[tokio::test]
async fn an_email_invitation_for_an_existing_user_needs_their_verified_address() {
    let app = spawn_app().await;
    let (owner, bob, carol) = (app.signed_up("owner").await, app.signed_up("bob").await, app.signed_up("carol").await);
    let ws = app.workspace(&owner, "W").await;
    invite(&app, &owner, json!({ "workspaceId": ws, "email": bob.email, "role": "MEMBER" })).await.ok();
    let token = app.nth_mail_with_link(&bob.email, "/invite", 1).await.token("/invite");

    assert_eq!(
        code(&app.gql_as(Some(&carol.token), ACCEPT, json!({ "t": token })).await),
        "INVALID_TOKEN",
        "for bob only"
    );
    assert_eq!(code(&app.gql_as(Some(&bob.token), ACCEPT, json!({ "t": token })).await), "EMAIL_NOT_VERIFIED");
    verify(&app, &bob).await;
    let accepted = app.gql_as(Some(&bob.token), ACCEPT, json!({ "t": token })).await.ok();
    assert_eq!(accepted.data()["acceptInvitation"]["member"]["role"], "MEMBER");
    let member_again = invite(&app, &owner, json!({ "workspaceId": ws, "email": bob.email, "role": "MEMBER" })).await;
    assert_eq!(code(&member_again), "CONFLICT", "already a member");
}

#[tokio::test]
async fn a_link_works_for_several_people_once_each_until_used_up_revoked_or_expired() {
    use sea_orm::ConnectionTrait as _;
    let app = spawn_app().await;
    let owner = app.signed_up("owner").await;
    let ws = app.workspace(&owner, "W").await;
    let created = invite(&app, &owner, json!({ "workspaceId": ws, "role": "MEMBER", "maxUses": 2 })).await.ok();
    let token = created.data()["createInvitation"]["token"].as_str().expect("a link's token").to_owned();
    let id = created.data()["createInvitation"]["invitation"]["id"].clone();
    let (a, b, c) = (app.signed_up("a").await, app.signed_up("b").await, app.signed_up("c").await);
    app.gql_as(Some(&a.token), ACCEPT, json!({ "t": token })).await.ok();
    // a leaves and tries the link again: once per person.
    app.gql_as(
        Some(&a.token),
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { userId } }",
        json!({ "i": { "workspaceId": ws, "userId": a.id } }),
    )
    .await
    .ok();
    assert_eq!(code(&app.gql_as(Some(&a.token), ACCEPT, json!({ "t": token })).await), "INVALID_TOKEN");
    app.gql_as(Some(&b.token), ACCEPT, json!({ "t": token })).await.ok();
    assert_eq!(code(&app.gql_as(Some(&c.token), ACCEPT, json!({ "t": token })).await), "INVALID_TOKEN", "used up");

    let second = invite(&app, &owner, json!({ "workspaceId": ws, "role": "MEMBER" })).await.ok();
    let token2 = second.data()["createInvitation"]["token"].as_str().unwrap().to_owned();
    let id2 = second.data()["createInvitation"]["invitation"]["id"].clone();
    let revoked = app.gql_as(Some(&owner.token), REVOKE, json!({ "id": id2 })).await.ok();
    assert!(revoked.data()["revokeInvitation"]["invitation"]["revokedAt"].is_string());
    assert_eq!(code(&app.gql_as(Some(&c.token), ACCEPT, json!({ "t": token2 })).await), "INVALID_TOKEN", "revoked");
    assert_eq!(code(&app.gql_as(Some(&owner.token), REVOKE, json!({ "id": id2 })).await), "CONFLICT");

    let third = invite(&app, &owner, json!({ "workspaceId": ws, "role": "MEMBER" })).await.ok();
    let token3 = third.data()["createInvitation"]["token"].as_str().unwrap().to_owned();
    app.app.db_for_tests().execute_unprepared("UPDATE invitations SET expires_at = created_at").await.unwrap();
    assert_eq!(code(&app.gql_as(Some(&c.token), ACCEPT, json!({ "t": token3 })).await), "INVALID_TOKEN", "expired");
    for malformed in ["", "x", &"!".repeat(43)] {
        assert_eq!(code(&app.gql_as(Some(&c.token), ACCEPT, json!({ "t": malformed })).await), "INVALID_TOKEN");
    }
    let listed = app
        .gql_as(Some(&owner.token), "query($w: ID!) { invitations(workspaceId: $w) { id uses } }", json!({ "w": ws }))
        .await
        .ok();
    let first = listed.data()["invitations"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned().unwrap();
    assert_eq!(first["uses"], 2);
}

#[tokio::test]
async fn invitations_keep_to_the_inviters_authority_and_the_workspace_policy() {
    let app = spawn_app().await;
    let (owner, admin, member) =
        (app.signed_up("owner").await, app.signed_up("admin").await, app.signed_up("member").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &admin, "ADMIN").await;
    app.add(&owner, &ws, &member, "MEMBER").await;
    let over = invite(&app, &admin, json!({ "workspaceId": ws, "role": "ADMIN" })).await;
    assert_eq!(code(&over), "FORBIDDEN", "a role not below the inviter's");
    assert_eq!(
        code(&invite(&app, &member, json!({ "workspaceId": ws, "role": "MEMBER" })).await),
        "FORBIDDEN",
        "admins only by default"
    );
    for (input, field) in [
        (json!({ "workspaceId": ws, "role": "MEMBER", "expiresInHours": 0 }), "expiresInHours"),
        (json!({ "workspaceId": ws, "role": "MEMBER", "expiresInHours": 721 }), "expiresInHours"),
        (json!({ "workspaceId": ws, "role": "MEMBER", "maxUses": 0 }), "maxUses"),
        (json!({ "workspaceId": ws, "role": "MEMBER", "email": "nope" }), "email"),
    ] {
        let refused = invite(&app, &owner, input).await;
        assert_eq!(refused.body["errors"][0]["extensions"]["field"], field, "{}", refused.body);
    }
    app.gql_as(Some(&owner.token), UPDATE_WS, json!({ "i": { "workspaceId": ws, "invitePolicy": "MEMBERS", "description": "our estate", "reason": "open house" } })).await.ok();
    invite(&app, &member, json!({ "workspaceId": ws, "role": "MEMBER" })).await.ok();
    assert_eq!(
        code(&invite(&app, &member, json!({ "workspaceId": ws, "role": "AGENT" })).await),
        "FORBIDDEN",
        "not above their own role"
    );
    let audit = app.gql_as(Some(&owner.token), "query($w: ID!) { auditLog(workspaceId: $w, filter: { action: \"workspace.updated\" }) { edges { node { changes reason } } } }", json!({ "w": ws })).await.ok();
    let entry = &audit.data()["auditLog"]["edges"][0]["node"];
    assert_eq!(
        entry["changes"],
        json!({ "invitePolicy": { "from": "admins", "to": "members" }, "description": { "from": null, "to": "our estate" } })
    );
    assert_eq!(entry["reason"], "open house");
}

#[tokio::test]
async fn a_workspace_that_requires_a_verified_email_refuses_an_unverified_link_user() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    let set = app
        .gql_as(Some(&owner.token), UPDATE_WS, json!({ "i": { "workspaceId": ws, "requireVerifiedEmail": true } }))
        .await
        .ok();
    assert_eq!(set.data()["updateWorkspace"]["workspace"]["requireVerifiedEmail"], true);
    let link = invite(&app, &owner, json!({ "workspaceId": ws, "role": "MEMBER" })).await.ok();
    let token = link.data()["createInvitation"]["token"].as_str().unwrap().to_owned();
    assert_eq!(code(&app.gql_as(Some(&bob.token), ACCEPT, json!({ "t": token })).await), "EMAIL_NOT_VERIFIED");
    verify(&app, &bob).await;
    app.gql_as(Some(&bob.token), ACCEPT, json!({ "t": token })).await.ok();
}

#[tokio::test]
async fn a_banned_member_is_removed_at_once_and_no_invitation_brings_them_back() {
    let app = spawn_app().await;
    let (owner, moderator, bob) =
        (app.signed_up("owner").await, app.signed_up("mod").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &moderator, "MODERATOR").await;
    app.add(&owner, &ws, &bob, "MEMBER").await;
    let mut bobs = WsClient::init(&app, Some(&bob.token)).await;
    bobs.subscribe(
        "m",
        "subscription($w: ID!) { membershipChanged(workspaceId: $w) { change userId } }",
        json!({ "w": ws }),
    )
    .await;
    bobs.send(json!({ "type": "ping" })).await;
    assert_eq!(bobs.next_json().await["type"], "pong");

    let refused =
        app.gql_as(Some(&bob.token), BAN, json!({ "i": { "workspaceId": ws, "userId": moderator.id } })).await;
    assert_eq!(code(&refused), "FORBIDDEN");
    app.gql_as(Some(&moderator.token), BAN, json!({ "i": { "workspaceId": ws, "userId": bob.id, "reason": "spam" } }))
        .await
        .ok();
    let ended = loop {
        let msg = bobs.next_json().await;
        if msg["type"] == "complete" || msg["type"] == "error" {
            break msg;
        }
    };
    assert_eq!(ended["id"], "m", "bob's stream of W ended: {ended}");
    assert_eq!(code(&app.gql_as(Some(&bob.token), MY_ROLE, json!({ "w": ws })).await), "NOT_FOUND");

    verify(&app, &bob).await;
    let link = invite(&app, &owner, json!({ "workspaceId": ws, "role": "MEMBER" })).await.ok();
    let token = link.data()["createInvitation"]["token"].as_str().unwrap().to_owned();
    assert_eq!(code(&app.gql_as(Some(&bob.token), ACCEPT, json!({ "t": token })).await), "BANNED");
    assert_eq!(
        code(&invite(&app, &owner, json!({ "workspaceId": ws, "email": bob.email, "role": "MEMBER" })).await),
        "BANNED"
    );
    let bans = app
        .gql_as(
            Some(&moderator.token),
            "query($w: ID!) { bans(workspaceId: $w) { reason user { id } } }",
            json!({ "w": ws }),
        )
        .await
        .ok();
    assert_eq!(bans.data()["bans"], json!([{ "reason": "spam", "user": { "id": bob.id } }]));

    app.gql_as(Some(&moderator.token), UNBAN, json!({ "i": { "workspaceId": ws, "userId": bob.id } })).await.ok();
    app.gql_as(Some(&bob.token), ACCEPT, json!({ "t": token })).await.ok();
    assert_eq!(
        code(&app.gql_as(Some(&moderator.token), UNBAN, json!({ "i": { "workspaceId": ws, "userId": bob.id } })).await),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_timed_out_member_may_not_post_or_react_and_is_told_until_when() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "MEMBER").await;
    let channel = app
        .gql_as(
            Some(&owner.token),
            CHANNEL,
            json!({ "i": { "workspaceId": ws, "name": "general", "kind": "PUBLIC", "memberIds": [bob.id] } }),
        )
        .await
        .ok();
    let channel = channel.data()["createChannel"]["channel"]["id"].clone();
    let message =
        app.gql_as(Some(&owner.token), POST, json!({ "i": { "channelId": channel, "body": "hello" } })).await.ok();
    let message = message.data()["postMessage"]["message"]["id"].clone();
    let mut bobs = WsClient::init(&app, Some(&bob.token)).await;
    bobs.subscribe(
        "m",
        "subscription($w: ID!) { membershipChanged(workspaceId: $w) { change userId timedOutUntil } }",
        json!({ "w": ws }),
    )
    .await;
    bobs.send(json!({ "type": "ping" })).await;
    assert_eq!(bobs.next_json().await["type"], "pong");

    for until in [chrono::Utc::now() - chrono::Duration::minutes(1), chrono::Utc::now() + chrono::Duration::days(366)] {
        let bad = app
            .gql_as(
                Some(&owner.token),
                TIMEOUT,
                json!({ "i": { "workspaceId": ws, "userId": bob.id, "until": until.to_rfc3339() } }),
            )
            .await;
        assert_eq!(bad.body["errors"][0]["extensions"]["field"], "until", "{}", bad.body);
    }
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let timed = app
        .gql_as(
            Some(&owner.token),
            TIMEOUT,
            json!({ "i": { "workspaceId": ws, "userId": bob.id, "until": until, "reason": "cool down" } }),
        )
        .await
        .ok();
    assert!(timed.data()["timeoutMember"]["member"]["timedOutUntil"].is_string());
    let told = bobs.next_json().await;
    assert_eq!(told["payload"]["data"]["membershipChanged"]["change"], "TIMED_OUT", "{told}");
    assert_eq!(told["payload"]["data"]["membershipChanged"]["userId"], bob.id.as_str());

    for _ in 0..2 {
        // The first post may take the per-post path, the second the group commit (kind now known).
        let post =
            app.gql_as(Some(&bob.token), POST, json!({ "i": { "channelId": channel, "body": "let me speak" } })).await;
        assert_eq!(code(&post), "TIMED_OUT", "{}", post.body);
        assert_eq!(post.body["errors"][0]["extensions"]["until"], until.as_str());
    }
    assert_eq!(code(&app.gql_as(Some(&bob.token), REACT, json!({ "m": message })).await), "TIMED_OUT");
    let history = app
        .gql_as(
            Some(&bob.token),
            "query($c: ID!) { channel(id: $c) { messages(last: 5) { nodes { body } } } }",
            json!({ "c": channel }),
        )
        .await
        .ok();
    assert_eq!(
        history.data()["channel"]["messages"]["nodes"],
        json!([{ "body": "hello" }]),
        "reading still works; nothing was posted"
    );

    app.gql_as(Some(&owner.token), TIMEOUT, json!({ "i": { "workspaceId": ws, "userId": bob.id, "until": null } }))
        .await
        .ok();
    app.gql_as(Some(&bob.token), POST, json!({ "i": { "channelId": channel, "body": "thanks" } })).await.ok();
    app.gql_as(Some(&bob.token), REACT, json!({ "m": message })).await.ok();
    let audit = app.gql_as(Some(&owner.token), "query($w: ID!) { auditLog(workspaceId: $w, filter: { action: \"member.timed_out\" }) { edges { node { reason objectId } } } }", json!({ "w": ws })).await.ok();
    assert_eq!(audit.data()["auditLog"]["edges"][0]["node"], json!({ "reason": "cool down", "objectId": bob.id }));
}

/// The ids of the agents of W's first department, as `by` sees them.
async fn agents(app: &TestApp, by: &TestUser, ws: &str) -> Vec<String> {
    let query = "query($w: ID!) { workspace(id: $w) { departments { members { edges { node { user { id } } } } } } }";
    let res = app.gql_as(Some(&by.token), query, json!({ "w": ws })).await.ok();
    res.data()["workspace"]["departments"][0]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["user"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn department_agents_follow_the_rules_and_leave_with_the_workspace() {
    let app = spawn_app().await;
    let (owner, bob, carol, outsider) = (
        app.signed_up("owner").await,
        app.signed_up("bob").await,
        app.signed_up("carol").await,
        app.signed_up("x").await,
    );
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "AGENT").await;
    app.add(&owner, &ws, &carol, "AGENT").await;
    let created = app
        .gql_as(Some(&owner.token), "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }",
            json!({ "i": { "workspaceId": ws, "department": { "name": "Help", "code": "HELP", "headUserId": bob.id } } }))
        .await
        .ok();
    let dept = created.data()["createDepartment"]["department"]["id"].clone();
    let add = "mutation($i: DepartmentMemberInput!) { addDepartmentMember(input: $i) { userId } }";
    let remove = "mutation($i: DepartmentMemberInput!) { removeDepartmentMember(input: $i) { userId } }";
    assert_eq!(agents(&app, &owner, &ws).await, vec![bob.id.clone()], "the head is an agent from the start");
    assert_eq!(
        code(
            &app.gql_as(Some(&owner.token), add, json!({ "i": { "departmentId": dept, "userId": outsider.id } })).await
        ),
        "NOT_FOUND",
        "not a workspace member"
    );
    app.gql_as(Some(&owner.token), add, json!({ "i": { "departmentId": dept, "userId": carol.id } })).await.ok();
    assert_eq!(
        code(&app.gql_as(Some(&owner.token), add, json!({ "i": { "departmentId": dept, "userId": carol.id } })).await),
        "CONFLICT"
    );
    assert_eq!(
        code(&app.gql_as(Some(&owner.token), remove, json!({ "i": { "departmentId": dept, "userId": bob.id } })).await),
        "CONFLICT",
        "the head stays"
    );
    let update = "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { head { id } } } }";
    let not_agent = app
        .gql_as(
            Some(&owner.token),
            update,
            json!({ "i": { "id": dept, "department": { "name": "Help", "code": "HELP", "headUserId": owner.id } } }),
        )
        .await;
    assert_eq!(not_agent.body["errors"][0]["extensions"]["field"], "headUserId", "the head must be one of its agents");
    let mine = app
        .gql_as(
            Some(&carol.token),
            "query($w: ID!) { workspace(id: $w) { members { user { id } departments { code } } } }",
            json!({ "w": ws }),
        )
        .await
        .ok();
    let carol_row = mine.data()["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == carol.id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(carol_row["departments"], json!([{ "code": "HELP" }]));

    app.gql_as(
        Some(&owner.token),
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { userId } }",
        json!({ "i": { "workspaceId": ws, "userId": bob.id } }),
    )
    .await
    .ok();
    assert_eq!(agents(&app, &owner, &ws).await, vec![carol.id.clone()], "bob's departments ended with his membership");
    let head = app
        .gql_as(
            Some(&owner.token),
            "query($w: ID!) { workspace(id: $w) { departments { head { id } } } }",
            json!({ "w": ws }),
        )
        .await
        .ok();
    assert_eq!(head.data()["workspace"]["departments"][0]["head"], Value::Null, "and so did his headship");
}

#[tokio::test]
async fn the_unsubscribe_link_stops_invitation_mail_to_its_address() {
    let app = spawn_app().await;
    let owner = app.signed_up("owner").await;
    let ws = app.workspace(&owner, "W").await;
    let email = fresh_email("not.interested");
    invite(&app, &owner, json!({ "workspaceId": ws, "email": email, "role": "MEMBER" })).await.ok();
    let source = app.nth_mail_to(&email, 1).await.source;
    let unfolded = source.replace("\r\n ", " ").replace("\n ", " ");
    let header = unfolded.lines().find(|l| l.starts_with("List-Unsubscribe:")).expect("the header").to_owned();
    let url = header.split('<').nth(1).and_then(|s| s.split('>').next()).expect("a link").to_owned();
    let url = url.replace(
        &app.vars.get("STOA_PUBLIC_URL").cloned().unwrap_or_else(|| format!("http://{}", app.addr)),
        &format!("http://{}", app.addr),
    );

    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""), "opening the link alone changes nothing");
    invite(&app, &owner, json!({ "workspaceId": ws, "email": email, "role": "MEMBER" })).await.ok();
    let forged = app.http.post(url.replace("sig=", "sig=0")).send().await.unwrap();
    assert_eq!(forged.status(), 400);
    let done = app.http.post(&url).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let refused = invite(&app, &owner, json!({ "workspaceId": ws, "email": email, "role": "MEMBER" })).await;
    assert_eq!(code(&refused), "CONFLICT", "the address asked for no more invitations");
}

const DELETE_WS: &str =
    "mutation($w: ID!, $s: String!) { deleteWorkspace(workspaceId: $w, confirmSlug: $s) { id purgeAfter } }";
const RESTORE_WS: &str = "mutation($w: ID!) { restoreWorkspace(workspaceId: $w) { workspace { id myRole } } }";

/// How many channels workspace `ws` still has, and how many purge entries the audit log holds of it.
async fn purged(app: &TestApp, ws: &str) -> (i64, i64) {
    use sea_orm::ConnectionTrait as _;
    let db = app.app.db_for_tests();
    let id = uuid::Uuid::parse_str(ws).unwrap();
    // SQLite stores UUIDs as blobs (hex) or text depending on the column; Postgres as uuid.
    let matches = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        format!("workspace_id = '{id}'")
    } else {
        format!("(hex(workspace_id) = upper('{}') OR workspace_id = '{id}')", id.simple())
    };
    let mut counts = Vec::new();
    for sql in [
        format!("SELECT COUNT(*) AS n FROM channels WHERE {matches}"),
        format!("SELECT COUNT(*) AS n FROM audit_log WHERE {matches} AND action = 'workspace.purged'"),
    ] {
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
        counts.push(row.unwrap().try_get::<i64>("", "n").unwrap());
    }
    (counts[0], counts[1])
}

#[tokio::test]
async fn deleting_a_workspace_ends_access_at_once_and_the_purge_runs_after_the_grace() {
    let app = spawn_app().await;
    let (owner, admin, bob) = (app.signed_up("owner").await, app.signed_up("admin").await, app.signed_up("bob").await);
    let created = app
        .gql_as(Some(&owner.token), crate::helpers::CREATE_WORKSPACE, json!({ "input": { "name": "Doomed" } }))
        .await
        .ok();
    let ws = created.data()["createWorkspace"]["workspace"]["id"].as_str().unwrap().to_owned();
    let slug = created.data()["createWorkspace"]["workspace"]["slug"].as_str().unwrap().to_owned();
    app.add(&owner, &ws, &admin, "ADMIN").await;
    app.add(&owner, &ws, &bob, "MEMBER").await;
    let channel = app
        .gql_as(
            Some(&owner.token),
            CHANNEL,
            json!({ "i": { "workspaceId": ws, "name": "general", "kind": "PUBLIC", "memberIds": [bob.id] } }),
        )
        .await
        .ok();
    let channel = channel.data()["createChannel"]["channel"]["id"].clone();
    app.gql_as(Some(&bob.token), POST, json!({ "i": { "channelId": channel, "body": "hello" } })).await.ok();
    let mut bobs = WsClient::init(&app, Some(&bob.token)).await;
    bobs.subscribe("m", "subscription($w: ID!) { membershipChanged(workspaceId: $w) { change } }", json!({ "w": ws }))
        .await;
    bobs.send(json!({ "type": "ping" })).await;
    assert_eq!(bobs.next_json().await["type"], "pong");

    let wrong = app.gql_as(Some(&owner.token), DELETE_WS, json!({ "w": ws, "s": "not-the-slug" })).await;
    assert_eq!(wrong.body["errors"][0]["extensions"]["field"], "confirmSlug");
    assert_eq!(
        code(&app.gql_as(Some(&admin.token), DELETE_WS, json!({ "w": ws, "s": slug })).await),
        "FORBIDDEN",
        "owners only"
    );
    app.gql_as(Some(&bob.token), MY_ROLE, json!({ "w": ws })).await.ok();

    let deleted = app.gql_as(Some(&owner.token), DELETE_WS, json!({ "w": ws, "s": slug })).await.ok();
    assert!(deleted.data()["deleteWorkspace"]["purgeAfter"].is_string());
    let ended = loop {
        let msg = bobs.next_json().await;
        if msg["type"] == "complete" || msg["type"] == "error" {
            break msg;
        }
    };
    assert_eq!(ended["id"], "m", "bob's stream ended: {ended}");
    for user in [&owner, &bob] {
        assert_eq!(code(&app.gql_as(Some(&user.token), MY_ROLE, json!({ "w": ws })).await), "NOT_FOUND");
    }
    let post = app.gql_as(Some(&bob.token), POST, json!({ "i": { "channelId": channel, "body": "anyone?" } })).await;
    assert_eq!(code(&post), "NOT_FOUND");
    assert_eq!(
        code(&app.gql_as(Some(&bob.token), RESTORE_WS, json!({ "w": ws })).await),
        "NOT_FOUND",
        "former owners only"
    );

    let restored = app.gql_as(Some(&owner.token), RESTORE_WS, json!({ "w": ws })).await.ok();
    assert_eq!(restored.data()["restoreWorkspace"]["workspace"]["myRole"], "OWNER");
    let back = app.gql_as(Some(&bob.token), MY_ROLE, json!({ "w": ws })).await.ok();
    assert_eq!(back.data()["workspace"]["myRole"], "MEMBER", "everyone is back with their role");
    let history = app
        .gql_as(
            Some(&bob.token),
            "query($c: ID!) { channel(id: $c) { messages(last: 5) { nodes { body } } } }",
            json!({ "c": channel }),
        )
        .await
        .ok();
    assert_eq!(history.data()["channel"]["messages"]["nodes"], json!([{ "body": "hello" }]));

    app.gql_as(Some(&owner.token), DELETE_WS, json!({ "w": ws, "s": slug })).await.ok();
    let now = chrono::Utc::now();
    assert_eq!(stoa_domain::workspaces::purge_deleted_workspaces(&app.app, now).await.unwrap(), 0, "inside the grace");
    let after_grace = now + chrono::Duration::days(31);
    assert_eq!(stoa_domain::workspaces::purge_deleted_workspaces(&app.app, after_grace).await.unwrap(), 1);
    assert_eq!(code(&app.gql_as(Some(&owner.token), RESTORE_WS, json!({ "w": ws })).await), "NOT_FOUND", "purged");
    let (channels, purges) = purged(&app, &ws).await;
    assert_eq!(channels, 0, "its rows are gone");
    assert_eq!(purges, 1, "the audit trail keeps the purge");
}

#[tokio::test]
async fn a_channel_is_renamed_archived_unarchived_and_deleted_and_its_readers_hear_each_change() {
    let app = spawn_app().await;
    let (owner, bob) = (app.signed_up("owner").await, app.signed_up("bob").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "MEMBER").await;
    let channel = app
        .gql_as(
            Some(&owner.token),
            CHANNEL,
            json!({ "i": { "workspaceId": ws, "name": "general", "kind": "PRIVATE", "memberIds": [bob.id] } }),
        )
        .await
        .ok();
    let channel = channel.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    let mut bobs = WsClient::init(&app, Some(&bob.token)).await;
    bobs.subscribe(
        "c",
        "subscription($c: ID!) { channelChanged(channelId: $c) { change name topic purpose archived } }",
        json!({ "c": channel }),
    )
    .await;
    bobs.send(json!({ "type": "ping" })).await;
    assert_eq!(bobs.next_json().await["type"], "pong");
    let next = |msg: Value| msg["payload"]["data"]["channelChanged"].clone();

    let update = "mutation($i: UpdateChannelInput!) { updateChannel(input: $i) { channel { name topic purpose } } }";
    let refused = app.gql_as(Some(&bob.token), update, json!({ "i": { "channelId": channel, "name": "mine" } })).await;
    assert_eq!(code(&refused), "FORBIDDEN", "neither its creator nor an admin");
    let bad = app
        .gql_as(Some(&owner.token), update, json!({ "i": { "channelId": channel, "name": "no spaces allowed" } }))
        .await;
    assert_eq!(bad.body["errors"][0]["extensions"]["field"], "name");
    app.gql_as(Some(&owner.token), update, json!({ "i": { "channelId": channel, "name": "renamed", "topic": "Q4", "purpose": "planning", "reason": "clearer" } })).await.ok();
    assert_eq!(
        next(bobs.next_json().await),
        json!({ "change": "UPDATED", "name": "renamed", "topic": "Q4", "purpose": "planning", "archived": false })
    );

    app.gql_as(
        Some(&owner.token),
        "mutation($c: ID!) { archiveChannel(channelId: $c) { channel { archived } } }",
        json!({ "c": channel }),
    )
    .await
    .ok();
    assert_eq!(next(bobs.next_json().await)["change"], "ARCHIVED");
    assert_eq!(
        code(&app.gql_as(Some(&bob.token), POST, json!({ "i": { "channelId": channel, "body": "hi" } })).await),
        "FORBIDDEN"
    );
    app.gql_as(
        Some(&owner.token),
        "mutation($c: ID!) { unarchiveChannel(channelId: $c) { channel { archived } } }",
        json!({ "c": channel }),
    )
    .await
    .ok();
    assert_eq!(next(bobs.next_json().await)["change"], "UNARCHIVED");
    app.gql_as(Some(&bob.token), POST, json!({ "i": { "channelId": channel, "body": "hi" } })).await.ok();

    let delete = "mutation($c: ID!) { deleteChannel(channelId: $c) { id } }";
    assert_eq!(code(&app.gql_as(Some(&bob.token), delete, json!({ "c": channel })).await), "FORBIDDEN", "admins only");
    app.gql_as(Some(&owner.token), delete, json!({ "c": channel })).await.ok();
    assert_eq!(next(bobs.next_json().await)["change"], "DELETED");
    let last = bobs.next_json().await;
    assert_eq!((last["type"].as_str(), last["id"].as_str()), (Some("complete"), Some("c")), "{last}");
    let gone = app.gql_as(Some(&bob.token), "query($c: ID!) { channel(id: $c) { id } }", json!({ "c": channel })).await;
    assert_eq!(code(&gone), "NOT_FOUND");
    let listed = app
        .gql_as(Some(&owner.token), "query($w: ID!) { channels(workspaceId: $w) { nodes { id } } }", json!({ "w": ws }))
        .await
        .ok();
    assert_eq!(listed.data()["channels"]["nodes"], json!([]), "hidden from lists at once");
    // The purge job removes the rows; the audit trail records it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let purged = app.gql_as(Some(&owner.token), "query($w: ID!) { auditLog(workspaceId: $w, filter: { action: \"channel.purged\" }) { edges { node { objectId } } } }", json!({ "w": ws })).await.ok();
        if purged.data()["auditLog"]["edges"][0]["node"]["objectId"] == channel.as_str() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the channel was never purged");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let audit = app.gql_as(Some(&owner.token), "query($w: ID!) { auditLog(workspaceId: $w, filter: { action: \"channel.updated\" }) { edges { node { changes reason } } } }", json!({ "w": ws })).await.ok();
    let entry = &audit.data()["auditLog"]["edges"][0]["node"];
    assert_eq!(entry["changes"]["name"], json!({ "from": "general", "to": "renamed" }));
    assert_eq!(entry["reason"], "clearer");
}

#[tokio::test]
async fn the_owner_hands_the_workspace_to_a_member_and_becomes_an_admin() {
    let app = spawn_app().await;
    let (owner, bob, carol) = (app.signed_up("owner").await, app.signed_up("bob").await, app.signed_up("carol").await);
    let ws = app.workspace(&owner, "W").await;
    app.add(&owner, &ws, &bob, "ADMIN").await;
    let transfer = "mutation($w: ID!, $u: ID!) { transferOwnership(workspaceId: $w, userId: $u) { member { role } } }";
    assert_eq!(code(&app.gql_as(Some(&bob.token), transfer, json!({ "w": ws, "u": bob.id })).await), "FORBIDDEN");
    assert_eq!(
        code(&app.gql_as(Some(&owner.token), transfer, json!({ "w": ws, "u": carol.id })).await),
        "NOT_FOUND",
        "not a member"
    );
    assert_eq!(code(&app.gql_as(Some(&owner.token), transfer, json!({ "w": ws, "u": owner.id })).await), "CONFLICT");
    let done = app.gql_as(Some(&owner.token), transfer, json!({ "w": ws, "u": bob.id })).await.ok();
    assert_eq!(done.data()["transferOwnership"]["member"]["role"], "OWNER");
    let mine = app.gql_as(Some(&owner.token), MY_ROLE, json!({ "w": ws })).await.ok();
    assert_eq!(mine.data()["workspace"]["myRole"], "ADMIN");
    let audit = app.gql_as(Some(&bob.token), "query($w: ID!) { auditLog(workspaceId: $w, filter: { action: \"workspace.ownership_transferred\" }) { edges { node { changes } } } }", json!({ "w": ws })).await.ok();
    assert_eq!(
        audit.data()["auditLog"]["edges"][0]["node"]["changes"]["role"],
        json!({ "from": "admin", "to": "owner" })
    );
}
