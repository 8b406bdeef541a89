//! A local service the tests need (LocalStack, the moto server), started on demand.
//!
//! [`Service::require`] returns the endpoint once the service answers. With its endpoint
//! variable set (e.g. `LOCALSTACK_ENDPOINT`) the tests use that instance and start nothing.
//! Otherwise, when nothing answers at the default address, it runs `scripts/NAME start
//! --no-install` once per test process: the script takes a lock file under
//! `target/services/`, so however many test binaries (cargo test, cargo nextest) start at
//! once exactly one instance is started; it writes its pid file there, and the instance keeps
//! running for later runs until `scripts/NAME stop`. A service that is not installed fails
//! the test with the one command that installs it.
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::net;

pub struct Service {
    /// As people call it: "LocalStack".
    pub name: &'static str,
    /// Under `scripts/`: "localstack".
    pub script: &'static str,
    /// Points the tests at an existing instance: "LOCALSTACK_ENDPOINT".
    pub endpoint_var: &'static str,
    pub default_endpoint: &'static str,
    pub health_path: &'static str,
    /// Whether the health answer says the service is ready.
    pub is_ready: fn(&net::Response) -> bool,
    /// The outcome of this process's start attempt (one per process).
    pub started: &'static OnceLock<Result<(), String>>,
}

impl Service {
    /// The endpoint variable's value, else the default endpoint.
    pub fn endpoint(&self) -> String {
        self.explicit_endpoint()
            .unwrap_or_else(|| self.default_endpoint.to_string())
    }

    fn explicit_endpoint(&self) -> Option<String> {
        std::env::var(self.endpoint_var)
            .ok()
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
    }

    /// host:port of the endpoint.
    pub fn addr(&self) -> std::net::SocketAddr {
        use std::net::ToSocketAddrs;
        let ep = self.endpoint();
        let hostport = ep
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        hostport
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("{} {ep:?} is not host:port", self.endpoint_var))
    }

    pub fn is_answering(&self) -> bool {
        net::request(self.addr(), "GET", self.health_path, &[], b"")
            .map(|r| (self.is_ready)(&r))
            .unwrap_or(false)
    }

    /// The endpoint of a ready instance, starting one if needed (see the module docs);
    /// panics saying what to do when that is impossible. Tests never skip silently.
    pub fn require(&self) -> String {
        let ep = self.endpoint();
        if self.is_answering() {
            return ep;
        }
        if self.explicit_endpoint().is_some() {
            panic!(
                "{} is not answering at {ep} ({} points there, so the tests start nothing). \
                 Start it, or unset {} to let the tests start one.",
                self.name, self.endpoint_var, self.endpoint_var
            );
        }
        if let Err(why) = self.started.get_or_init(|| self.start()) {
            panic!("{why}");
        }
        assert!(
            self.is_answering(),
            "{} was started but does not answer at {ep}",
            self.name
        );
        ep
    }

    /// `target/services/`, where the scripts keep lock, pid and log files for the tests.
    pub fn run_dir() -> PathBuf {
        let target = crate::bins::target_dir();
        target
            .parent()
            .map_or_else(|| target.join("services"), |t| t.join("services"))
    }

    fn start(&self) -> Result<(), String> {
        let script = crate::bins::workspace_root()
            .join("scripts")
            .join(self.script);
        let run_dir = Service::run_dir();
        let out = Command::new(&script)
            .args(["start", "--no-install"])
            .env("EDGE_RUN_DIR", &run_dir)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !out.status.success() {
            return Err(format!(
                "{} is not running at {} and could not be started by `scripts/{} start`:\n{said}",
                self.name, self.default_endpoint, self.script
            ));
        }
        if said.contains("ready at") {
            // Straight to stderr: libtest captures only print!/eprint!, and this note should
            // be seen once even when every test passes.
            let _ = writeln!(
                std::io::stderr(),
                "edge-tests: started {} at {} for the tests (log in {}); it stays up for later \
                 runs: stop it with `scripts/{} stop`",
                self.name,
                self.default_endpoint,
                run_dir.display(),
                self.script
            );
        }
        Ok(())
    }
}
