//! The publisher against a simulated host: simulated clocks (sleep advances time instantly)
//! and a scripted proxy that can be down for chosen periods.
use super::*;
use alloc::string::ToString;
use alloc::vec::Vec;

const SEC: u64 = 1_000_000_000;
const EPOCH: u64 = 1_742_992_496 * SEC;

/// What the simulated proxy does at a given moment.
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    Filtered,
    Status(u32),
    /// A status with `Retry-After: N` seconds.
    StatusRetryAfter(u32, u32),
    Fail(HttpError),
}

struct FakeHost {
    now: u64,
    /// (from, until, answer) in simulated ns; outside every window the proxy answers Ok.
    script: Vec<(u64, u64, Answer)>,
    /// (time, body) of every POST the proxy accepted with 2xx.
    received: Vec<(u64, String)>,
    posts: usize,
    health_checks: usize,
    logs: Vec<String>,
    stdout: String,
    /// Time spent in each http call (a real request is not instantaneous).
    call_cost: u64,
    /// (sequence, status): the proxy always answers this sequence with this status.
    refuse: Vec<(u64, u32)>,
    /// (time, sequence) of every POST, answered or not.
    attempts: Vec<(u64, u64)>,
    /// The header lines every POST must carry.
    expected_headers: String,
}

impl FakeHost {
    fn new(script: &[(u64, u64, Answer)]) -> FakeHost {
        FakeHost {
            now: 0,
            script: script.to_vec(),
            received: Vec::new(),
            posts: 0,
            health_checks: 0,
            logs: Vec::new(),
            stdout: String::new(),
            call_cost: 1_000_000,
            refuse: Vec::new(),
            attempts: Vec::new(),
            expected_headers: "Content-Type: application/json".to_string(),
        }
    }

    fn refusing(mut self, refuse: &[(u64, u32)]) -> FakeHost {
        self.refuse = refuse.to_vec();
        self
    }

    fn answer(&self) -> Answer {
        self.script
            .iter()
            .find(|(from, until, _)| (*from..*until).contains(&self.now))
            .map(|(_, _, a)| *a)
            .unwrap_or(Answer::Ok)
    }

    fn sequences(&self) -> Vec<u64> {
        self.received
            .iter()
            .map(|(_, b)| field(b, "sequence").parse().unwrap())
            .collect()
    }

    fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.contains(needle))
    }
}

