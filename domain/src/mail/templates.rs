//! The mail templates kept in `domain/templates/mail/`: a plain-text and an HTML part each, with
//! `{{name}}` placeholders. Values are HTML-escaped in the HTML part; a placeholder without a value
//! is left visible, and a test renders every template with the values its callers pass.

/// Which mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    VerifyEmail,
    EmailChange,
    PasswordReset,
    Invitation,
}

impl Template {
    /// The `outbound_mail.kind` of this template's mail.
    #[must_use]
    pub const fn kind(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::EmailChange => "email_change",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }

    const fn parts(self) -> (&'static str, &'static str) {
        match self {
            Self::VerifyEmail => (
                include_str!("../../templates/mail/verify_email.txt"),
                include_str!("../../templates/mail/verify_email.html"),
            ),
            Self::EmailChange => (
                include_str!("../../templates/mail/email_change.txt"),
                include_str!("../../templates/mail/email_change.html"),
            ),
            Self::PasswordReset => (
                include_str!("../../templates/mail/password_reset.txt"),
                include_str!("../../templates/mail/password_reset.html"),
            ),
            Self::Invitation => (
                include_str!("../../templates/mail/invitation.txt"),
                include_str!("../../templates/mail/invitation.html"),
            ),
        }
    }

    /// The plain-text and HTML parts with `vars` filled in.
    #[must_use]
    pub fn render(self, vars: &[(&'static str, String)]) -> (String, String) {
        let (text, html) = self.parts();
        (fill(text, vars, ToOwned::to_owned), fill(html, vars, escape_html))
    }
}

fn fill(template: &str, vars: &[(&'static str, String)], encode: impl Fn(&str) -> String) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), &encode(value));
    }
    out
}

fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(&'static str, String)> {
        vec![
            ("name", "Ada <admin>".to_owned()),
            ("email", "ada@example.com".to_owned()),
            ("link", "https://app.example/verify-email#token=abc&x=1".to_owned()),
            ("hours", "24".to_owned()),
            ("minutes", "30".to_owned()),
            ("inviter", "Ada <admin>".to_owned()),
            ("workspace", "Sunny Hills".to_owned()),
            ("role", "member".to_owned()),
            ("days", "7".to_owned()),
        ]
    }

    #[test]
    fn every_template_fills_every_placeholder_and_escapes_html() {
        for template in [Template::VerifyEmail, Template::EmailChange, Template::PasswordReset, Template::Invitation] {
            let (text, html) = template.render(&vars());
            assert!(!text.contains("{{") && !html.contains("{{"), "{template:?} left a placeholder");
            assert!(text.contains("Ada <admin>"), "text is not escaped");
            assert!(html.contains("Ada &lt;admin&gt;") && !html.contains("<admin>"), "{template:?} html not escaped");
            assert!(text.contains("https://app.example/verify-email#token=abc&x=1"));
            assert!(html.contains("href=\"https://app.example/verify-email#token=abc&amp;x=1\""));
        }
    }
}
