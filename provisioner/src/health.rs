//! Readiness checks for core services, as the profile defines them: container running, a
//! command inside the container (`docker exec`), or an HTTP GET from the host.
use crate::docker::Docker;
use crate::error::{Error, ErrorKind};
use crate::profile::Health;
use crate::template::Vars;
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(250);

/// Waits until `container` passes `health`, or fails with the reason. A container that has
/// exited fails at once (with its last log lines) rather than after the timeout.
pub fn wait_healthy(
    docker: &Docker,
    container: &str,
    health: &Health,
    vars: &Vars,
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no check completed");
    loop {
        let state = docker
            .states(&[container.to_string()])?
            .into_iter()
            .next()
            .map(|(_, s)| s)
            .unwrap_or_else(|| "missing".into());
        if state != "running" {
            if state != "created" && state != "restarting" {
                return Err(Error::new(ErrorKind::NotRunning {
                    container: container.to_string(),
                    logs: docker.log_tail(container, 10),
                    state,
                }));
            }
        } else {
            match check_once(docker, container, health, vars) {
                Ok(()) => return Ok(()),
                Err(why) => last = why,
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::new(ErrorKind::Unhealthy {
                service: container.to_string(),
                detail: format!("gave up after {}s: {last}", timeout.as_secs()),
            }));
        }
        std::thread::sleep(POLL);
    }
}

/// How long every core service must have been running before `up` believes it: a puller on
/// a queue it cannot read, or a proxy whose configuration is wrong, exits within this.
pub const SETTLE: Duration = Duration::from_secs(5);

/// Waits until each of `services` (container, health, placeholders) has been running for
/// [`SETTLE`] without exiting, then checks each health once more. Fails with the first
/// service that stopped (and its last log lines) or no longer passes its check.
pub fn wait_settled(docker: &Docker, services: &[(String, Health, Vars)]) -> Result<(), Error> {
    let names: Vec<String> = services.iter().map(|(n, _, _)| n.clone()).collect();
    // Bounded: a container that keeps running passes after SETTLE; one that restarts in a
    // loop (a restart policy in a custom profile) fails here rather than spinning forever.
    let deadline = Instant::now() + SETTLE * 4;
    loop {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let states = docker.started(&names)?;
        let mut settled = true;
        for name in &names {
            let (state, started) = states
                .iter()
                .find(|(n, _, _)| n == name)
                .map_or(("missing".to_string(), None), |(_, s, t)| (s.clone(), *t));
            if state != "running" {
                return Err(Error::new(ErrorKind::NotRunning {
                    container: name.clone(),
                    logs: docker.log_tail(name, 10),
                    state,
                }));
            }
            let age_ms = started.map_or(0, |t| now_ms - t);
            settled &= age_ms >= SETTLE.as_millis() as i64;
        }
        if settled {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Error::new(ErrorKind::Unhealthy {
                service: names.join(", "),
                detail: "kept restarting while settling".to_string(),
            }));
        }
        std::thread::sleep(POLL);
    }
    for (name, health, vars) in services {
        check_once(docker, name, health, vars).map_err(|detail| {
            Error::new(ErrorKind::Unhealthy {
                service: name.clone(),
                detail: format!("passed, then failed {}s later: {detail}", SETTLE.as_secs()),
            })
        })?;
    }
    Ok(())
}

fn check_once(
    docker: &Docker,
    container: &str,
    health: &Health,
    vars: &Vars,
) -> Result<(), String> {
    match health {
        Health::Running => Ok(()),
        Health::Exec(cmd) => {
            let mut args = vec!["exec".to_string(), container.to_string()];
            args.extend(vars.expand_all(cmd));
            match docker.succeeds(&args) {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("`{}` failed", vars.expand_all(cmd).join(" "))),
                Err(e) => Err(e.to_string()),
            }
        }
        Health::Http(url) => http_ok(&vars.expand(url)),
    }
}

/// GET `url` (plain http only) and require a 2xx status.
pub fn http_ok(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("health URL must be http://, got {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {authority}"))?;
    let request = http1::once::OneRequest {
        method: "GET",
        target: path,
        host: authority,
        headers: &[],
        body: b"",
    };
    let resp = request
        .send(addr, Duration::from_secs(4), 1 << 20)
        .map_err(|e| format!("GET {url}: {e}"))?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(format!(
            "GET {url} answered {} {}",
            resp.status, resp.reason
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn http_check_accepts_2xx_only() {
        for (reply, ok) in [
            ("HTTP/1.1 200 OK\r\n\r\n", true),
            ("HTTP/1.1 503 Busy\r\n\r\n", false),
        ] {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let server = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().expect("accept");
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf);
                s.write_all(reply.as_bytes()).expect("reply");
            });
            let result = http_ok(&format!("http://127.0.0.1:{port}/health"));
            assert_eq!(result.is_ok(), ok, "{result:?}");
            server.join().expect("server");
        }
        assert!(http_ok("https://x/health").is_err());
    }
}