/// The raw JSON text of a top-level field (good enough for our own flat messages).
fn field(body: &str, name: &str) -> String {
    let key = alloc::format!("\"{name}\":");
    let start = body.find(&key).unwrap() + key.len();
    let rest = &body[start..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"').to_string()
}

impl Host for FakeHost {
    fn monotonic_ns(&mut self) -> u64 {
        self.now
    }
    fn realtime_ns(&mut self) -> u64 {
        EPOCH + self.now
    }
    fn sleep_ns(&mut self, ns: u64) {
        assert!(ns > 0, "sleeping 0 would spin");
        self.now += ns;
    }
    fn http(
        &mut self,
        method: Method,
        url: &str,
        headers: &str,
        body: &[u8],
    ) -> Result<Reply, HttpError> {
        self.now += self.call_cost;
        let mut answer = self.answer();
        if method == Method::Get {
            assert!(url.ends_with("/health"), "{url}");
            self.health_checks += 1;
        } else {
            assert!(url.ends_with("/send"), "{url}");
            assert_eq!(headers, self.expected_headers);
            self.posts += 1;
            let text = core::str::from_utf8(body).unwrap();
            let sequence: u64 = field(text, "sequence").parse().unwrap();
            self.attempts.push((self.now, sequence));
            if let Some((_, status)) = self.refuse.iter().find(|(s, _)| *s == sequence) {
                answer = Answer::Status(*status);
            }
        }
        match answer {
            Answer::Ok | Answer::Filtered => {
                if method == Method::Post {
                    self.received
                        .push((self.now, String::from_utf8(body.to_vec()).unwrap()));
                }
                Ok(Reply {
                    status: 200,
                    filtered: matches!(answer, Answer::Filtered),
                    retry_after_secs: None,
                })
            }
            Answer::Status(s) => Ok(Reply {
                status: s,
                filtered: false,
                retry_after_secs: None,
            }),
            Answer::StatusRetryAfter(s, secs) => Ok(Reply {
                status: s,
                filtered: false,
                retry_after_secs: Some(secs),
            }),
            Answer::Fail(e) => Err(e),
        }
    }
    fn log(&mut self, line: &str) {
        self.logs.push(line.to_string());
    }
    fn print(&mut self, text: &str) {
        self.stdout.push_str(text);
    }
}

fn argv(extra: &[&str]) -> Vec<String> {
    let mut v = alloc::vec![
        "".to_string(),
        "--proxy=http://proxy:9091".into(),
        "--region=us".into()
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn env() -> Vec<String> {
    [
        "BACALHAU_JOB_ID=j-1",
        "BACALHAU_EXECUTION_ID=e-1",
        "HOSTNAME=edge-us-0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn assert_consecutive(seqs: &[u64], first: u64) {
    for (i, s) in seqs.iter().enumerate() {
        assert_eq!(*s, first + i as u64, "sequence gap or reorder in {seqs:?}");
    }
}

#[test]
fn steady_state_sends_one_message_per_interval_with_the_schema() {
    let mut h = FakeHost::new(&[]);
    let code = run(
        &mut h,
        &argv(&[
            "--interval=1",
            "--max-messages=5",
            "--color=#FF0000",
            "--emoji=0",
            "--submission-time=1",
        ]),
        &env(),
    );
    assert_eq!(code, 0);
    assert_consecutive(&h.sequences(), 1);
    assert_eq!(h.received.len(), 5);
    assert_eq!(h.posts, 5, "no retries when all is well");
    let first = &h.received[0].1;
    assert_eq!(
        *first,
        "{\"job_id\":\"j-1\",\"execution_id\":\"e-1\",\"hostname\":\"edge-us-0\",\"job_submission_time\":1,\
         \"icon_name\":\"🚀\",\"timestamp\":\"2025-03-26T12:34:56.001Z\",\"color\":\"#FF0000\",\"sequence\":1,\"region\":\"us\"}"
    );
    let times: Vec<u64> = h.received.iter().map(|(t, _)| *t).collect();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (SEC - SEC / 100..=SEC + SEC / 100).contains(&gap),
            "interval drifted: {gap}"
        );
    }
    assert_eq!(
        field(&h.received[4].1, "timestamp"),
        "2025-03-26T12:35:00.001Z"
    );
}

#[test]
fn fractional_interval_paces_messages() {
    let mut h = FakeHost::new(&[]);
    assert_eq!(
        run(
            &mut h,
            &argv(&["--interval=0.2", "--max-messages=11"]),
            &env()
        ),
        0
    );
    let span = h.received[10].0 - h.received[0].0;
    assert!(
        (2 * SEC - SEC / 50..=2 * SEC + SEC / 50).contains(&span),
        "{span}"
    );
}

#[test]
fn outage_loses_nothing_and_flushes_the_backlog_promptly() {
    let (down, up) = (3 * SEC + SEC / 2, 30 * SEC);
    let mut h = FakeHost::new(&[(down, up, Answer::Fail(HttpError::NETWORK))]);
    assert_eq!(
        run(
            &mut h,
            &argv(&["--interval=1", "--max-messages=40"]),
            &env()
        ),
        0
    );
    let seqs = h.sequences();
    assert_consecutive(&seqs, 1);
    assert_eq!(
        seqs.len(),
        40,
        "every generated message arrives exactly once"
    );
    // The ~27 messages held during the outage arrive within the 5 s retry cap of the
    // proxy's return, back to back, not one per interval.
    let backlog: Vec<u64> = h
        .received
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t >= up)
        .collect();
    let flushed_by = up + 5 * SEC + SEC / 10;
    let in_flush = backlog.iter().filter(|t| **t <= flushed_by).count();
    assert!(
        in_flush >= 26,
        "only {in_flush} of the backlog flushed promptly"
    );
    // Retries back off: far fewer than one attempt per 10 ms of outage.
    assert!(h.posts < 40 + 40, "too many attempts: {}", h.posts);
    assert!(
        h.logged("proxy unreachable (network error): holding 1 message(s) from sequence 5"),
        "{:?}",
        h.logs
    );
    assert!(h.logged("delivered backlog of"), "{:?}", h.logs);
}

#[test]
fn non_2xx_answers_are_retried_until_acknowledged() {
    let mut h = FakeHost::new(&[(SEC / 2, 4 * SEC, Answer::Status(500))]);
    assert_eq!(
        run(&mut h, &argv(&["--interval=1", "--max-messages=8"]), &env()),
        0
    );
    assert_consecutive(&h.sequences(), 1);
    assert_eq!(h.received.len(), 8);
    assert!(h.logged("HTTP 500"), "{:?}", h.logs);
}

#[test]
fn overflow_drops_the_oldest_and_says_how_many() {
    let (down, up) = (SEC / 2, 20 * SEC);
    let mut h = FakeHost::new(&[(down, up, Answer::Fail(HttpError::NETWORK))]);
    assert_eq!(
        run(
            &mut h,
            &argv(&["--interval=1", "--max-messages=25", "--outbox=5"]),
            &env()
        ),
        0
    );
    let seqs = h.sequences();
    // Message 1 went out before the outage; of the ~19 generated during it only the newest
    // 5 were kept; everything after the outage arrives.
    assert_eq!(seqs[0], 1);
    assert_consecutive(&seqs[1..], seqs[1]);
    assert_eq!(*seqs.last().unwrap(), 25);
    let dropped = 25 - seqs.len() as u64;
    assert!(dropped >= 10, "{seqs:?}");
    assert!(h.logged("outbox full (5 messages)"), "{:?}", h.logs);
    let summary = alloc::format!("dropped {dropped} oldest");
    assert!(h.logged(&summary), "{summary}: {:?}", h.logs);
}

#[test]
fn filtered_counts_as_delivered() {
    let mut h = FakeHost::new(&[(0, u64::MAX, Answer::Filtered)]);
    assert_eq!(
        run(&mut h, &argv(&["--interval=1", "--max-messages=4"]), &env()),
        0
    );
    assert_eq!(h.posts, 4, "filtered messages are not re-sent");
    assert!(h.logged("proxy filtered message 1"), "{:?}", h.logs);
}

#[test]
fn health_wait_retries_then_succeeds() {
    let mut h = FakeHost::new(&[(0, 3 * SEC, Answer::Status(503))]);
    assert_eq!(
        run(&mut h, &argv(&["--interval=1", "--max-messages=1"]), &env()),
        0
    );
    assert!(
        h.health_checks >= 3 && h.health_checks < 20,
        "{}",
        h.health_checks
    );
    assert!(
        h.logged("waiting for http://proxy:9091/health (HTTP 503)"),
        "{:?}",
        h.logs
    );
    assert!(h.received[0].0 >= 3 * SEC);
}

#[test]
fn health_timeout_exits_1() {
    let mut h = FakeHost::new(&[(0, u64::MAX, Answer::Fail(HttpError::NETWORK))]);
    assert_eq!(run(&mut h, &argv(&["--health-timeout=10"]), &env()), 1);
    assert_eq!(h.posts, 0);
    assert!(h.now >= 10 * SEC && h.now < 11 * SEC, "{}", h.now);
    assert!(
        h.logged("did not answer 200 within 10000 ms (last: network error)"),
        "{:?}",
        h.logs
    );
}

#[test]
fn a_forbidden_host_fails_at_once() {
    let mut h = FakeHost::new(&[(0, u64::MAX, Answer::Fail(HttpError::NOT_ALLOWED))]);
    assert_eq!(run(&mut h, &argv(&[]), &env()), 1);
    assert_eq!(h.health_checks, 1);
    assert!(h.logged("not allowed"), "{:?}", h.logs);
}

#[test]
fn bad_flags_exit_2_and_help_exits_0() {
    let mut h = FakeHost::new(&[]);
    assert_eq!(run(&mut h, &argv(&["--bogus"]), &env()), 2);
    assert!(h.logged("error: unknown flag '--bogus'"), "{:?}", h.logs);
    assert_eq!(h.health_checks, 0);
    let mut h = FakeHost::new(&[]);
    assert_eq!(run(&mut h, &["".to_string(), "--help".to_string()], &[]), 0);
    assert!(h.stdout.starts_with("usage: sqs-publisher"));
}

#[test]
fn random_colour_and_emoji_differ_between_nodes() {
    let mut colours = Vec::new();
    for i in 0..8 {
        let mut h = FakeHost::new(&[]);
        let env = [
            alloc::format!("HOSTNAME=edge-us-{i}"),
            alloc::format!("BACALHAU_EXECUTION_ID=e-{i}"),
        ];
        assert_eq!(run(&mut h, &argv(&["--max-messages=1"]), &env), 0);
        let body = &h.received[0].1;
        let colour = field(body, "color");
        assert!(colour.len() == 7 && colour.starts_with('#'), "{colour}");
        assert!(EMOJIS.contains(&field(body, "icon_name").as_str()));
        colours.push(colour);
    }
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 1, "every node picked the same colour");
}

