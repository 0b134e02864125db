//! `stoa seed`: a demo workspace with users and departments, through the same domain calls as the API.

use stoa_domain::authz::Role;
use stoa_domain::identity::{self, Register};
use stoa_domain::workspaces::{self as ws, AddMember, CreateWorkspace, DepartmentInput};
use stoa_domain::{Actor, AppCtx, DomainError};

/// A seeded account.
pub struct SeededUser {
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// Creates the demo data and returns the credentials. Re-running fails with `CONFLICT` on the emails.
///
/// # Errors
/// Any domain error.
pub async fn seed(app: &AppCtx) -> Result<(String, Vec<SeededUser>), DomainError> {
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let suffix = suffix.get(suffix.len() - 6..).unwrap_or("demo").to_owned();
    let people = [
        ("Olivia Owner", Role::Owner),
        ("Adam Admin", Role::Admin),
        ("Aggie Agent", Role::Agent),
        ("Mel Member", Role::Member),
    ];
    let mut users = Vec::new();
    let mut owner: Option<Actor> = None;
    for (name, role) in people {
        let first = name.split(' ').next().unwrap_or("user").to_lowercase();
        let email = format!("{first}.{suffix}@demo.stoa.local");
        let password = format!("demo-{first}-{suffix}");
        let session = identity::register(
            app,
            Register {
                email: email.clone(),
                password: password.clone(),
                display_name: name.into(),
                client_ip: "seed".into(),
                invitation_token: None,
            },
        )
        .await?;
        if role == Role::Owner {
            owner = Some(identity::verify_access_token(app.auth(), &session.access_token)?);
        }
        users.push(SeededUser { email, password, role });
    }
    let owner = owner.ok_or(DomainError::NotFound("owner"))?;
    let workspace = ws::create_workspace(
        app,
        &owner,
        CreateWorkspace { name: "Demo Estate".into(), slug: Some(format!("demo-{suffix}")) },
    )
    .await?;
    for user in users.iter().filter(|u| u.role != Role::Owner) {
        ws::add_member(
            app,
            &owner,
            AddMember { workspace_id: workspace.id, email: user.email.clone(), role: user.role },
        )
        .await?;
    }
    for (name, code) in [("Maintenance", "MAINT"), ("Security", "SEC")] {
        let input = DepartmentInput { name: name.into(), code: code.into(), head_user_id: None, capacity: 20 };
        ws::create_department(app, &owner, workspace.id, input).await?;
    }
    Ok((workspace.slug, users))
}
