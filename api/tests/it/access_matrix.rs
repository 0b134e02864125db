//! The access matrix (#15): every root field of the schema, run as four actors who must learn
//! nothing of workspace W's private data: an outsider (in no workspace), a member of W outside its
//! private channel, a member removed from W (and its private channel), and the owner of another
//! workspace. Invisible means `NOT_FOUND`, and a stream delivers nothing.
//!
//! The field list is the server's own SDL (`stoa_schema::sdl()`, what `stoa schema` writes to
//! `client-gen/schema.graphql`), so a new root field without a matrix entry, or a new object type
//! without an entry in [`TYPES`], fails `every_root_field_and_object_type_has_a_matrix_entry`.
//! Each case selects every nested field of what its root field returns, generated from the SDL, so
//! nested fields are walked too (each field once per path).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient, WsEvent, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// The SDL: object types, their fields, argument requiredness.
// ---------------------------------------------------------------------------------------------

struct Field {
    name: String,
    /// The named type, lists and non-null stripped.
    ty: String,
    args: Vec<(String, bool)>,
}

struct Sdl {
    objects: BTreeMap<String, Vec<Field>>,
}

const ROOTS: [&str; 3] = ["Query", "Mutation", "Subscription"];

fn tokens(src: &str) -> Vec<String> {
    let chars: Vec<char> = src.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' {
            // Descriptions and string values become one opaque token.
            if chars[i..].starts_with(&['"', '"', '"']) {
                i += 3;
                while i < chars.len() && !chars[i..].starts_with(&['"', '"', '"']) {
                    i += 1;
                }
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            out.push("<string>".to_owned());
        } else if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '.')) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// Skips a bracketed group starting at `t[*i]` (which must be `open`).
fn skip_group(t: &[String], i: &mut usize, open: &str, close: &str) {
    let mut depth = 0;
    loop {
        if t[*i] == open {
            depth += 1;
        } else if t[*i] == close {
            depth -= 1;
            if depth == 0 {
                *i += 1;
                return;
            }
        }
        *i += 1;
    }
}

/// `[T!]!` → (`T`, outer non-null).
fn parse_type(t: &[String], i: &mut usize) -> (String, bool) {
    let name = if t[*i] == "[" {
        *i += 1;
        let (inner, _) = parse_type(t, i);
        assert_eq!(t[*i], "]", "SDL: unclosed list type");
        *i += 1;
        inner
    } else {
        *i += 1;
        t[*i - 1].clone()
    };
    let required = t.get(*i).is_some_and(|s| s == "!");
    if required {
        *i += 1;
    }
    (name, required)
}

fn skip_directives(t: &[String], i: &mut usize) {
    while t[*i] == "@" {
        *i += 2;
        if t[*i] == "(" {
            skip_group(t, i, "(", ")");
        }
    }
}

fn parse_sdl(src: &str) -> Sdl {
    let t = tokens(src);
    let mut objects = BTreeMap::new();
    let mut i = 0;
    while i < t.len() {
        match t[i].as_str() {
            "type" => {
                let name = t[i + 1].clone();
                i += 2;
                while t[i] != "{" {
                    i += 1; // implements …, directives
                }
                i += 1;
                let mut fields = Vec::new();
                loop {
                    while t[i] == "<string>" {
                        i += 1;
                    }
                    if t[i] == "}" {
                        i += 1;
                        break;
                    }
                    let field = t[i].clone();
                    i += 1;
                    let mut args = Vec::new();
                    if t[i] == "(" {
                        i += 1;
                        loop {
                            while t[i] == "<string>" {
                                i += 1;
                            }
                            if t[i] == ")" {
                                i += 1;
                                break;
                            }
                            let arg = t[i].clone();
                            assert_eq!(t[i + 1], ":", "SDL: {name}.{field}({arg}");
                            i += 2;
                            let (_, required) = parse_type(&t, &mut i);
                            let mut defaulted = false;
                            if t[i] == "=" {
                                i += 1;
                                defaulted = true;
                                match t[i].as_str() {
                                    "[" => skip_group(&t, &mut i, "[", "]"),
                                    "{" => skip_group(&t, &mut i, "{", "}"),
                                    _ => i += 1,
                                }
                            }
                            skip_directives(&t, &mut i);
                            args.push((arg, required && !defaulted));
                        }
                    }
                    assert_eq!(t[i], ":", "SDL: {name}.{field}");
                    i += 1;
                    let (ty, _) = parse_type(&t, &mut i);
                    skip_directives(&t, &mut i);
                    fields.push(Field { name: field, ty, args });
                }
                objects.insert(name, fields);
            }
            "interface" | "union" => {
                panic!("the SDL has an {} ({}): teach the access matrix to walk it", t[i], t[i + 1])
            }
            "input" | "enum" | "schema" => {
                while t[i] != "{" {
                    i += 1;
                }
                skip_group(&t, &mut i, "{", "}");
            }
            "directive" => {
                i += 3; // directive @ name
                if t[i] == "(" {
                    skip_group(&t, &mut i, "(", ")");
                }
            }
            _ => i += 1,
        }
    }
    Sdl { objects }
}

impl Sdl {
    fn load() -> Self {
        parse_sdl(&stoa_schema::sdl())
    }

    /// `Query`, `Mutation` or `Subscription`, for a root field.
    fn root_of(&self, field: &str) -> Option<&'static str> {
        ROOTS.into_iter().find(|r| self.objects[*r].iter().any(|f| f.name == field))
    }

    fn root_field(&self, field: &str) -> &Field {
        let root = self.root_of(field).unwrap_or_else(|| panic!("{field} is no root field of the SDL"));
        self.objects[root].iter().find(|f| f.name == field).unwrap()
    }

    /// Every field of `ty`, recursively: each field at most once on a path (so a message's replies
    /// are walked, but not the replies' replies), lists with `first: 2`.
    fn selection(&self, ty: &str, path: &mut Vec<(String, String)>) -> String {
        let Some(fields) = self.objects.get(ty) else { return String::new() };
        let mut parts = Vec::new();
        for f in fields {
            for (arg, required) in &f.args {
                assert!(!required, "{ty}.{}({arg}:) is required: give the matrix's selection a value for it", f.name);
            }
            let args = if f.args.iter().any(|(a, _)| a == "first") { "(first: 2)" } else { "" };
            if !self.objects.contains_key(&f.ty) {
                parts.push(format!("{}{args}", f.name));
                continue;
            }
            let edge = (ty.to_owned(), f.name.clone());
            if path.contains(&edge) {
                continue;
            }
            path.push(edge);
            let sub = self.selection(&f.ty, path);
            path.pop();
            if !sub.is_empty() {
                parts.push(format!("{}{args} {sub}", f.name));
            }
        }
        if parts.is_empty() { String::new() } else { format!("{{ {} }}", parts.join(" ")) }
    }

    /// Object types reachable from each root field, by walking field types.
    fn reached_by(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut reached: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for root in ROOTS {
            for f in &self.objects[root] {
                let mut todo = vec![f.ty.clone()];
                let mut seen = BTreeSet::new();
                while let Some(ty) = todo.pop() {
                    let Some(fields) = self.objects.get(&ty) else { continue };
                    if !seen.insert(ty.clone()) {
                        continue;
                    }
                    reached.entry(ty).or_default().insert(f.name.clone());
                    todo.extend(fields.iter().map(|g| g.ty.clone()));
                }
            }
        }
        reached
    }
}

// ---------------------------------------------------------------------------------------------
// Object types: each holds workspace data (then it is walked by the cases of the root fields that
// reach it) or is exempt with a reason. A new type fails the test until it is listed here.
// ---------------------------------------------------------------------------------------------