#[test]
fn region_and_hostname_from_the_environment() {
    let mut h = FakeHost::new(&[]);
    let args = [
        "".to_string(),
        "--proxy=http://p".to_string(),
        "--max-messages=1".to_string(),
    ];
    assert_eq!(run(&mut h, &args, &["REGION=eu".to_string()]), 0);
    assert_eq!(field(&h.received[0].1, "region"), "eu");
    assert_eq!(field(&h.received[0].1, "hostname"), "unknown");
}

/// Unix ms of an RFC 3339 `...SS.mmmZ` timestamp within the test's day (EPOCH's date).
fn ms_of_day(ts: &str) -> u64 {
    let (h, m, s, ms) = (&ts[11..13], &ts[14..16], &ts[17..19], &ts[20..23]);
    [(h, 3_600_000), (m, 60_000), (s, 1_000), (ms, 1)]
        .iter()
        .map(|(v, unit)| v.parse::<u64>().unwrap() * unit)
        .sum()
}

#[test]
fn a_resent_message_keeps_its_original_millisecond_timestamp() {
    let (down, up) = (2 * SEC + SEC / 2, 6 * SEC + SEC / 3);
    let mut h = FakeHost::new(&[(down, up, Answer::Fail(HttpError::NETWORK))]);
    assert_eq!(
        run(&mut h, &argv(&["--interval=1", "--max-messages=8"]), &env()),
        0
    );
    assert_consecutive(&h.sequences(), 1);
    let day_start = ms_of_day("2025-03-26T12:34:56.000Z");
    for (at, body) in &h.received {
        let sequence: u64 = field(body, "sequence").parse().unwrap();
        let ts = field(body, "timestamp");
        assert_eq!(ts.len(), 24, "{ts}");
        // Generated at 1 ms + (sequence - 1) s of simulated time, whenever it was sent.
        let generated = day_start + 1 + (sequence - 1) * 1_000;
        assert_eq!(ms_of_day(&ts), generated, "{body}");
        if (4..=6).contains(&sequence) {
            assert!(*at >= up, "message {sequence} was held through the outage");
        }
    }
}

