//! The binary's start-up: bad configuration fails with one clear line, not a panic.

use std::process::Command;

fn run(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("stoa-cfg-{}", uuid::Uuid::now_v7()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stoa"));
    cmd.arg("migrate").env_clear().env("STOA_DATA_DIR", &dir);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("stoa runs");
    let _ = std::fs::remove_dir_all(dir);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_bad_environment_value_fails_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("DATABASE_URL", "mysql://localhost/x"),
        ("REDIS_URL", "localhost:6379"),
        ("STORAGE_URL", "ftp://x"),
        ("STOA_BIND", "nowhere"),
        ("STOA_MAX_DEPTH", "0"),
    ] {
        let (code, stderr) = run(&[(var, value)]);
        assert_eq!(code, Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_unreachable_database_fails_cleanly() {
    let (code, stderr) = run(&[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("connecting to the database"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn schema_prints_the_sdl_and_migrate_creates_the_sqlite_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_stoa")).arg("schema").output().expect("stoa runs");
    let sdl = String::from_utf8_lossy(&out.stdout);
    assert!(sdl.contains("type Query") && sdl.contains("membershipChanged"), "{sdl}");

    let dir = std::env::temp_dir().join(format!("stoa-mig-{}", uuid::Uuid::now_v7()));
    let status = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .arg("migrate")
        .env_clear()
        .env("STOA_DATA_DIR", &dir)
        .status()
        .expect("stoa runs");
    assert!(status.success());
    assert!(dir.join("stoa.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}