enum Holds {
    /// Workspace data: walked by every case of every root field that reaches it.
    Workspace(&'static str),
    /// Nothing of any workspace.
    Nothing(&'static str),
}

const TYPES: &[(&str, Holds)] = &[
    ("Attachment", Holds::Workspace("a file of a workspace, its name and signed URLs")),
    ("AttachmentPayload", Holds::Workspace("an attachment")),
    ("AuditEntry", Holds::Workspace("an action in a workspace")),
    ("AuditEntryConnection", Holds::Workspace("audit entries")),
    ("AuditEntryEdge", Holds::Workspace("an audit entry")),
    ("AuthPayload", Holds::Nothing("tokens and the caller's own account (Viewer)")),
    ("Ban", Holds::Workspace("a banned user and the moderator's reason")),
    ("BanPayload", Holds::Workspace("a workspace's and a user's ids")),
    ("CreateInvitationPayload", Holds::Workspace("an invitation and its link token")),
    ("DepartmentMemberPayload", Holds::Workspace("a department's and a user's ids")),
    ("DonePayload", Holds::Nothing("a constant true")),
    ("Invitation", Holds::Workspace("an invitation to a workspace")),
    ("LinkedIdentity", Holds::Nothing("the caller's own linked sign-in")),
    ("InvitationPayload", Holds::Workspace("an invitation")),
    ("MemberConnection", Holds::Workspace("a department's agents")),
    ("MemberEdge", Holds::Workspace("a department's agent")),
    ("UndeliveredMail", Holds::Workspace("a workspace's undelivered invitation")),
    ("UndeliveredMailConnection", Holds::Workspace("undelivered mail")),
    ("UndeliveredMailEdge", Holds::Workspace("an undelivered mail")),
    ("VerifyEmailPayload", Holds::Nothing("the caller's own account")),
    ("WorkspaceIdPayload", Holds::Workspace("a workspace's id")),
    ("WorkspacePayload", Holds::Workspace("a workspace")),
    ("Channel", Holds::Workspace("a channel and its messages")),
    ("ChannelConnection", Holds::Workspace("channels")),
    ("ChannelEdge", Holds::Workspace("a channel")),
    ("ChannelChanged", Holds::Workspace("a channel after a change")),
    ("ChannelEvent", Holds::Workspace("a message after a change")),
    ("ChannelPayload", Holds::Workspace("a channel")),
    ("CreateUploadPayload", Holds::Workspace("an attachment and its upload URL")),
    ("CreateWorkspacePayload", Holds::Workspace("a workspace (the caller's new one)")),
    ("DeleteChannelPayload", Holds::Workspace("a channel's id")),
    ("DeleteDepartmentPayload", Holds::Workspace("a department's id")),
    ("DeleteWorkspacePayload", Holds::Workspace("a workspace's id and purge date")),
    ("Department", Holds::Workspace("a department")),
    ("DepartmentPayload", Holds::Workspace("a department")),
    ("LogoutPayload", Holds::Nothing("a constant true")),
    ("MarkNotificationsReadPayload", Holds::Workspace("how many of the caller's notifications changed")),
    ("Member", Holds::Workspace("a membership")),
    ("MemberPayload", Holds::Workspace("a membership")),
    ("MembershipChanged", Holds::Workspace("a membership change")),
    ("Message", Holds::Workspace("a message, its thread, files and reactions")),
    ("MessageConnection", Holds::Workspace("messages")),
    ("MessageEdge", Holds::Workspace("a message")),
    ("MessagePayload", Holds::Workspace("a message")),
    ("Notification", Holds::Workspace("a message preview")),
    ("NotificationConnection", Holds::Workspace("notifications")),
    ("NotificationEdge", Holds::Workspace("a notification")),
    ("OkPayload", Holds::Nothing("a constant true")),
    ("PageInfo", Holds::Nothing("opaque cursors and booleans")),
    ("Presence", Holds::Workspace("a member's status")),
    ("Reaction", Holds::Workspace("who reacted to a message")),
    ("RemoveMemberPayload", Holds::Workspace("a membership's ids")),
    ("ToggleReactionPayload", Holds::Workspace("a message")),
    ("TypingEvent", Holds::Workspace("who types in a channel")),
    ("UpdateProfilePayload", Holds::Nothing("the caller's own account")),
    ("UploadLimitPayload", Holds::Workspace("a workspace setting")),
    ("User", Holds::Workspace("a person seen through a workspace")),
    ("Viewer", Holds::Nothing("the caller's own account")),
    ("Workspace", Holds::Workspace("a workspace, its members and departments")),
    ("BusinessHours", Holds::Workspace("a business calendar's opening hours")),
    ("SlaCalendar", Holds::Workspace("a workspace's business calendar")),
    ("SlaPolicy", Holds::Workspace("a workspace's SLA targets")),
    ("Ticket", Holds::Workspace("a helpdesk ticket, its people, history and links")),
    ("TicketConnection", Holds::Workspace("tickets")),
    ("TicketEdge", Holds::Workspace("a ticket")),
    ("TicketCount", Holds::Workspace("how many tickets a department holds")),
    ("TicketEvent", Holds::Workspace("a change of a ticket")),
    ("TicketHistoryEntry", Holds::Workspace("an action on a ticket")),
    ("TicketLink", Holds::Workspace("a link between tickets")),
    ("TicketQueueEvent", Holds::Workspace("a move in a department's queue")),
    ("TicketSettings", Holds::Workspace("a workspace's ticket settings")),
    ("ApprovalPolicy", Holds::Workspace("who decides a workspace's approvals")),
    ("TicketApproval", Holds::Workspace("an approval round of a ticket")),
    ("ApprovalDecision", Holds::Workspace("a decider's decision on a ticket")),
];

// ---------------------------------------------------------------------------------------------
// The fixture: workspace W (alice) with a public and a private channel, a DM, a file, a department.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Signed up, in no workspace.
    Outsider,
    /// A member of W, in its public channel, not in the private one nor the DM.
    Member,
    /// Was in W and its private channel (posted, was mentioned), then removed.
    Removed,
    /// Owner of another workspace.
    Other,
}

/// Where a secret may not show.
#[derive(PartialEq)]
enum Scope {
    /// W itself: hidden from everyone but the member.
    Workspace,
    /// The private channel, the DM, the file: hidden from all four.
    Private,
}

struct Secret {
    what: &'static str,
    value: String,
    scope: Scope,
    /// Ids are checked in `data` only: requests carry them and errors may name what was asked for.
    data_only: bool,
}

struct Fixture {
    app: TestApp,
    who: Who,
    alice: TestUser,
    bob: TestUser,
    carol: TestUser,
    outsider: TestUser,
    member: TestUser,
    removed: TestUser,
    other: TestUser,
    /// A second session of the actor, for `logout`.
    spare_refresh: String,
    nonce: String,
    ws: String,
    lobby: String,
    private: String,
    dm: String,
    message: String,
    reply: String,
    dm_message: String,
    file: String,
    department: String,
    /// Alice's tickets in the department: the member is neither their requester nor an agent.
    ticket: String,
    ticket2: String,
    /// Alice's invitation of carol to W (its id; the token went to carol).
    invitation: String,
    carol_invitation_token: String,
    /// The actor's own email-change and password-reset tokens (from its mail).
    change_token: String,
    reset_token: String,
    alice_notification: String,
    /// The removed member's notification about the private channel, which it may no longer see.
    stale_notification: String,
    secrets: Vec<Secret>,
}

impl Fixture {
    fn actor(&self) -> &TestUser {
        match self.who {
            Who::Outsider => &self.outsider,
            Who::Member => &self.member,
            Who::Removed => &self.removed,
            Who::Other => &self.other,
        }
    }

    /// The actor's own notification about W if it has one (the removed member), else alice's.
    fn own_hidden_notification(&self) -> &str {
        if self.who == Who::Removed { &self.stale_notification } else { &self.alice_notification }
    }

    /// What the actor's responses may not contain.
    fn leaks(&self, text: &str, data: &str) -> Vec<&'static str> {
        self.secrets
            .iter()
            .filter(|s| s.scope == Scope::Private || self.who != Who::Member)
            .filter(|s| if s.data_only { data.contains(&s.value) } else { text.contains(&s.value) })
            .map(|s| s.what)
            .collect()
    }
}

const UPLOAD: &str =
    "mutation($ws: ID!, $file: Upload!) { uploadFile(workspaceId: $ws, file: $file) { attachment { id } } }";

/// A GraphQL multipart request with `variables.file` as the file.
async fn multipart(app: &TestApp, token: &str, query: &str, mut variables: Value, name: &str, bytes: &[u8]) -> Value {
    variables["file"] = Value::Null;
    let operations = json!({ "query": query, "variables": variables });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str("text/plain").unwrap(),
        );
    let req = app.http.post(app.url()).bearer_auth(token).header("apollo-require-preflight", "true").multipart(form);
    req.send().await.unwrap().json().await.unwrap()
}

async fn ok(app: &TestApp, by: &TestUser, query: &str, variables: Value) -> Value {
    app.gql_as(Some(&by.token), query, variables).await.ok().body["data"].clone()
}

