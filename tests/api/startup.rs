//! Start-up of the real binary: the embedded default needs no environment, generates its token
//! and key files (0600) and logs their paths, never their contents; bad setups fail clearly.
use crate::keys::gateway;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `gateway serve` on the embedded default in `dir` with no environment but a port of
/// its own; its address, and every log line until it listened.
fn start_default(dir: &std::path::Path) -> (std::process::Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("serve")
        .current_dir(dir)
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
    (child, addr, log)
}

#[test]
fn embedded_default_starts_with_no_env_and_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, log) = start_default(dir.path());
    let health = http_get(&addr, "/health");
    child.kill().ok();
    child.wait().ok();
    // Into a pipe (a file, a collector), no terminal colours.
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a piped log:\n{log}"
    );

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

/// `/metrics` right after start: every metric has its `# HELP`, the series an alert reads are
/// there at 0 before their first event, and Prometheus's own linter takes the text.
#[test]
fn metrics_right_after_start_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _) = start_default(dir.path());
    let response = http_get(&addr, "/metrics");
    child.kill().ok();
    child.wait().ok();
    let text = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    for series in [
        "gateway_db_breaker_open 0",
        "gateway_auth_failures_total 0",
        "gateway_http_connections ",
        r#"gateway_rate_limited_total{scope="auth"} 0"#,
        r#"gateway_notifications_total{outcome="blocked"} 0"#,
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP line"
        );
    }
    let Ok(mut promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        // CI installs it (Debian's `prometheus` package): there it must run.
        assert!(std::env::var_os("CI").is_none(), "CI needs promtool");
        eprintln!("promtool not installed: the linter's check is skipped");
        return;
    };
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

/// Beyond loopback, status URLs must name the gateway's public address: no guessing.
#[test]
fn a_public_listen_without_a_public_url_refuses_to_start() {
    serve_refuses(
        "GATEWAY_LISTEN",
        &["0.0.0.0:0"],
        "GATEWAY_PUBLIC_URL is required when listening on 0.0.0.0",
    );
}

#[test]
fn status_cors_origins_must_be_origins() {
    serve_refuses(
        "GATEWAY_STATUS_CORS_ORIGINS",
        &[
            "https://shop.example.com/path",
            "ftp://shop.example.com",
            "shop.example.com",
        ],
        "is not an origin",
    );
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
    // A command's output is what was asked for: no serve-style start-up lines before it.
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(!stderr.contains("INFO"), "{stderr}");
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

/// `gateway openapi | head`: the reader closing the pipe early ends the command quietly, without
/// a panic (it used to panic on the broken pipe).
#[test]
fn openapi_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["openapi", "--yaml"])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here: the rest of the spec meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

/// A command's `--help` shows the settings it may need, not the thirty only `serve` uses.
#[test]
fn a_commands_help_shows_its_own_settings() {
    let help = |args: &[&str]| {
        let out = gateway(args, &[]);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for args in [
        &["tenants", "list", "--help"][..],
        &["reconcile", "--help"],
        &["keys", "rewrap", "-h"],
        &["help", "check-config"],
    ] {
        let text = help(args);
        assert!(text.contains("--database-url"), "{args:?}: {text}");
        for serve_only in ["--listen", "--writer-shards", "--status-cors-origins"] {
            assert!(
                !text.contains(serve_only),
                "{args:?} lists {serve_only}: {text}"
            );
        }
    }
    let serve = help(&["serve", "--help"]);
    assert!(serve.contains("--listen") && serve.contains("--writer-shards"));
    // Still read by every command (hidden from help, not from parsing).
    let listed = gateway(&["--listen", "127.0.0.1:1", "openapi"], &[]);
    assert!(listed.status.success());
}