#[test]
fn permanent_statuses_drop_that_message_only_and_count_it() {
    for status in status::PERMANENT {
        let mut h = FakeHost::new(&[]).refusing(&[(3, status), (5, status)]);
        assert_eq!(
            run(&mut h, &argv(&["--interval=1", "--max-messages=7"]), &env()),
            0
        );
        assert_eq!(h.sequences(), [1, 2, 4, 6, 7], "HTTP {status}");
        assert_eq!(h.posts, 7, "HTTP {status}: a refused message is not resent");
        let line = alloc::format!("proxy refused message 3 with HTTP {status}: dropped it");
        assert!(h.logged(&line), "{line}: {:?}", h.logs);
        let by_seq = |seq: u64| {
            h.received
                .iter()
                .map(|(_, b)| b)
                .find(|b| field(b, "sequence") == seq.to_string())
                .unwrap()
                .clone()
        };
        assert!(!by_seq(2).contains("dropped_"), "{}", by_seq(2));
        assert_eq!(field(&by_seq(4), "dropped_permanent"), "1");
        assert_eq!(field(&by_seq(7), "dropped_permanent"), "2");
        assert!(!by_seq(7).contains("dropped_overflow"));
        assert!(
            h.logged("delivered 5 of 7 (2 refused by the proxy, 0 dropped from a full outbox)"),
            "{:?}",
            h.logs
        );
    }
}

