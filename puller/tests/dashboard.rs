//! `puller --dashboard`: the real puller drains a LocalStack queue fed with a small simulated
//! fleet, and the page is loaded in a real browser (headless Chromium, installed by
//! scripts/setup). The rendered DOM must show the sensors, colours and counts that were sent,
//! a hostile hostname must stay text, and the JSON endpoint, auth and limits get plain HTTP
//! tests. A 10,000-sensor fleet is drawn on canvases and its render time printed.
mod util;

use edge_tests::browser::{visit, Visit};
use edge_tests::net::{free_port, request};
use edge_tests::wait_until;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;
use util::{scratch, signal, wait_exit, Queue};

const HOSTILE_HOST: &str = "<img src=x onerror=\"document.title='pwned'\">";

fn body(
    host: &str,
    exec: &str,
    region: &str,
    color: &str,
    icon: &str,
    version: u32,
    seq: u64,
) -> String {
    serde_json::json!({
        "job_id": "job-1", "execution_id": exec, "hostname": host,
        "job_submission_time": version, "icon_name": icon,
        "timestamp": now_rfc3339(), "color": color,
        "sequence": seq, "region": region,
    })
    .to_string()
}

/// Now as the sensors write it (`2026-12-03T07:53:41.123Z`), so latencies are real.
fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    sigv4::date_time::format_rfc3339_ms(ms)
}

/// The fleet the tests send: us v1 red (3 hosts, one of them hostile), eu v1 blue (2 hosts,
/// one with a gap), as v2 green (1 host). Returns the bodies.
fn small_fleet() -> Vec<String> {
    let mut bodies = Vec::new();
    for (host, exec) in [
        ("edge-us-0", "us0"),
        ("edge-us-1", "us1"),
        (HOSTILE_HOST, "us2"),
    ] {
        for seq in 1..=3 {
            bodies.push(body(host, exec, "us", "#FF0000", "🚀", 1, seq));
        }
    }
    for seq in [1, 2, 3] {
        bodies.push(body("edge-eu-0", "eu0", "eu", "#0000FF", "📡", 1, seq));
    }
    for seq in [1, 2, 5] {
        bodies.push(body("edge-eu-1", "eu1", "eu", "#0000FF", "📡", 1, seq));
    }
    bodies.push(body("edge-as-0", "as0", "as", "#00FF00", "💡", 2, 1));
    bodies
}

struct Puller {
    child: Child,
    addr: SocketAddr,
}

