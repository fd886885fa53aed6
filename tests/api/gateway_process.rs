//! The gateway binary as operators run it: started on a test database with `serve`, on a free
//! port, killed when dropped.
use crate::helpers::TestDb;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The operator token every process-level test uses.
pub const TOKEN: &str = "process-test-operator-token-0123456789";

pub struct GatewayProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Every line the process wrote to stderr so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl GatewayProcess {
    /// Starts `gateway serve` on `db` with `master` keys, plus `env` (set after the defaults, so
    /// it may override them). Waits until it listens.
    pub fn start(db: &TestDb, master: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with(db, master, env, None)
    }

    /// Like [`start`](Self::start), run through `wrapper` (a program and its arguments, e.g.
    /// `prlimit --nofile=…  --`) when given.
    pub fn start_with(
        db: &TestDb,
        master: &str,
        env: &[(&str, &str)],
        wrapper: Option<(&str, &[&str])>,
    ) -> Self {
        let gateway = env!("CARGO_BIN_EXE_gateway");
        let mut cmd = match wrapper {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(gateway);
                c
            }
            None => Command::new(gateway),
        };
        cmd.arg("serve")
            .env_clear()
            .env("GATEWAY_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_DATA_DIR", db.data_dir())
            .env("GATEWAY_ADMIN_TOKEN", TOKEN)
            .env("GATEWAY_MASTER_KEYS", master)
            .env("GATEWAY_RECONCILE_INTERVAL", "0")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        if let Some(url) = &db.url {
            cmd.env("DATABASE_URL", url);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn the gateway binary");
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on ".len()..];
                    let addr = rest.split_whitespace().next().unwrap_or(rest);
                    let _ = tx.send(addr.trim_end_matches('"').to_owned());
                }
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| {
                // Let the reader take the last lines of a process that exited.
                std::thread::sleep(Duration::from_millis(200));
                let lines = log.lock().map(|l| l.join("\n")).unwrap_or_default();
                panic!("gateway did not start ({e}); its log:\n{lines}")
            });
        Self { child, base, log }
    }

    /// The gateway's process id (the wrapper `exec`s it, so it is the same process).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True when a line of the process's log contains `text`.
    pub fn log_contains(&self, text: &str) -> bool {
        self.log
            .lock()
            .map(|lines| lines.iter().any(|l| l.contains(text)))
            .unwrap_or(false)
    }

    /// Waits (up to `within`) until a line of the log contains `text` (the log is read on a
    /// thread of its own: the last lines of a process that just exited may still be in transit).
    pub fn wait_log(&self, text: &str, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        loop {
            if self.log_contains(text) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, as an orchestrator stops a replica, and waits (up to `within`) for the process to
    /// finish its shutdown; `true` if it exited.
    pub fn terminate(&mut self, within: Duration) -> bool {
        use rustix::process::{Pid, Signal, kill_process};
        let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL: no shutdown hook runs.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}