async fn post(app: &TestApp, by: &TestUser, input: Value) -> String {
    let posted = ok(
        app,
        by,
        "mutation($i: PostMessageInput!) { postMessage(input: $i) { message { id } } }",
        json!({ "i": input }),
    )
    .await;
    posted["postMessage"]["message"]["id"].as_str().unwrap().to_owned()
}

async fn first_notification(app: &TestApp, of: &TestUser) -> String {
    let listed = ok(app, of, "{ notifications(first: 5) { nodes { id } } }", json!({})).await;
    listed["notifications"]["nodes"][0]["id"].as_str().expect("a notification").to_owned()
}

#[expect(clippy::too_many_lines, reason = "the fixture reads best top to bottom")]
async fn fixture(who: Who) -> Fixture {
    // Budgets and the complexity limit are not under test here: the matrix sends ~150 operations,
    // each selecting every nested field.
    let app = spawn_app_with(&[
        ("STOA_MAX_COMPLEXITY", "10000000"),
        ("STOA_RATE_LIMIT_IP_PER_MIN", "100000"),
        ("STOA_RATE_LIMITS", "owner=100000,admin=100000,moderator=100000,agent=100000,member=100000"),
    ])
    .await;
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    let n = uuid[22..].to_owned(); // the random tail
    let alice = app.signed_up(&format!("alice-{n}")).await;
    let bob = app.signed_up(&format!("bob-{n}")).await;
    let carol = app.signed_up("carol").await;
    let outsider = app.signed_up("outsider").await;
    let member = app.signed_up("member").await;
    let removed = app.signed_up("removed").await;
    let other = app.signed_up("other").await;

    let ws = app.workspace(&alice, &format!("wname-{n}")).await;
    for user in [&bob, &member, &removed] {
        app.add(&alice, &ws, user, "MEMBER").await;
    }
    let create = "mutation($i: CreateChannelInput!) { createChannel(input: $i) { channel { id } } }";
    let lobby = ok(
        &app,
        &alice,
        create,
        json!({ "i": { "workspaceId": ws, "name": format!("lobby-{n}"), "kind": "PUBLIC", "memberIds": [bob.id, member.id] } }),
    )
    .await["createChannel"]["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(&app, &alice, json!({ "channelId": lobby, "body": format!("welcome-{n}") })).await;
    let private = ok(
        &app,
        &alice,
        create,
        json!({ "i": { "workspaceId": ws, "name": format!("vault-{n}"), "kind": "PRIVATE", "topic": format!("topic-{n}"), "memberIds": [removed.id] } }),
    )
    .await["createChannel"]["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let uploaded =
        multipart(&app, &alice.token, UPLOAD, json!({ "ws": ws }), &format!("ledger-{n}.txt"), b"the ledger").await;
    let file =
        uploaded["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap_or_else(|| panic!("{uploaded}")).to_owned();
    let body = format!("the plan zq{n} for <@{}>", removed.id);
    let message = post(&app, &alice, json!({ "channelId": private, "body": body, "attachmentIds": [file] })).await;
    ok(
        &app,
        &alice,
        "mutation($m: ID!) { toggleReaction(input: { messageId: $m, emoji: \"👀\" }) { added } }",
        json!({ "m": message }),
    )
    .await;
    ok(&app, &alice, "mutation($m: ID!) { pinMessage(messageId: $m) { message { id } } }", json!({ "m": message }))
        .await;
    let stale_notification = first_notification(&app, &removed).await;
    let body = format!("<@{}> agreed zq{n}", alice.id);
    let reply = post(&app, &removed, json!({ "channelId": private, "body": body, "threadRootId": message })).await;
    let alice_notification = first_notification(&app, &alice).await;

    let open = "mutation($ws: ID!, $u: [ID!]!) { openDirectChannel(input: { workspaceId: $ws, userIds: $u }) { channel { id } } }";
    let dm = ok(&app, &alice, open, json!({ "ws": ws, "u": [bob.id] })).await["openDirectChannel"]["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dm_message = post(&app, &alice, json!({ "channelId": dm, "body": format!("between us zq{n}") })).await;
    post(&app, &bob, json!({ "channelId": dm, "body": format!("sure zq{n}") })).await;

    let code = format!("D{}", n.to_uppercase());
    let department = ok(
        &app,
        &alice,
        "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }",
        json!({ "i": { "workspaceId": ws, "department": { "name": format!("dept-{n}"), "code": code, "headUserId": alice.id } } }),
    )
    .await["createDepartment"]["department"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &app,
        &alice,
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { userId } }",
        json!({ "i": { "workspaceId": ws, "userId": removed.id } }),
    )
    .await;
    app.workspace(&other, "elsewhere").await;
    let open_ticket = "mutation($w: ID!, $d: ID!, $i: TicketInput!) { createTicket(workspaceId: $w, departmentId: $d, input: $i) { id } }";
    let mut opened = Vec::new();
    for k in 0..2 {
        let input = json!({ "title": format!("ticket zq{n} {k}"), "description": format!("the leak zq{n}"), "labels": ["lbl"] });
        let created = ok(&app, &alice, open_ticket, json!({ "w": ws, "d": department, "i": input })).await;
        opened.push(created["createTicket"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned());
    }
    let (ticket, ticket2) = (opened[0].clone(), opened[1].clone());

    let actor = match who {
        Who::Outsider => &outsider,
        Who::Member => &member,
        Who::Removed => &removed,
        Who::Other => &other,
    };
    let login = "mutation($i: LoginInput!) { login(input: $i) { refreshToken } }";
    let spare = ok(&app, actor, login, json!({ "i": { "email": actor.email, "password": actor.password } })).await;
    let spare_refresh = spare["login"]["refreshToken"].as_str().unwrap().to_owned();

    let invite = "mutation($i: CreateInvitationInput!) { createInvitation(input: $i) { invitation { id } } }";
    let invited =
        ok(&app, &alice, invite, json!({ "i": { "workspaceId": ws, "email": carol.email, "role": "MEMBER" } })).await;
    let invitation = invited["createInvitation"]["invitation"]["id"].as_str().unwrap().to_owned();
    // carol's first mail is her verification, the second the invitation.
    let carol_invitation_token = app.nth_mail_with_link(&carol.email, "/invite", 1).await.token("/invite");
    let new_email = format!("moved.{}@example.com", uuid::Uuid::now_v7().simple());
    let change = "mutation($i: ChangeEmailInput!) { changeEmail(input: $i) { ok } }";
    ok(&app, actor, change, json!({ "i": { "newEmail": new_email, "password": actor.password } })).await;
    let change_token = app.nth_mail_to(&new_email, 1).await.token("/verify-email");
    ok(&app, actor, "mutation($e: String!) { requestPasswordReset(email: $e) { ok } }", json!({ "e": actor.email }))
        .await;
    let reset_token = app.nth_mail_with_link(&actor.email, "/reset-password", 1).await.token("/reset-password");

    let text = |what, value: String, scope| Secret { what, value, scope, data_only: false };
    let id = |what, value: &String, scope| Secret { what, value: value.clone(), scope, data_only: true };
    let secrets = vec![
        text("W's name or slug", format!("wname-{n}"), Scope::Workspace),
        text("the public channel's name", format!("lobby-{n}"), Scope::Workspace),
        text("a public message", format!("welcome-{n}"), Scope::Workspace),
        text("the department's name", format!("dept-{n}"), Scope::Workspace),
        text("the department's code", code, Scope::Workspace),
        text("alice's name", format!("alice-{n}"), Scope::Workspace),
        text("bob's name", format!("bob-{n}"), Scope::Workspace),
        id("W's id", &ws, Scope::Workspace),
        id("the public channel's id", &lobby, Scope::Workspace),
        id("the department's id", &department, Scope::Workspace),
        id("alice's id", &alice.id, Scope::Workspace),
        id("bob's id", &bob.id, Scope::Workspace),
        text("the private channel's name", format!("vault-{n}"), Scope::Private),
        text("the private channel's topic", format!("topic-{n}"), Scope::Private),
        text("a private or direct message body", format!("zq{n}"), Scope::Private),
        text("the file's name", format!("ledger-{n}"), Scope::Private),
        id("the private channel's id", &private, Scope::Private),
        id("the DM's id", &dm, Scope::Private),
        id("the private message's id", &message, Scope::Private),
        id("the thread reply's id", &reply, Scope::Private),
        id("the DM message's id", &dm_message, Scope::Private),
        id("the file's id", &file, Scope::Private),
        id("a ticket's id", &ticket, Scope::Private),
        id("a ticket's id", &ticket2, Scope::Private),
        id("alice's notification's id", &alice_notification, Scope::Private),
        id("the removed member's hidden notification's id", &stale_notification, Scope::Private),
    ];
    Fixture {
        app,
        who,
        alice,
        bob,
        carol,
        outsider,
        member,
        removed,
        other,
        spare_refresh,
        nonce: n,
        ws,
        lobby,
        private,
        dm,
        message,
        reply,
        dm_message,
        file,
        department,
        ticket,
        ticket2,
        invitation,
        carol_invitation_token,
        change_token,
        reset_token,
        alice_notification,
        stale_notification,
        secrets,
    }
}

// ---------------------------------------------------------------------------------------------
// The matrix: every root field → its cases.
// ---------------------------------------------------------------------------------------------

/// What the member of W may legitimately get (it sees W itself, not its private channel or DM).
enum Seen {
    /// `FORBIDDEN`: the member sees the object but its role does not allow the operation.
    Forbidden(&'static str),
    /// It may do this in W; the response must still hold nothing of the private channel or DM.
    Allowed(&'static str),
}

type Check = fn(&Value) -> Result<(), String>;

enum Expect {
    /// All four get `NOT_FOUND` (a stream: an error `NOT_FOUND`, or nothing delivered).
    Hidden,
    /// The outsider, the removed member and the other owner get `NOT_FOUND`; the member `Seen`.
    InW(Seen),
    /// A reference to a hidden object inside an input the actor may send: the answer must be the
    /// same as for a random id (the object is indistinguishable from a missing one).
    LikeMissing(fn(&Fixture) -> Value),
    /// Exempt from `NOT_FOUND`: it acts on the caller's own data. It must succeed, hold nothing of
    /// W (of its private parts, for the member) and pass the check on the root field's value.
    Own(&'static str, Check),
}

struct Case {
    field: &'static str,
    target: &'static str,
    /// Variable declarations, e.g. `($c: ID!)`.
    params: &'static str,
    /// The root field's arguments, e.g. `(channelId: $c)`.
    args: &'static str,
    vars: fn(&Fixture) -> Value,
    expect: Expect,
}

fn case(
    field: &'static str,
    target: &'static str,
    params: &'static str,
    args: &'static str,
    vars: fn(&Fixture) -> Value,
    expect: Expect,
) -> Case {
    Case { field, target, params, args, vars, expect }
}

#[expect(clippy::unnecessary_wraps, reason = "a `Check` that accepts anything")]
fn any(_: &Value) -> Result<(), String> {
    Ok(())
}

fn no_notifications(v: &Value) -> Result<(), String> {
    if v["nodes"] == json!([]) && v["edges"] == json!([]) { Ok(()) } else { Err(format!("lists {v}")) }
}

fn zero(v: &Value) -> Result<(), String> {
    if *v == json!(0) { Ok(()) } else { Err(format!("counts {v}")) }
}

fn zero_changed(v: &Value) -> Result<(), String> {
    if v["count"] == 0 { Ok(()) } else { Err(format!("marked {} notifications read", v["count"])) }
}

fn none(_: &Fixture) -> Value {
    json!({})
}

fn random_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[expect(clippy::too_many_lines, reason = "the matrix is one table")]
fn matrix() -> Vec<Case> {
    use Expect::{Hidden, InW, LikeMissing, Own};
    use Seen::{Allowed, Forbidden};
    const ADMIN: &str = "owners and admins only; the member sees W itself";
    vec![
        // ---- Query
        case("me", "self", "", "", none, Own("the caller's own account", any)),
        case("workspaces", "self", "", "", none, Own("only the caller's workspaces: W absent but for the member", any)),
        case(
            "workspace",
            "W",
            "($w: ID!)",
            "(id: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member reads W, its members and departments")),
        ),
        case(
            "auditLog",
            "W",
            "($w: ID!)",
            "(workspaceId: $w, first: 50)",
            |f| json!({ "w": f.ws }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "channels",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("lists the public channel, never the private one or the DM")),
        ),
        case("channel", "private channel", "($c: ID!)", "(id: $c)", |f| json!({ "c": f.private }), Hidden),
        case("channel", "DM", "($c: ID!)", "(id: $c)", |f| json!({ "c": f.dm }), Hidden),
        case("message", "private message", "($m: ID!)", "(id: $m)", |f| json!({ "m": f.message }), Hidden),
        case("message", "thread reply", "($m: ID!)", "(id: $m)", |f| json!({ "m": f.reply }), Hidden),
        case("message", "DM message", "($m: ID!)", "(id: $m)", |f| json!({ "m": f.dm_message }), Hidden),
        case(
            "searchMessages",
            "W, a word of every private and DM message",
            "($w: ID!, $q: String!)",
            "(workspaceId: $w, query: $q, first: 20)",
            |f| json!({ "w": f.ws, "q": format!("zq{}", f.nonce) }),
            InW(Allowed("searches what the member reads: no hit from the private channel or the DM")),
        ),
        case(
            "notifications",
            "self",
            "",
            "(first: 50)",
            none,
            Own("the caller's own: none about W's private channel", no_notifications),
        ),
        case("unreadNotificationCount", "self", "", "", none, Own("the caller's own count: nothing it may see", zero)),
        case(
            "presence",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member sees its workspace's presence")),
        ),
        case("attachment", "file in the private channel", "($a: ID!)", "(id: $a)", |f| json!({ "a": f.file }), Hidden),
        case("failedScans", "W", "($w: ID!)", "(workspaceId: $w)", |f| json!({ "w": f.ws }), InW(Forbidden(ADMIN))),
        // ---- Mutation
        case(
            "register",
            "a new account",
            "($i: RegisterInput!)",
            "(input: $i)",
            |_| json!({ "i": { "email": format!("new.{}@example.com", random_id()), "password": "pw-new-12345", "displayName": "newcomer" } }),
            Own("creates the caller's own account", any),
        ),
        case(
            "login",
            "self",
            "($i: LoginInput!)",
            "(input: $i)",
            |f| json!({ "i": { "email": f.actor().email, "password": f.actor().password } }),
            Own("signs the caller in", any),
        ),
        case(
            "refreshSession",
            "self",
            "($i: RefreshTokenInput!)",
            "(input: $i)",
            |f| json!({ "i": { "refreshToken": f.actor().refresh } }),
            Own("rotates the caller's own tokens", any),
        ),
        case(
            "logout",
            "a spare session of the caller",
            "($i: RefreshTokenInput!)",
            "(input: $i)",
            |f| json!({ "i": { "refreshToken": f.spare_refresh } }),
            Own("revokes the caller's own session", any),
        ),
        case(
            "updateProfile",
            "self",
            "($i: UpdateProfileInput!)",
            "(input: $i)",
            |_| json!({ "i": { "statusText": "probing" } }),
            Own("changes the caller's own profile", any),
        ),
        case(
            "createWorkspace",
            "a new workspace",
            "($i: CreateWorkspaceInput!)",
            "(input: $i)",
            |_| json!({ "i": { "name": "my own" } }),
            Own("creates a workspace the caller owns", any),
        ),
        case(
            "addMember",
            "W, a bystander",
            "($i: AddMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "email": f.carol.email, "role": "MEMBER" } }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "addMember",
            "W, the actor itself as owner",
            "($i: AddMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "email": f.actor().email, "role": "OWNER" } }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "removeMember",
            "W, bob",
            "($i: RemoveMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "userId": f.bob.id } }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "changeRole",
            "W, the actor itself to owner",
            "($i: ChangeRoleInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "userId": f.actor().id, "role": "OWNER" } }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "createDepartment",
            "W",
            "($i: CreateDepartmentInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "department": { "name": "x", "code": "XX" } } }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "updateDepartment",
            "alice's department",
            "($i: UpdateDepartmentInput!)",
            "(input: $i)",
            |f| json!({ "i": { "id": f.department, "department": { "name": "x", "code": "XY" } } }),
            InW(Forbidden("owners and admins only; the member sees W's departments")),
        ),
        case(
            "deleteDepartment",
            "alice's department",
            "($d: ID!)",
            "(id: $d)",
            |f| json!({ "d": f.department }),
            InW(Forbidden("owners and admins only; the member sees W's departments")),
        ),
        case(
            "createChannel",
            "W",
            "($i: CreateChannelInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "name": "mine", "kind": "PRIVATE" } }),
            InW(Allowed("members create channels")),
        ),
        case(
            "openDirectChannel",
            "W, with alice",
            "($i: OpenDirectChannelInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "userIds": [f.alice.id] } }),
            InW(Allowed("opens the member's own DM with alice, not alice's with bob")),
        ),
        case("joinChannel", "private channel", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.private }), Hidden),
        case("joinChannel", "DM", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.dm }), Hidden),
        case(
            "addChannelMember",
            "private channel, the actor itself",
            "($i: ChannelMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.private, "userId": f.actor().id } }),
            Hidden,
        ),
        case(
            "addChannelMember",
            "DM, the actor itself",
            "($i: ChannelMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.dm, "userId": f.actor().id } }),
            Hidden,
        ),
        case(
            "removeChannelMember",
            "private channel, alice",
            "($i: ChannelMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.private, "userId": f.alice.id } }),
            Hidden,
        ),
        case(
            "removeChannelMember",
            "private channel, the actor itself",
            "($i: ChannelMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.private, "userId": f.actor().id } }),
            Hidden,
        ),
        case(
            "removeChannelMember",
            "DM, bob",
            "($i: ChannelMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.dm, "userId": f.bob.id } }),
            Hidden,
        ),
        case(
            "archiveChannel",
            "private channel",
            "($c: ID!)",
            "(channelId: $c)",
            |f| json!({ "c": f.private }),
            Hidden,
        ),
        case("archiveChannel", "DM", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.dm }), Hidden),
        case(
            "unarchiveChannel",
            "private channel",
            "($c: ID!)",
            "(channelId: $c)",
            |f| json!({ "c": f.private }),
            Hidden,
        ),
        case("unarchiveChannel", "DM", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.dm }), Hidden),
        case(
            "updateChannel",
            "private channel",
            "($i: UpdateChannelInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.private, "name": "x" } }),
            Hidden,
        ),
        case(
            "updateChannel",
            "DM",
            "($i: UpdateChannelInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.dm, "topic": "x" } }),
            Hidden,
        ),
        case("deleteChannel", "private channel", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.private }), Hidden),
        case("deleteChannel", "DM", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.dm }), Hidden),
        case(
            "postMessage",
            "private channel",
            "($i: PostMessageInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.private, "body": "x" } }),
            Hidden,
        ),
        case(
            "postMessage",
            "DM",
            "($i: PostMessageInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.dm, "body": "x" } }),
            Hidden,
        ),
        case(
            "postMessage",
            "public channel, a reply in the private message's thread",
            "($i: PostMessageInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.lobby, "body": "x", "threadRootId": f.message } }),
            LikeMissing(|f| json!({ "i": { "channelId": f.lobby, "body": "x", "threadRootId": random_id() } })),
        ),
        case(
            "postMessage",
            "public channel, attaching alice's file",
            "($i: PostMessageInput!)",
            "(input: $i)",
            |f| json!({ "i": { "channelId": f.lobby, "body": "x", "attachmentIds": [f.file] } }),
            LikeMissing(|f| json!({ "i": { "channelId": f.lobby, "body": "x", "attachmentIds": [random_id()] } })),
        ),
        case(
            "editMessage",
            "private message",
            "($i: EditMessageInput!)",
            "(input: $i)",
            |f| json!({ "i": { "messageId": f.message, "body": "x" } }),
            Hidden,
        ),
        case(
            "editMessage",
            "thread reply (the removed member's own)",
            "($i: EditMessageInput!)",
            "(input: $i)",
            |f| json!({ "i": { "messageId": f.reply, "body": "x" } }),
            Hidden,
        ),
        case("deleteMessage", "private message", "($m: ID!)", "(messageId: $m)", |f| json!({ "m": f.message }), Hidden),
        case(
            "deleteMessage",
            "thread reply (the removed member's own)",
            "($m: ID!)",
            "(messageId: $m)",
            |f| json!({ "m": f.reply }),
            Hidden,
        ),
        case("deleteMessage", "DM message", "($m: ID!)", "(messageId: $m)", |f| json!({ "m": f.dm_message }), Hidden),
        case(
            "toggleReaction",
            "private message",
            "($i: ToggleReactionInput!)",
            "(input: $i)",
            |f| json!({ "i": { "messageId": f.message, "emoji": "🎉" } }),
            Hidden,
        ),
        case(
            "pinMessage",
            "private message (unpin)",
            "($m: ID!)",
            "(messageId: $m, pinned: false)",
            |f| json!({ "m": f.message }),
            Hidden,
        ),
        case("pinMessage", "DM message", "($m: ID!)", "(messageId: $m)", |f| json!({ "m": f.dm_message }), Hidden),
        case(
            "markChannelRead",
            "private channel",
            "($c: ID!)",
            "(channelId: $c, seq: 1)",
            |f| json!({ "c": f.private }),
            Hidden,
        ),
        case("markChannelRead", "DM", "($c: ID!)", "(channelId: $c, seq: 1)", |f| json!({ "c": f.dm }), Hidden),
        case("setTyping", "private channel", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.private }), Hidden),
        case("setTyping", "DM", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.dm }), Hidden),
        case("setAway", "self", "", "(away: true)", none, Own("the caller's own presence", any)),
        case(
            "markAllNotificationsRead",
            "self",
            "",
            "",
            none,
            Own("the caller's own notifications: none it may see", zero_changed),
        ),
        case(
            "markNotificationRead",
            "alice's notification",
            "($n: ID!)",
            "(id: $n)",
            |f| json!({ "n": f.alice_notification }),
            Hidden,
        ),
        case(
            "markNotificationRead",
            "the actor's own notification it may no longer see (else alice's)",
            "($n: ID!)",
            "(id: $n)",
            |f| json!({ "n": f.own_hidden_notification() }),
            Hidden,
        ),
        case(
            "uploadFile",
            "W",
            "($ws: ID!, $file: Upload!)",
            "(workspaceId: $ws, file: $file)",
            |f| json!({ "ws": f.ws }),
            InW(Allowed("members upload files")),
        ),
        case(
            "createUpload",
            "W",
            "($i: CreateUploadInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "filename": "a.txt", "mime": "text/plain", "size": 5 } }),
            InW(Allowed("members upload files")),
        ),
        case("completeUpload", "alice's file", "($a: ID!)", "(id: $a)", |f| json!({ "a": f.file }), Hidden),
        case("retryScan", "alice's file", "($a: ID!)", "(id: $a)", |f| json!({ "a": f.file }), Hidden),
        case(
            "setUploadLimit",
            "W",
            "($w: ID!)",
            "(workspaceId: $w, maxBytes: 5)",
            |f| json!({ "w": f.ws }),
            InW(Forbidden(ADMIN)),
        ),
        case("invitations", "W", "($w: ID!)", "(workspaceId: $w)", |f| json!({ "w": f.ws }), InW(Forbidden(ADMIN))),
        case(
            "bans",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Forbidden("moderators and above only; the member sees W itself")),
        ),
        case(
            "undeliveredMail",
            "W",
            "($w: ID!)",
            "(workspaceId: $w, first: 50)",
            |f| json!({ "w": f.ws }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "updateWorkspace",
            "W",
            "($i: UpdateWorkspaceInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "name": "taken over" } }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "createInvitation",
            "W, a link",
            "($i: CreateInvitationInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "role": "MEMBER" } }),
            InW(Forbidden("admins invite unless W's invitePolicy says otherwise")),
        ),
        case(
            "revokeInvitation",
            "alice's invitation of carol",
            "($id: ID!)",
            "(id: $id)",
            |f| json!({ "id": f.invitation }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "acceptInvitation",
            "W, with the token mailed to carol",
            "($t: String!)",
            "(token: $t)",
            |f| json!({ "t": f.carol_invitation_token }),
            LikeMissing(|_| json!({ "t": "Abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE" })),
        ),
        case(
            "addDepartmentMember",
            "alice's department, the actor",
            "($i: DepartmentMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "departmentId": f.department, "userId": f.actor().id } }),
            InW(Forbidden("owners and admins only; the member sees W's departments")),
        ),
        case(
            "removeDepartmentMember",
            "alice's department, alice",
            "($i: DepartmentMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "departmentId": f.department, "userId": f.alice.id } }),
            InW(Forbidden("owners and admins only; the member sees W's departments")),
        ),
        case(
            "timeoutMember",
            "W, bob",
            "($i: TimeoutMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "userId": f.bob.id, "until": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339() } }),
            InW(Forbidden("moderators and above only")),
        ),
        case(
            "banMember",
            "W, bob",
            "($i: BanMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "userId": f.bob.id } }),
            InW(Forbidden("moderators and above only")),
        ),
        case(
            "unbanMember",
            "W, bob",
            "($i: BanMemberInput!)",
            "(input: $i)",
            |f| json!({ "i": { "workspaceId": f.ws, "userId": f.bob.id } }),
            InW(Forbidden("moderators and above only")),
        ),
        case(
            "deleteWorkspace",
            "W, with its slug",
            "($w: ID!, $s: String!)",
            "(workspaceId: $w, confirmSlug: $s)",
            |f| json!({ "w": f.ws, "s": format!("wname-{}", f.nonce) }),
            InW(Forbidden("owners only; the member sees W itself")),
        ),
        case("restoreWorkspace", "W (not deleted)", "($w: ID!)", "(workspaceId: $w)", |f| json!({ "w": f.ws }), Hidden),
        case(
            "exchangeSignInCode",
            "a code that was never issued",
            "($c: String!)",
            "(code: $c)",
            |_| json!({ "c": "Abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE" }),
            LikeMissing(|_| json!({ "c": "Zbcdefghijklmnopqrstuvwxyz0123456789-_ABCDE" })),
        ),
        case(
            "unlinkIdentity",
            "the caller's own identity at an unknown provider",
            "",
            "(provider: \"nope\")",
            none,
            LikeMissing(|_| json!({})),
        ),
        case("setAvatar", "alice's file", "($a: ID!)", "(attachmentId: $a)", |f| json!({ "a": f.file }), Hidden),
        case("removeAvatar", "self", "", "", none, Own("removes the caller's own picture", any)),
        case(
            "setWorkspaceIcon",
            "W, removing it",
            "($w: ID!)",
            "(workspaceId: $w, attachmentId: null)",
            |f| json!({ "w": f.ws }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "transferOwnership",
            "W, to the actor",
            "($w: ID!, $u: ID!)",
            "(workspaceId: $w, userId: $u)",
            |f| json!({ "w": f.ws, "u": f.actor().id }),
            InW(Forbidden("owners only; the member sees W itself")),
        ),
        case("resendVerification", "self", "", "", none, Own("mails the caller's own address", any)),
        // Before changeEmail, whose new link would replace this one.
        case(
            "verifyEmail",
            "the caller's own email-change link",
            "($t: String!)",
            "(token: $t)",
            |f| json!({ "t": f.change_token }),
            Own("proves the caller's own new address", any),
        ),
        case(
            "changeEmail",
            "self, to a fresh address",
            "($i: ChangeEmailInput!)",
            "(input: $i)",
            |f| json!({ "i": { "newEmail": format!("again.{}@example.com", random_id()), "password": f.actor().password } }),
            Own("mails a link to the caller's new address", any),
        ),
        case(
            "requestPasswordReset",
            "alice's address",
            "($e: String!)",
            "(email: $e)",
            |f| json!({ "e": f.alice.email }),
            Own("answers the same for every address; the link goes to its owner only", any),
        ),
        // ---- Helpdesk
        case("ticket", "alice's ticket", "($t: ID!)", "(id: $t)", |f| json!({ "t": f.ticket }), Hidden),
        case(
            "tickets",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("lists the member's own and watched tickets only: none of alice's")),
        ),
        case(
            "ticketCounts",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("counts only the tickets the member may see")),
        ),
        case(
            "ticketSettings",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member reads W's ticket settings")),
        ),
        case(
            "slaCalendars",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member reads W's business calendars")),
        ),
        case(
            "slaPolicies",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member reads W's SLA policies")),
        ),
        case(
            "createTicket",
            "W's department",
            "($w: ID!, $d: ID!)",
            "(workspaceId: $w, departmentId: $d, input: { title: \"help\" })",
            |f| json!({ "w": f.ws, "d": f.department }),
            InW(Allowed("a member opens a ticket of its own")),
        ),
        case(
            "transitionTicket",
            "alice's ticket",
            "($t: ID!)",
            "(input: { ticketId: $t, version: 1, action: ASSIGN })",
            |f| json!({ "t": f.ticket }),
            Hidden,
        ),
        case(
            "updateTicket",
            "alice's ticket",
            "($t: ID!)",
            "(ticketId: $t, version: 1, input: { title: \"mine\" })",
            |f| json!({ "t": f.ticket }),
            Hidden,
        ),
        case("watchTicket", "alice's ticket", "($t: ID!)", "(ticketId: $t)", |f| json!({ "t": f.ticket }), Hidden),
        case("unwatchTicket", "alice's ticket", "($t: ID!)", "(ticketId: $t)", |f| json!({ "t": f.ticket }), Hidden),
        case(
            "createSubticket",
            "alice's ticket",
            "($t: ID!, $d: ID!)",
            "(parentId: $t, version: 1, departmentId: $d, input: { title: \"part\" })",
            |f| json!({ "t": f.ticket, "d": f.department }),
            Hidden,
        ),
        case(
            "createFollowUpTicket",
            "alice's ticket",
            "($t: ID!)",
            "(ticketId: $t, input: { title: \"again\" })",
            |f| json!({ "t": f.ticket }),
            Hidden,
        ),
        case(
            "mergeTicket",
            "alice's ticket into her other one",
            "($t: ID!, $u: ID!)",
            "(ticketId: $t, version: 1, targetId: $u)",
            |f| json!({ "t": f.ticket, "u": f.ticket2 }),
            Hidden,
        ),
        case(
            "linkTickets",
            "alice's tickets",
            "($t: ID!, $u: ID!)",
            "(ticketId: $t, otherId: $u, kind: RELATES_TO)",
            |f| json!({ "t": f.ticket, "u": f.ticket2 }),
            Hidden,
        ),
        case(
            "updateTicketSettings",
            "W",
            "($w: ID!)",
            "(workspaceId: $w, autoCloseMinutes: 60, reopenWindowMinutes: 60)",
            |f| json!({ "w": f.ws }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "createSlaCalendar",
            "W",
            "($w: ID!)",
            "(workspaceId: $w, input: { name: \"c\", timezone: \"UTC\", hours: [{ weekday: 1, start: \"08:00\", end: \"18:00\" }] })",
            |f| json!({ "w": f.ws }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "createSlaPolicy",
            "W",
            "($w: ID!, $c: ID!)",
            "(workspaceId: $w, input: { calendarId: $c, firstResponseMinutes: 60, resolutionMinutes: 240 })",
            |f| json!({ "w": f.ws, "c": random_id() }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "approvalPolicies",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member reads W's approval policies")),
        ),
        case(
            "createApprovalPolicy",
            "W",
            "($w: ID!, $u: ID!)",
            "(workspaceId: $w, input: { name: \"p\", deciderIds: [$u] })",
            |f| json!({ "w": f.ws, "u": random_id() }),
            InW(Forbidden(ADMIN)),
        ),
        case(
            "requestApproval",
            "alice's ticket",
            "($t: ID!, $p: ID!)",
            "(ticketId: $t, version: 1, policyId: $p)",
            |f| json!({ "t": f.ticket, "p": random_id() }),
            Hidden,
        ),
        case(
            "decideApproval",
            "alice's ticket",
            "($t: ID!)",
            "(ticketId: $t, version: 1, approve: true)",
            |f| json!({ "t": f.ticket }),
            Hidden,
        ),
        // ---- Subscription
        case("ticketEvents", "alice's ticket", "($t: ID!)", "(ticketId: $t)", |f| json!({ "t": f.ticket }), Hidden),
        case(
            "ticketQueue",
            "W's department",
            "($d: ID!)",
            "(departmentId: $d)",
            |f| json!({ "d": f.department }),
            Hidden,
        ),
        case(
            "membershipChanged",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member hears W's membership changes")),
        ),
        case(
            "channelEvents",
            "private channel, replayed from 0",
            "($c: ID!)",
            "(channelId: $c, after: 0)",
            |f| json!({ "c": f.private }),
            Hidden,
        ),
        case(
            "channelEvents",
            "DM, replayed from 0",
            "($c: ID!)",
            "(channelId: $c, after: 0)",
            |f| json!({ "c": f.dm }),
            Hidden,
        ),
        case("typing", "private channel", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.private }), Hidden),
        case(
            "channelChanged",
            "private channel",
            "($c: ID!)",
            "(channelId: $c)",
            |f| json!({ "c": f.private }),
            Hidden,
        ),
        case("typing", "DM", "($c: ID!)", "(channelId: $c)", |f| json!({ "c": f.dm }), Hidden),
        case(
            "presenceChanged",
            "W",
            "($w: ID!)",
            "(workspaceId: $w)",
            |f| json!({ "w": f.ws }),
            InW(Allowed("a member hears W's presence")),
        ),
        case(
            "notificationReceived",
            "self, while alice mentions the actor in the private channel",
            "",
            "",
            none,
            Own("the caller's own stream: nothing about W's private channel arrives", any),
        ),
        case(
            "attachmentScanned",
            "self, while alice's upload is scanned",
            "",
            "",
            none,
            Own("the caller's own uploads only", any),
        ),
        case(
            "changePassword",
            "self",
            "($i: ChangePasswordInput!)",
            "(input: $i)",
            |f| json!({ "i": { "currentPassword": f.actor().password, "newPassword": "a long new secret" } }),
            Own("changes the caller's own password; this session stays", any),
        ),
        // Last: it ends every session of the caller, the one the cases above ran with included.
        case(
            "logoutEverywhere",
            "every session of the caller",
            "",
            "",
            none,
            Own("ends the caller's own sessions only", any),
        ),
        // After the last session: a reset ends every session and needs none.
        case(
            "resetPassword",
            "the caller's own reset link",
            "($i: ResetPasswordInput!)",
            "(input: $i)",
            |f| json!({ "i": { "token": f.reset_token, "newPassword": "another long secret" } }),
            Own("resets the caller's own password", any),
        ),
    ]
}

