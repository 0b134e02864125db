//! The Postgres side of backups: Stoa does not dump Postgres itself (`pg_dump` does it better, and
//! must match the server's version); it prints the command to run, with the password left out.

use std::path::Path;

/// The lines `stoa backup PATH` prints on Postgres.
pub(super) fn dump_command(database_url: &str, target: &Path) -> Vec<String> {
    let (url, had_password) = redact(database_url);
    let mut lines = vec![
        "database: Postgres; Stoa does not dump it itself. Run:".to_owned(),
        format!("  pg_dump --format=custom --no-owner --file={} {}", quote(&target.display().to_string()), quote(&url)),
    ];
    if had_password {
        lines.push("  (password removed from the URL: pass it as PGPASSWORD=… or in ~/.pgpass)".to_owned());
    }
    lines
}

/// The lines `stoa restore PATH` prints on Postgres.
pub(super) fn restore_command(database_url: &str, source: &Path) -> Vec<String> {
    let (url, had_password) = redact(database_url);
    let mut lines = vec![
        "database: Postgres; Stoa does not restore it itself. Stop every stoa serve and stoa worker, then run:"
            .to_owned(),
        format!(
            "  pg_restore --clean --if-exists --no-owner --single-transaction --dbname={} {}",
            quote(&url),
            quote(&source.display().to_string())
        ),
    ];
    if had_password {
        lines.push("  (password removed from the URL: pass it as PGPASSWORD=… or in ~/.pgpass)".to_owned());
    }
    lines
}

/// `url` without its password (in the user part or as a `password=` parameter), and whether it had one.
fn redact(url: &str) -> (String, bool) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), false) };
    let (rest, query) = rest.split_once('?').map_or((rest, None), |(r, q)| (r, Some(q)));
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let mut had_password = false;
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => {
                had_password = true;
                format!("{user}@{host}")
            }
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let query = query.map(|q| {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|pair| {
                let secret = pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("password"));
                had_password |= secret;
                !secret
            })
            .collect();
        kept.join("&")
    });
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(&query);
    }
    (out, had_password)
}

/// `s` quoted for a POSIX shell when it needs it.
fn quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if plain { s.to_owned() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_reaches_the_printed_command() {
        let lines = dump_command("postgres://stoa:s3cr%3At@db.internal:5432/stoa?sslmode=require", Path::new("b.dump"));
        let text = lines.join("\n");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(
            text.contains("pg_dump --format=custom --no-owner --file=b.dump 'postgres://stoa@db.internal:5432/stoa?sslmode=require'"),
            "{text}"
        );
        assert!(text.contains("PGPASSWORD"), "{text}");
    }

    #[test]
    fn a_password_parameter_is_removed_too() {
        assert_eq!(
            redact("postgresql://u@h/db?password=x&application_name=stoa"),
            ("postgresql://u@h/db?application_name=stoa".to_owned(), true)
        );
        assert_eq!(redact("postgres://u@h/db"), ("postgres://u@h/db".to_owned(), false));
    }

    #[test]
    fn paths_with_spaces_and_quotes_are_quoted_for_the_shell() {
        assert_eq!(quote("/b/it's here.dump"), r"'/b/it'\''s here.dump'");
        assert_eq!(quote("/b/plain.dump"), "/b/plain.dump");
    }
}
