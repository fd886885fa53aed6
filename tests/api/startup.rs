//! Start-up of the real binary: the embedded default needs no environment, generates its token
//! and key files (0600) and logs their paths, never their contents; bad setups fail clearly.
use crate::keys::gateway;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn embedded_default_starts_with_no_env_and_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("gateway starts in 30 s");
        log.push_str(&line);
        log.push('\n');
        if let Some(i) = line.find("listening on http://") {
            break line[i + "listening on http://".len()..].trim().to_owned();
        }
    };
    let health = http_get(&addr, "/health");
    child.kill().ok();
    child.wait().ok();

    let data = dir.path().join("data");
    for (file, what) in [
        ("admin-token", "operator token"),
        ("master-keys", "master keys"),
    ] {
        let path = data.join(file);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} must be 0600");
        let content = std::fs::read_to_string(&path).unwrap();
        let secret = content.trim().rsplit(':').next().unwrap();
        assert!(secret.len() >= 32);
        assert!(!log.contains(secret), "the log holds the {what}");
        assert!(log.contains(file), "the log names the generated {file}");
    }
    assert!(data.join("gateway.db").exists());
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );
    assert!(health.contains(r#"{"status":"ok"}"#), "{health}");
}

/// A bare HTTP/1.0 GET, answer as text.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn postgres_without_master_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = gateway(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://127.0.0.1:1/none"),
            ("GATEWAY_DATA_DIR", dir.path().to_str().unwrap()),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GATEWAY_MASTER_KEYS is not set") && err.contains("gateway keys generate"),
        "{err}"
    );
    assert!(
        !dir.path().join("master-keys").exists(),
        "no key file is generated for PostgreSQL"
    );
}

/// `gateway serve` with `var` set to each of `bad` exits with an error that names `expected`.
fn serve_refuses(var: &str, bad: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    for bad in bad {
        let out = gateway(
            &["serve"],
            &[
                (var, bad),
                ("GATEWAY_DATA_DIR", dir.path().to_str().unwrap()),
            ],
        );
        assert!(!out.status.success(), "{var}={bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{var}={bad}: {err}");
    }
}

#[test]
fn malformed_master_keys_refuse_to_start() {
    serve_refuses(
        "GATEWAY_MASTER_KEYS",
        &["k1:tooshort", "no-colon", "bad id!:AAAA"],
        "GATEWAY_MASTER_KEYS is invalid",
    );
}

#[test]
fn writer_shards_out_of_range_refuse_to_start() {
    serve_refuses(
        "GATEWAY_WRITER_SHARDS",
        &["0", "33", "two"],
        "--writer-shards",
    );
}

#[test]
fn keys_generate_prints_a_usable_line() {
    let out = gateway(&["keys", "generate", "--id", "2026-11"], &[]);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    assert!(line.starts_with("2026-11:"));
    gateway::crypto::Keyring::parse(line).expect("the printed line is a valid keyring");
    assert!(
        !gateway(&["keys", "generate", "--id", "bad id"], &[])
            .status
            .success()
    );
}

#[test]
fn migrate_up_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("GATEWAY_DATA_DIR", dir.path().to_str().unwrap())];
    let status = String::from_utf8(gateway(&["migrate", "status"], &env).stdout).unwrap();
    assert!(
        status.lines().count() >= 12 && status.lines().all(|l| l.starts_with("Pending")),
        "{status}"
    );
    let up = gateway(&["migrate", "up"], &env);
    assert!(up.status.success());
    let all = <migration::Migrator as migration::MigratorTrait>::migrations().len();
    assert!(String::from_utf8_lossy(&up.stdout).contains(&format!("applied {all} migration(s)")));
    let status = String::from_utf8(gateway(&["migrate", "status"], &env).stdout).unwrap();
    assert!(status.lines().all(|l| l.starts_with("Applied")), "{status}");
}

#[test]
fn tenants_bootstrap_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("GATEWAY_DATA_DIR", dir.path().to_str().unwrap())];
    let created = gateway(
        &[
            "tenants",
            "create",
            "--slug",
            "corner-cafe",
            "--name",
            "Corner Café",
        ],
        &env,
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let line = String::from_utf8(created.stdout).unwrap();
    assert!(line.contains("\tcorner-cafe\tCorner Café"), "{line}");
    let bad = gateway(
        &["tenants", "create", "--slug", "Bad Slug", "--name", "x"],
        &env,
    );
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("slug"));
    let list = String::from_utf8(gateway(&["tenants", "list"], &env).stdout).unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.contains("\tcorner-cafe\tactive\tCorner Café"),
        "{list}"
    );
}