fn document(sdl: &Sdl, case: &Case) -> String {
    let op = match sdl.root_of(case.field) {
        Some("Query") => "query",
        Some("Mutation") => "mutation",
        _ => "subscription",
    };
    let selection = sdl.selection(&sdl.root_field(case.field).ty, &mut Vec::new());
    format!("{op}{} {{ {}{} {selection} }}", case.params, case.field, case.args)
}

// ---------------------------------------------------------------------------------------------
// Judging one response.
// ---------------------------------------------------------------------------------------------

/// Codes that mean the case itself is broken, not the access rule.
const BROKEN: [&str; 7] = [
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "QUERY_TOO_COMPLEX",
    "BAD_REQUEST",
    "UNAUTHENTICATED",
    "RATE_LIMITED",
    "INTERNAL",
];

fn codes(errors: &Value) -> Vec<String> {
    errors
        .as_array()
        .map(|errors| {
            errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("<no code>").to_owned()).collect()
        })
        .unwrap_or_default()
}

/// The outcome label, or what is wrong.
fn judge(f: &Fixture, case: &Case, body: &Value, missing: Option<&Value>) -> Result<String, String> {
    let leaked = f.leaks(&body.to_string(), &body["data"].to_string());
    if !leaked.is_empty() {
        return Err(format!("leaks {}: {body}", leaked.join(", ")));
    }
    let codes = codes(&body["errors"]);
    if let Some(code) = codes.iter().find(|c| BROKEN.contains(&c.as_str())) {
        return Err(format!("the case is broken ({code}): {body}"));
    }
    let value = &body["data"][case.field];
    let not_found = || {
        if codes.first().map(String::as_str) == Some("NOT_FOUND") && value.is_null() {
            Ok("NOT_FOUND".to_owned())
        } else {
            Err(format!("expected NOT_FOUND, got {}: {body}", codes.first().map_or("data", String::as_str)))
        }
    };
    match (&case.expect, f.who) {
        (Expect::Hidden, _) | (Expect::InW(_), Who::Outsider | Who::Removed | Who::Other) => not_found(),
        (Expect::InW(Seen::Forbidden(_)), Who::Member) => {
            if codes.first().map(String::as_str) == Some("FORBIDDEN") && value.is_null() {
                Ok(format!("FORBIDDEN: {}", reason(&case.expect)))
            } else {
                Err(format!("expected FORBIDDEN, got {}: {body}", codes.first().map_or("data", String::as_str)))
            }
        }
        (Expect::InW(Seen::Allowed(_)), Who::Member) => {
            if value.is_null() && codes.iter().any(|c| c == "NOT_FOUND" || c == "FORBIDDEN") {
                Err(format!("the member may do this in W, got {codes:?}: {body}"))
            } else if value.is_null() {
                Ok(format!("allowed, {}: {}", codes.join(", "), reason(&case.expect)))
            } else {
                Ok(format!("allowed: {}", reason(&case.expect)))
            }
        }
        (Expect::LikeMissing(_), _) => {
            let missing = missing.expect("the answer for a random id");
            let shape = |b: &Value| (self::codes(&b["errors"]), b["errors"][0]["message"].clone(), b["data"].is_null());
            if shape(body) == shape(missing) {
                Ok(format!("like a missing id ({})", codes.first().map_or("data", String::as_str)))
            } else {
                Err(format!("answers differently than for a random id: {body} vs {missing}"))
            }
        }
        (Expect::Own(_, check), _) => {
            if !codes.is_empty() {
                return Err(format!("the caller's own operation failed: {body}"));
            }
            check(value).map(|()| format!("exempt, {}", reason(&case.expect)))
        }
    }
}