impl Puller {
    fn start(queue: &Queue, extra: &[&str]) -> Puller {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let addr_text = addr.to_string();
        let mut args = vec!["--dashboard", addr_text.as_str()];
        args.extend_from_slice(&["--format", "json", "--wait-seconds", "1"]);
        args.extend_from_slice(extra);
        let child = queue
            .puller(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start puller");
        assert!(
            edge_tests::net::wait_for_port(addr, Duration::from_secs(10)),
            "dashboard never listened on {addr}"
        );
        Puller { child, addr }
    }

    fn fleet(&self, token: Option<&str>) -> Value {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let r = request(self.addr, "GET", "/api/fleet", &headers, b"").expect("GET /api/fleet");
        assert_eq!(r.status, 200, "{}", r.body_text());
        r.json()
    }

    fn wait_for_sensors(&self, n: usize, token: Option<&str>) -> Value {
        let mut last = Value::Null;
        wait_until(
            &format!("{n} sensors on the dashboard"),
            Duration::from_secs(120),
            || {
                last = self.fleet(token);
                last["sensors"].as_array().map_or(0, Vec::len) >= n
            },
        );
        last
    }

    fn stop(mut self) {
        signal(&self.child, "TERM");
        wait_exit(&mut self.child, Duration::from_secs(30));
    }
}

/// Every cell of the grid as [host, colour, region, text].
const CELLS_JS: &str = "JSON.stringify([...document.querySelectorAll('.cell')].map(c => \
    [c.dataset.host, c.dataset.color, c.closest('.region').dataset.region, c.textContent]))";
/// Every row of the group table as its cells' texts.
const GROUPS_JS: &str = "JSON.stringify([...document.querySelectorAll('#groups tbody tr')]\
    .map(tr => [...tr.children].map(td => td.textContent)))";
/// Hovers the cell of edge-eu-1 and returns the tooltip's text.
const HOVER_JS: &str =
    "(() => { const c = document.querySelector('.cell[data-host=\"edge-eu-1\"]'); \
    c.dispatchEvent(new MouseEvent('mousemove', {clientX: 20, clientY: 20})); \
    return document.getElementById('tip').textContent; })()";

fn parsed(v: &Value, name: &str) -> Value {
    serde_json::from_str(
        v[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} missing: {v}")),
    )
    .expect("page JSON")
}

#[test]
fn the_page_shows_the_fleet_that_was_sent() {
    let mut queue = Queue::new("dash-page");
    queue.send_all(&small_fleet());
    let puller = Puller::start(&queue, &[]);
    let fleet = puller.wait_for_sensors(6, None);
    assert_eq!(fleet["messages"], 16);

    let shot = scratch("dashboard-shot").join("dashboard.png");
    let url = format!("http://{}/", puller.addr);
    let page = visit(&Visit {
        url: &url,
        ready:
            "document.querySelectorAll('.cell').length >= 6 && document.body.dataset.renders >= 2",
        timeout: Duration::from_secs(30),
        eval: &[
            ("cells", CELLS_JS),
            ("groups", GROUPS_JS),
            ("tip", HOVER_JS),
            ("tip_hidden", "(hideTip(), true)"),
            ("title", "document.title"),
            ("images", "document.querySelectorAll('img').length"),
            ("render_ms", "document.body.dataset.renderMs"),
        ],
        screenshot: Some(&shot),
    });
    let cells = parsed(&page, "cells");
    let cell = |host: &str| -> Vec<String> {
        let found = cells
            .as_array()
            .expect("cells")
            .iter()
            .find(|c| c[0] == host);
        let found = found.unwrap_or_else(|| panic!("no cell for {host:?} in {cells}"));
        found
            .as_array()
            .expect("cell")
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect()
    };
    for (host, color, region, icon) in [
        ("edge-us-0", "#ff0000", "us", "🚀"),
        ("edge-us-1", "#ff0000", "us", "🚀"),
        ("edge-eu-0", "#0000ff", "eu", "📡"),
        ("edge-eu-1", "#0000ff", "eu", "📡"),
        ("edge-as-0", "#00ff00", "as", "💡"),
    ] {
        assert_eq!(cell(host), [host, color, region, icon]);
    }
    // The hostile hostname is shown as text and never became an element or ran.
    assert_eq!(cell(HOSTILE_HOST)[1], "#ff0000");
    assert_eq!(page["images"], 0, "a hostname became markup");
    assert_eq!(
        page["title"], "edge sensors · fleet",
        "a hostname ran script"
    );

    let groups = parsed(&page, "groups");
    let row = |region: &str, version: &str| -> Vec<String> {
        let found = groups
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r[0] == region && r[1] == version);
        let found = found.unwrap_or_else(|| panic!("no row {region} {version} in {groups}"));
        found
            .as_array()
            .expect("row")
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect()
    };
    // Columns: region, version, msg/s, messages, superseded, gaps, dropped at source,
    // duplicates, p50, p99.
    assert_eq!(
        (row("us", "v1")[3].as_str(), row("us", "v1")[5].as_str()),
        ("9", "0")
    );
    let eu = row("eu", "v1");
    assert_eq!(
        (eu[3].as_str(), eu[5].as_str()),
        ("6", "2"),
        "edge-eu-1 skipped 3 and 4"
    );
    assert_eq!(row("as", "v2")[3], "1");

    let tip = page["tip"].as_str().expect("tooltip");
    for part in [
        "edge-eu-1",
        "execution eu1",
        "version v1",
        "sequence 5",
        "last heard",
    ] {
        assert!(tip.contains(part), "tooltip lacks {part:?}: {tip}");
    }
    // Silent sensors fade and silent regions go dark (thresholds shortened through the
    // page's own ?fresh=&dark= parameters, which operators use for rarely reporting fleets).
    let url = format!("http://{}/?fresh=1&dark=3", puller.addr);
    let dark = visit(&Visit {
        url: &url,
        ready: "document.querySelectorAll('section.region.dark').length === 3",
        timeout: Duration::from_secs(30),
        eval: &[
            (
                "state",
                "document.querySelector('section[data-region=\"us\"] .state').textContent",
            ),
            (
                "opacity",
                "Number(document.querySelector('.cell[data-host=\"edge-us-0\"]').style.opacity)",
            ),
        ],
        screenshot: None,
    });
    assert!(
        dark["state"]
            .as_str()
            .is_some_and(|s| s.starts_with("dark for ")),
        "{dark}"
    );
    assert!(dark["opacity"].as_f64().is_some_and(|o| o < 1.0), "{dark}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    keep_screenshot(&shot);
    eprintln!(
        "dashboard: {} sensors, render p95 {} ms",
        cells.as_array().map_or(0, Vec::len),
        page["render_ms"]
    );
    puller.stop();
}

/// `DASHBOARD_SCREENSHOT=PATH` keeps the test's screenshot (how docs/dashboard.png is made).
fn keep_screenshot(shot: &Path) {
    if let Some(dest) = std::env::var_os("DASHBOARD_SCREENSHOT").map(PathBuf::from) {
        std::fs::copy(shot, &dest).expect("copy the screenshot");
    }
}

#[test]
fn json_endpoint_limits_and_token() {
    let mut queue = Queue::new("dash-http");
    queue.send_all(&small_fleet()[..3]);
    let dir = scratch("dash-token");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "# rotated weekly\nold-token\nnew-token\n").expect("token file");
    let puller = Puller::start(
        &queue,
        &["--dashboard-token-file", tokens.to_str().expect("utf8")],
    );