#[test]
fn transient_statuses_keep_the_message_until_it_is_accepted() {
    for status in [401, 403, 408, 425, 429, 500, 502, 503, 504] {
        let mut h = FakeHost::new(&[(SEC + SEC / 2, 4 * SEC, Answer::Status(status))]);
        assert_eq!(
            run(&mut h, &argv(&["--interval=1", "--max-messages=6"]), &env()),
            0
        );
        assert_consecutive(&h.sequences(), 1);
        assert_eq!(h.received.len(), 6, "HTTP {status}");
        assert!(h.posts > 6, "HTTP {status} was retried");
        assert!(h.received.iter().all(|(_, b)| !b.contains("dropped_")));
        let line = alloc::format!("proxy unreachable (HTTP {status})");
        assert!(h.logged(&line), "{line}: {:?}", h.logs);
    }
}

#[test]
fn retry_after_paces_the_retries() {
    let mut h = FakeHost::new(&[(SEC + SEC / 2, 8 * SEC, Answer::StatusRetryAfter(503, 3))]);
    assert_eq!(
        run(
            &mut h,
            &argv(&["--interval=1", "--max-messages=10"]),
            &env()
        ),
        0
    );
    assert_consecutive(&h.sequences(), 1);
    let retries: Vec<u64> = h
        .attempts
        .iter()
        .filter(|(_, seq)| *seq == 3)
        .map(|(t, _)| *t)
        .collect();
    assert!(retries.len() >= 3, "{retries:?}");
    for pair in retries.windows(2) {
        let gap = pair[1] - pair[0];
        // 3 s asked, up to 10 % jitter on top, plus the call itself.
        assert!(
            (3 * SEC..=3 * SEC + 3 * SEC / 10 + SEC / 100).contains(&gap),
            "retry after {gap} ns, not the 3 s the proxy asked for"
        );
    }
}

#[test]
fn overflow_drops_ride_along_in_later_messages() {
    let mut h = FakeHost::new(&[(SEC / 2, 12 * SEC, Answer::Fail(HttpError::NETWORK))]);
    assert_eq!(
        run(
            &mut h,
            &argv(&["--interval=1", "--max-messages=16", "--outbox=4"]),
            &env()
        ),
        0
    );
    let seqs = h.sequences();
    let dropped = 16 - seqs.len() as u64;
    assert!(dropped > 0, "{seqs:?}");
    assert!(!h.received[0].1.contains("dropped_"));
    let last = &h.received.last().unwrap().1;
    assert_eq!(field(last, "dropped_overflow"), dropped.to_string());
    assert!(!last.contains("dropped_permanent"));
    // The first message after the gap already explains it.
    assert_eq!(
        field(&h.received[1].1, "dropped_overflow"),
        dropped.to_string()
    );
}

#[test]
fn proxy_token_goes_with_every_send_and_never_into_the_log() {
    let mut h = FakeHost::new(&[]);
    h.expected_headers =
        "Content-Type: application/json\nAuthorization: Bearer s3cr3t-token".to_string();
    let mut env = env();
    env.push("PROXY_TOKEN=s3cr3t-token".to_string());
    assert_eq!(
        run(&mut h, &argv(&["--interval=1", "--max-messages=3"]), &env),
        0
    );
    assert_eq!(h.sequences(), [1, 2, 3]);
    assert!(h.logged("bearer token from PROXY_TOKEN"));
    assert!(!h.logs.iter().any(|l| l.contains("s3cr3t")), "{:?}", h.logs);
}

#[test]
fn a_malformed_proxy_token_exits_2_without_showing_it() {
    let mut h = FakeHost::new(&[]);
    let mut env = env();
    env.push("PROXY_TOKEN=two words".to_string());
    assert_eq!(run(&mut h, &argv(&[]), &env), 2);
    assert_eq!(h.posts + h.health_checks, 0);
    assert!(h.logged("PROXY_TOKEN"));
    assert!(!h.logs.iter().any(|l| l.contains("two words")));
}
