//! The proxy picks its credentials as the AWS SDKs do: here with no keys in its environment,
//! from a `credential_process` in the profile named by `--profile`.
mod util;

use std::process::{Command, Stdio};
use std::time::Duration;

use edge_tests::net;
use util::{sensor_body, Queue};

#[test]
fn profile_flag_selects_a_credential_process() {
    let mut queue = Queue::new("proxy-profile");
    let dir = std::env::temp_dir().join(edge_tests::unique_name("proxy-profile"));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("process-ran");
    let script = dir.join("creds.sh");
    // LocalStack accepts any key; the marker shows the process was what supplied them.
    std::fs::write(
        &script,
        format!(
            "touch '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"test\", \
             \"SecretAccessKey\": \"test\", \"SessionToken\": \"from-process\", \
             \"Expiration\": \"2099-01-01T00:00:00Z\"}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[default]\naws_access_key_id = wrong\n\n[profile edge]\ncredential_process = sh {}\n",
            script.display()
        ),
    )
    .unwrap();
    let port = net::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--queue-url", &queue.url, "--endpoint-url", &queue.endpoint])
        .args(["--profile", "edge"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("HOME", dir.join("no-home"))
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start proxy");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let healthy = net::wait_for_http_ok(addr, "/health", Duration::from_secs(20));
    let answer = healthy.then(|| {
        net::request(
            addr,
            "POST",
            "/send",
            &[],
            sensor_body("edge-1", 1, 0).as_bytes(),
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy, "proxy did not become healthy");
    let answer = answer.unwrap().expect("POST /send");
    assert_eq!(answer.status, 200, "{}", answer.body_text());
    assert!(marker.exists(), "credential_process was not run");
    assert_eq!(queue.receive_exactly(1).len(), 1);
    std::fs::remove_dir_all(dir).ok();
}