/// Why an actor may get something other than `NOT_FOUND`.
fn reason(expect: &Expect) -> &'static str {
    match expect {
        Expect::InW(Seen::Forbidden(why) | Seen::Allowed(why)) | Expect::Own(why, _) => why,
        Expect::Hidden | Expect::LikeMissing(_) => "",
    }
}

async fn send(f: &Fixture, case: &Case, doc: &str, vars: Value) -> Value {
    if case.params.contains("Upload!") {
        multipart(&f.app, &f.actor().token, doc, vars, "note.txt", b"hello").await
    } else {
        f.app.gql_as(Some(&f.actor().token), doc, vars).await.body
    }
}

// ---------------------------------------------------------------------------------------------
// Streams: every subscription case on one socket; alice makes each produce an event.
// ---------------------------------------------------------------------------------------------

/// Frames up to the pong answering a ping: everything the server sent before it.
async fn until_pong(socket: &mut WsClient) -> Result<Vec<Value>, String> {
    socket.send(json!({ "type": "ping" })).await;
    let mut frames = Vec::new();
    loop {
        match socket.next_within(Duration::from_secs(5)).await {
            WsEvent::Json(v) if v["type"] == "pong" => return Ok(frames),
            WsEvent::Json(v) if v["type"] == "ping" => socket.send(json!({ "type": "pong" })).await,
            WsEvent::Json(v) => frames.push(v),
            WsEvent::Closed(code) => return Err(format!("the socket closed ({code:?})")),
        }
    }
}