    let open = request(puller.addr, "GET", "/api/fleet", &[], b"").expect("GET");
    assert_eq!(open.status, 401);
    assert_eq!(
        open.header("WWW-Authenticate"),
        Some("Bearer realm=\"puller dashboard\"")
    );
    let wrong = request(
        puller.addr,
        "GET",
        "/",
        &[("Authorization", "Bearer nope")],
        b"",
    )
    .expect("GET");
    assert_eq!(wrong.status, 401);
    let fleet = puller.wait_for_sensors(1, Some("old-token"));
    let row = &fleet["sensors"][0];
    assert_eq!(
        (row[1].as_str(), row[4].as_str(), row[6].as_u64()),
        (Some("edge-us-0"), Some("#ff0000"), Some(3))
    );
    let page = request(puller.addr, "GET", "/?token=new-token", &[], b"").expect("GET /");
    assert_eq!(page.status, 200);
    assert!(page
        .header("Content-Security-Policy")
        .is_some_and(|c| c.contains("default-src 'none'")));
    assert!(page.body_text().contains("edge sensors · fleet"));

    let auth = [("Authorization", "Bearer new-token")];
    assert_eq!(
        request(puller.addr, "GET", "/nope", &auth, b"")
            .expect("GET")
            .status,
        404
    );
    assert_eq!(
        request(puller.addr, "POST", "/api/fleet", &auth, b"x")
            .expect("POST")
            .status,
        405
    );
    let garbage =
        edge_tests::net::raw_exchange(puller.addr, b"\x16\x03\x01garbage\r\n\r\n").expect("raw");
    assert_eq!(garbage.status, 400);
    puller.stop();
}

#[test]
fn ten_thousand_sensors_are_drawn_on_canvas() {
    const SENSORS: usize = 10_000;
    let mut queue = Queue::new("dash-scale");
    let colors = ["#FF0000", "#0000FF", "#00FF00", "#800080"];
    let bodies: Vec<String> = (0..SENSORS)
        .map(|i| {
            let region = ["us", "eu", "as"][i % 3];
            body(
                &format!("edge-{region}-{i}"),
                &format!("x{i}"),
                region,
                colors[i % 4],
                "⚡",
                1,
                1,
            )
        })
        .collect();
    queue.send_all(&bodies);
    let puller = Puller::start(&queue, &["--concurrency", "8"]);
    puller.wait_for_sensors(SENSORS, None);
    let url = format!("http://{}/", puller.addr);
    let page = visit(&Visit {
        url: &url,
        ready: "document.body.dataset.mode === 'canvas' && document.body.dataset.renders >= 5",
        timeout: Duration::from_secs(60),
        eval: &[
            ("cells", "document.querySelectorAll('.cell').length"),
            (
                "per_region",
                "JSON.stringify([...document.querySelectorAll('section.region')]\
                .map(s => [s.dataset.region, Number(s.dataset.sensors)]))",
            ),
            (
                "corner",
                "JSON.stringify([...document.querySelector('canvas.cells')\
                .getContext('2d').getImageData(1, 1, 1, 1).data])",
            ),
            ("render_ms", "document.body.dataset.renderMs"),
        ],
        screenshot: None,
    });
    assert_eq!(page["cells"], 0, "no per-sensor elements in canvas mode");
    let per_region = parsed(&page, "per_region");
    let total: u64 = per_region
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| r[1].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, SENSORS as u64, "{per_region}");
    // The first panel is "as" (regions are sorted); its first cell is its smallest hostname.
    let first = (0..SENSORS)
        .filter(|i| i % 3 == 2)
        .min_by_key(|i| format!("edge-as-{i}"));
    let rgb = match colors[first.expect("an as sensor") % 4] {
        "#FF0000" => [255, 0, 0],
        "#0000FF" => [0, 0, 255],
        "#00FF00" => [0, 255, 0],
        _ => [128, 0, 128],
    };
    // Colour exact; alpha is below 255 once the sensor starts to fade (silent > 10 s).
    let corner = parsed(&page, "corner");
    assert_eq!(
        corner.as_array().map(|c| c[..3].to_vec()),
        Some(serde_json::json!(rgb).as_array().expect("rgb").clone())
    );
    assert!(corner[3].as_u64() >= Some(38), "cell drawn: {corner}");
    eprintln!(
        "dashboard: {SENSORS} sensors on canvas, render p95 {} ms (headless Chromium)",
        page["render_ms"]
    );
    puller.stop();
}