/// Makes every subscription of the matrix fire for alice: a post mentioning the four actors in the
/// private channel, a DM from bob, typing in both, alice going away, a new purpose for the private
/// channel (a direct channel has none to change), bob's new role, an upload.
async fn produce_events(f: &Fixture) {
    let n = &f.nonce;
    let everyone = [&f.outsider, &f.member, &f.removed, &f.other].map(|u| format!("<@{}>", u.id)).join(" ");
    post(&f.app, &f.alice, json!({ "channelId": f.private, "body": format!("{everyone} @channel live zq{n}") })).await;
    post(&f.app, &f.bob, json!({ "channelId": f.dm, "body": format!("live zq{n}") })).await;
    for channel in [&f.private, &f.dm] {
        ok(&f.app, &f.alice, "mutation($c: ID!) { setTyping(channelId: $c) { ok } }", json!({ "c": channel })).await;
    }
    ok(&f.app, &f.alice, "mutation { setAway(away: true) }", json!({})).await;
    ok(
        &f.app,
        &f.alice,
        "mutation($i: UpdateChannelInput!) { updateChannel(input: $i) { channel { id } } }",
        json!({ "i": { "channelId": f.private, "purpose": format!("purpose zq{n}") } }),
    )
    .await;
    ok(
        &f.app,
        &f.alice,
        "mutation($i: ChangeRoleInput!) { changeRole(input: $i) { member { role } } }",
        json!({ "i": { "workspaceId": f.ws, "userId": f.bob.id, "role": "MODERATOR" } }),
    )
    .await;
    let read = ok(&f.app, &f.alice, "query($t: ID!) { ticket(id: $t) { version } }", json!({ "t": f.ticket })).await;
    let version = read["ticket"]["version"].as_i64().unwrap_or(1);
    let update =
        "mutation($t: ID!, $v: Int!) { updateTicket(ticketId: $t, version: $v, input: { labels: [\"live\"] }) { id } }";
    ok(&f.app, &f.alice, update, json!({ "t": f.ticket, "v": version })).await;
    // A department at capacity queues the next ticket: its queue stream fires.
    let narrow = "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { id } } }";
    let fields = json!({ "name": format!("dept-{n}"), "code": format!("D{}", n.to_uppercase()), "headUserId": f.alice.id, "capacity": 2 });
    ok(&f.app, &f.alice, narrow, json!({ "i": { "id": f.department, "department": fields } })).await;
    let open_ticket = "mutation($w: ID!, $d: ID!, $i: TicketInput!) { createTicket(workspaceId: $w, departmentId: $d, input: $i) { state } }";
    let queued = ok(
        &f.app,
        &f.alice,
        open_ticket,
        json!({ "w": f.ws, "d": f.department, "i": { "title": format!("late zq{n}") } }),
    )
    .await;
    assert_eq!(queued["createTicket"]["state"], "QUEUED", "{queued}");
    let late =
        multipart(&f.app, &f.alice.token, UPLOAD, json!({ "ws": f.ws }), &format!("ledger-{n}-2.txt"), b"more").await;
    assert!(late["errors"].is_null(), "{late}");
}

async fn run_streams(f: &Fixture, sdl: &Sdl, cases: &[(usize, &Case)], report: &mut Vec<String>) -> Vec<String> {
    let mut failures = Vec::new();
    let subscribe = |i: usize, case: &Case| {
        let payload = json!({ "query": document(sdl, case), "variables": (case.vars)(f) });
        json!({ "id": format!("s{i}"), "type": "subscribe", "payload": payload })
    };
    let mut control = WsClient::init(&f.app, Some(&f.alice.token)).await;
    let mut socket = WsClient::init(&f.app, Some(&f.actor().token)).await;
    for (i, case) in cases {
        control.send(subscribe(*i, case)).await;
        socket.send(subscribe(*i, case)).await;
    }
    let mut frames = until_pong(&mut control).await.unwrap();
    let mut heard = until_pong(&mut socket).await.unwrap_or_else(|e| panic!("{:?}'s socket: {e}", f.who));

    produce_events(f).await;
    // alice hears every stream fire: the events went out before the actor's socket is asked.
    let mut waiting: BTreeSet<String> = cases.iter().map(|(i, _)| format!("s{i}")).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        for frame in frames.drain(..) {
            assert_ne!(frame["type"], "error", "alice's own stream failed: {frame}");
            if frame["type"] == "next" {
                waiting.remove(frame["id"].as_str().unwrap());
            }
        }
        if waiting.is_empty() {
            break;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match control.try_next(left).await {
            Some(WsEvent::Json(v)) => frames.push(v),
            other => panic!("alice's streams {waiting:?} did not fire: {other:?}"),
        }
    }
    match until_pong(&mut socket).await {
        Ok(more) => heard.extend(more),
        Err(e) => failures.push(format!("{:?}: {e}", f.who)),
    }

    for (i, case) in cases {
        let id = format!("s{i}");
        let mine: Vec<&Value> = heard.iter().filter(|v| v["id"] == id.as_str()).collect();
        let label = format!("{:?} {} [{}]", f.who, case.field, case.target);
        let outcome = judge_stream(f, case, &mine);
        match outcome {
            Ok(outcome) => report.push(format!("{label}: {outcome}")),
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    failures
}

fn judge_stream(f: &Fixture, case: &Case, frames: &[&Value]) -> Result<String, String> {
    for frame in frames {
        let leaked = f.leaks(&frame.to_string(), &frame["payload"]["data"].to_string());
        if !leaked.is_empty() {
            return Err(format!("leaks {}: {frame}", leaked.join(", ")));
        }
    }
    let nexts = frames.iter().filter(|v| v["type"] == "next").count();
    let error = frames.iter().find(|v| v["type"] == "error");
    let error_code = error.map(|e| codes(&e["payload"]).first().cloned().unwrap_or_default());
    let member_allowed = f.who == Who::Member && matches!(case.expect, Expect::InW(Seen::Allowed(_)));
    match (&case.expect, error_code.as_deref()) {
        _ if member_allowed => match error_code {
            Some(code) => Err(format!("the member may hear this, got {code}")),
            None => Ok(format!("allowed ({nexts} events): {}", reason(&case.expect))),
        },
        (Expect::Own(..), None) if nexts == 0 => Ok(format!("exempt, nothing delivered: {}", reason(&case.expect))),
        (Expect::Own(..), _) => Err(format!("expected nothing, got {frames:?}")),
        (_, Some("NOT_FOUND")) if nexts == 0 => Ok("error NOT_FOUND".to_owned()),
        (_, None) if nexts == 0 => Ok("nothing delivered".to_owned()),
        _ => Err(format!("expected an error NOT_FOUND or nothing, got {frames:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The runs.
// ---------------------------------------------------------------------------------------------

async fn run_matrix(who: Who) {
    let sdl = Sdl::load();
    let f = fixture(who).await;
    let cases = matrix();
    let mut report = Vec::new();
    let streams: Vec<(usize, &Case)> =
        cases.iter().enumerate().filter(|(_, c)| sdl.root_of(c.field) == Some("Subscription")).collect();
    // Streams first: the events they wait for (mentions of the actor) must then not show in the
    // actor's notifications either.
    let mut failures = run_streams(&f, &sdl, &streams, &mut report).await;
    for case in cases.iter().filter(|c| sdl.root_of(c.field) != Some("Subscription")) {
        let doc = document(&sdl, case);
        let body = send(&f, case, &doc, (case.vars)(&f)).await;
        let missing = match &case.expect {
            Expect::LikeMissing(vars) => Some(send(&f, case, &doc, vars(&f)).await),
            _ => None,
        };
        let label = format!("{who:?} {} [{}]", case.field, case.target);
        match judge(&f, case, &body, missing.as_ref()) {
            Ok(outcome) => report.push(format!("{label}: {outcome}")),
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn every_root_field_and_object_type_has_a_matrix_entry() {
    let sdl = Sdl::load();
    let cases = matrix();
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.field).collect();
    let mut problems = Vec::new();
    for root in ROOTS {
        for f in &sdl.objects[root] {
            if !covered.contains(f.name.as_str()) {
                problems.push(format!("{root}.{} has no case in the access matrix", f.name));
            }
        }
    }
    for field in &covered {
        if sdl.root_of(field).is_none() {
            problems.push(format!("the matrix lists {field}, which is no root field of the SDL"));
        }
    }
    let listed: BTreeMap<&str, &Holds> = TYPES.iter().map(|(t, h)| (*t, h)).collect();
    let reached = sdl.reached_by();
    for ty in sdl.objects.keys().filter(|t| !ROOTS.contains(&t.as_str())) {
        match (listed.get(ty.as_str()), reached.get(ty)) {
            (None, via) => problems.push(format!(
                "object type {ty} (reached via {via:?}) is not in TYPES: say what workspace data it holds, or why none"
            )),
            (Some(_), None) => problems.push(format!("object type {ty} is reached by no root field")),
            (Some(Holds::Workspace(_)), Some(via)) => {
                for field in via.iter().filter(|f| !covered.contains(f.as_str())) {
                    problems.push(format!("{ty} holds workspace data and is reached via {field}, which has no case"));
                }
            }
            (Some(Holds::Nothing(why)), Some(via)) => eprintln!("{ty}: exempt, {why} (via {via:?})"),
        }
        if let (Some(Holds::Workspace(what)), Some(via)) = (listed.get(ty.as_str()), reached.get(ty)) {
            eprintln!("{ty}: {what}, reached via {via:?}");
        }
    }
    for ty in listed.keys().filter(|t| !sdl.objects.contains_key(**t)) {
        problems.push(format!("TYPES lists {ty}, which is no object type of the SDL"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn an_outsider_finds_nothing_of_the_workspace() {
    run_matrix(Who::Outsider).await;
}

#[tokio::test]
async fn a_member_finds_nothing_of_a_private_channel_or_anothers_dm() {
    run_matrix(Who::Member).await;
}

#[tokio::test]
async fn a_removed_member_finds_nothing_of_the_workspace() {
    run_matrix(Who::Removed).await;
}

#[tokio::test]
async fn another_workspaces_owner_finds_nothing_of_the_workspace() {
    run_matrix(Who::Other).await;
}
