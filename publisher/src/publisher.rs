//! The publisher: start-up, the health wait, and the send loop with its outbox.
//!
//! The link to the proxy is an explicit state machine:
//!
//! | state      | event                  | next       | logged                          |
//! |------------|------------------------|------------|---------------------------------|
//! | `Up`       | a send fails           | `Down`     | "proxy unreachable (why): holding N" |
//! | `Down`     | retry due, send fails  | `Down`     | nothing (backoff grows)         |
//! | `Down`     | a send succeeds        | `Draining` | "proxy reachable again"         |
//! | `Draining` | a send fails           | `Down`     | "proxy unreachable ..."         |
//! | `Draining` | outbox empty           | `Up`       | "delivered backlog of N; dropped M" |
//!
//! "Fails" means a network error or a status [`status::verdict`] calls `Retry`; a status it
//! calls `Refused` (400, 413, ...) counts as an answer: that one message is dropped for good,
//! logged with its sequence and counted, and the link is up.
//!
//! Every message gets the next sequence when it is generated and goes to the back of the
//! outbox; only the oldest is ever sent, and it leaves the outbox only when the proxy
//! acknowledges it (any 2xx, `filtered` included) or refuses it for good. So what reaches the
//! proxy is in order and without gaps, except for the oldest messages deliberately dropped
//! when the outbox overflows and the ones refused; both are counted, and the counts ride along
//! in every later message (`dropped_permanent`, `dropped_overflow`). While `Down`, the oldest
//! is retried with jittered exponential backoff, or after the proxy's `Retry-After` when it
//! sent one; once one send succeeds the backlog is flushed back to back, not one per interval.
use crate::config::{self, Choice, Config, Parsed};
use crate::host::{Host, HttpError, LogLine, Method, Reply};
use crate::message::{color_from_bits, Drops, Identity, MessageTemplate, EMOJIS};
use crate::outbox::{Outbox, Pushed};
use crate::rng::{hash, Backoff, Rng};
use crate::status::{self, Verdict};
use alloc::string::String;

const MS: u64 = 1_000_000;
/// Retry pacing while the proxy is away: first retry after ~200 ms, then doubling to 5 s, so
/// a returning proxy is noticed within 5 s.
const RETRY_MIN_NS: u64 = 200 * MS;
const RETRY_MAX_NS: u64 = 5_000 * MS;
const HEALTH_RETRY_MIN_NS: u64 = 250 * MS;

/// Runs the module; returns the process exit code. `args` is the full argv (`argv[0]` is
/// ignored: Bacalhau passes ""), `env` the `KEY=value` environment.
pub fn run(host: &mut impl Host, args: &[String], env: &[String]) -> u32 {
    let (cfg, send_headers) = match configure(host, args, env) {
        Ok(configured) => configured,
        Err(code) => return code,
    };
    let hostname = config::env_lookup(env, "HOSTNAME")
        .filter(|h| !h.is_empty())
        .unwrap_or("unknown");
    let job_id = config::env_lookup(env, "BACALHAU_JOB_ID").unwrap_or("");
    let execution_id = config::env_lookup(env, "BACALHAU_EXECUTION_ID").unwrap_or("");
    // random_get is deterministic under Bacalhau: mix clocks and identity instead.
    let mut rng = Rng::seeded(&[
        host.realtime_ns(),
        host.monotonic_ns(),
        hash(hostname),
        hash(execution_id),
    ]);
    let color = match &cfg.color {
        Choice::Fixed(c) => c.clone(),
        Choice::Random => color_from_bits(rng.next()),
    };
    let emoji = match cfg.emoji {
        Choice::Fixed(i) => i,
        Choice::Random => rng.below(EMOJIS.len() as u64) as usize,
    };
    let identity = Identity {
        job_id,
        execution_id,
        hostname,
        submission_time: cfg.submission_time,
        icon: EMOJIS[emoji],
        color: &color,
        region: &cfg.region,
    };
    log_start(host, &cfg, &identity, send_headers.contains('\n'));
    let template = MessageTemplate::new(&identity);
    if let Err(code) = wait_for_health(host, &cfg, &mut rng) {
        return code;
    }
    let mut send_url = cfg.proxy.clone();
    send_url.push_str("/send");
    Publisher {
        outbox: Outbox::new(cfg.outbox),
        template,
        send_url,
        send_headers,
        rng,
        backoff: Backoff::new(RETRY_MIN_NS, RETRY_MAX_NS),
        link: Link::Up,
        generated: 0,
        drops: Drops::default(),
        dropped: 0,
        filtered_logged: false,
        cfg,
    }
    .run(host)
}

/// The flags and the extra headers of every send (the bearer token from PROXY_TOKEN), or the
/// exit code: 0 after --help, 2 after a usage error (logged).
fn configure(
    host: &mut impl Host,
    args: &[String],
    env: &[String],
) -> Result<(Config, String), u32> {
    let region_env = config::env_lookup(env, "REGION");
    let cfg = match config::parse(args.get(1..).unwrap_or(&[]), region_env) {
        Ok(Parsed::Run(cfg)) => cfg,
        Ok(Parsed::Help) => {
            host.print(config::USAGE);
            host.print("\n");
            return Err(0);
        }
        Err(message) => {
            host.log(LogLine::new().push("error: ").push(&message).as_str());
            host.log("sqs-publisher: run with --help for usage");
            return Err(2);
        }
    };
    match config::send_headers(config::env_lookup(env, "PROXY_TOKEN")) {
        Ok(headers) => Ok((cfg, headers)),
        Err(message) => {
            host.log(LogLine::new().push("error: ").push(&message).as_str());
            Err(2)
        }
    }
}

/// `starting on edge-1, region us, proxy http://…, every 5000 ms, colour #…, emoji …`.
fn log_start(host: &mut impl Host, cfg: &Config, who: &Identity<'_>, token: bool) {
    host.log(
        LogLine::new()
            .push("starting on ")
            .push(who.hostname)
            .push(", region ")
            .push(&cfg.region)
            .push(", proxy ")
            .push(&cfg.proxy)
            .push(", every ")
            .num(cfg.interval_ns / MS)
            .push(" ms, colour ")
            .push(who.color)
            .push(", emoji ")
            .push(who.icon)
            .push(if token {
                ", bearer token from PROXY_TOKEN"
            } else {
                ""
            })
            .as_str(),
    );
}

/// Why the last attempt failed, for log lines.
#[derive(Clone, Copy)]
enum Failure {
    Status(u32),
    Http(HttpError),
}

fn describe(line: &mut LogLine, failure: Failure) {
    match failure {
        Failure::Status(s) => line.push("HTTP ").num(s as u64),
        Failure::Http(e) => line.push(e.describe()),
    };
}

/// `GET <proxy>/health` until it answers 200, for at most `--health-timeout`.
fn wait_for_health(host: &mut impl Host, cfg: &Config, rng: &mut Rng) -> Result<(), u32> {
    let mut url = cfg.proxy.clone();
    url.push_str("/health");
    let deadline = host.monotonic_ns().saturating_add(cfg.health_timeout_ns);
    let mut backoff = Backoff::new(HEALTH_RETRY_MIN_NS, RETRY_MAX_NS);
    let mut waiting_logged = false;
    loop {
        let failure = match host.http(Method::Get, &url, "", &[]) {
            Ok(Reply { status: 200, .. }) => {
                if waiting_logged {
                    host.log("sqs-publisher: proxy is healthy");
                }
                return Ok(());
            }
            Ok(reply) => Failure::Status(reply.status),
            Err(e) if e.is_permanent() => {
                let mut line = LogLine::new();
                line.push("error: GET ").push(&url).push(": ");
                describe(&mut line, Failure::Http(e));
                host.log(line.as_str());
                return Err(1);
            }
            Err(e) => Failure::Http(e),
        };
        let now = host.monotonic_ns();
        if now >= deadline {
            let mut line = LogLine::new();
            line.push("error: proxy ")
                .push(&url)
                .push(" did not answer 200 within ")
                .num(cfg.health_timeout_ns / MS)
                .push(" ms (last: ");
            describe(&mut line, failure);
            host.log(line.push(")").as_str());
            return Err(1);
        }
        if !waiting_logged {
            let mut line = LogLine::new();
            line.push("waiting for ").push(&url).push(" (");
            describe(&mut line, failure);
            host.log(line.push(")").as_str());
            waiting_logged = true;
        }
        host.sleep_ns(backoff.next_delay(rng).min(deadline - now));
    }
}

/// State of the link to the proxy.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Link {
    /// Messages are acknowledged as they are generated.
    Up,
    /// The last send failed; the oldest message is retried at `retry_at` (monotonic ns).
    Down { retry_at: u64 },
    /// The proxy is back; the backlog is being flushed without waiting.
    Draining { delivered: u64 },
}

struct Publisher {
    cfg: Config,
    outbox: Outbox,
    template: MessageTemplate,
    send_url: String,
    /// Header lines of every POST (content type, and the bearer token when there is one).
    send_headers: String,
    rng: Rng,
    backoff: Backoff,
    link: Link,
    generated: u64,
    /// Messages lost at the source since start; every later message reports them.
    drops: Drops,
    /// Messages dropped by overflow during the current outage.
    dropped: u64,
    filtered_logged: bool,
}

impl Publisher {
    fn more_to_generate(&self) -> bool {
        self.cfg.max_messages == 0 || self.generated < self.cfg.max_messages
    }

    fn run(mut self, host: &mut impl Host) -> u32 {
        let mut next_tick = host.monotonic_ns();
        loop {
            let now = host.monotonic_ns();
            if self.more_to_generate() && now >= next_tick {
                self.generate(host);
                next_tick = next_tick.saturating_add(self.cfg.interval_ns);
                if next_tick <= now {
                    // Fell behind (a long send): keep the pace, don't burst to catch up.
                    next_tick = now + self.cfg.interval_ns;
                }
            }
            let retry_due = match self.link {
                Link::Down { retry_at } => now >= retry_at,
                Link::Up | Link::Draining { .. } => true,
            };
            if retry_due && !self.outbox.is_empty() {
                self.send_oldest(host, now);
                continue;
            }
            if !self.more_to_generate() && self.outbox.is_empty() {
                self.log_done(host);
                return 0;
            }
            let mut wake = u64::MAX;
            if self.more_to_generate() {
                wake = next_tick;
            }
            if let Link::Down { retry_at } = self.link {
                if !self.outbox.is_empty() {
                    wake = wake.min(retry_at);
                }
            }
            if wake > now {
                host.sleep_ns(wake - now);
            }
        }
    }

    fn log_done(&self, host: &mut impl Host) {
        let lost = self.drops.permanent + self.drops.overflow;
        let mut line = LogLine::new();
        if lost == 0 {
            line.push("delivered all ").num(self.generated);
        } else {
            line.push("delivered ")
                .num(self.generated - lost)
                .push(" of ")
                .num(self.generated)
                .push(" (")
                .num(self.drops.permanent)
                .push(" refused by the proxy, ")
                .num(self.drops.overflow)
                .push(" dropped from a full outbox)");
        }
        host.log(line.push(" messages; exiting").as_str());
    }

    fn generate(&mut self, host: &mut impl Host) {
        let unix_ms = host.realtime_ns() / MS;
        self.generated += 1;
        if let Pushed::DroppedOldest { .. } = self.outbox.push(unix_ms) {
            self.drops.overflow += 1;
            self.dropped += 1;
            if self.dropped == 1 {
                host.log(
                    LogLine::new()
                        .push("outbox full (")
                        .num(self.outbox.len() as u64)
                        .push(" messages): dropping the oldest to make room")
                        .as_str(),
                );
            }
        }
    }

    fn send_oldest(&mut self, host: &mut impl Host, now: u64) {
        let Some((sequence, unix_ms)) = self.outbox.front() else {
            return;
        };
        let body = self.template.render(unix_ms, sequence, self.drops);
        let (failure, retry_after_secs) =
            match host.http(Method::Post, &self.send_url, &self.send_headers, body) {
                Ok(reply) => match status::verdict(reply.status) {
                    Verdict::Delivered => {
                        self.delivered(host, sequence, reply.filtered);
                        return;
                    }
                    Verdict::Refused => {
                        self.refused(host, sequence, reply.status);
                        return;
                    }
                    Verdict::Retry => (Failure::Status(reply.status), reply.retry_after_secs),
                },
                Err(e) => (Failure::Http(e), None),
            };
        let mut delay = self.backoff.next_delay(&mut self.rng);
        if let Some(secs) = retry_after_secs {
            // The proxy's own pacing wins over ours; up to 10 % jitter on top keeps thousands
            // of sensors told the same number from coming back in the same instant.
            let asked = u64::from(secs) * 1_000 * MS;
            delay = delay.max(asked + self.rng.below(asked / 10 + 1));
        }
        if !matches!(self.link, Link::Down { .. }) {
            let mut line = LogLine::new();
            line.push("proxy unreachable (");
            describe(&mut line, failure);
            line.push("): holding ")
                .num(self.outbox.len() as u64)
                .push(" message(s) from sequence ")
                .num(sequence)
                .push(", retrying with backoff");
            host.log(line.as_str());
        }
        self.link = Link::Down {
            retry_at: now.saturating_add(delay),
        };
    }

    /// The proxy refused the oldest message with a status no resend can change: drop it so
    /// the messages behind it can go, say so once, and count it.
    fn refused(&mut self, host: &mut impl Host, sequence: u64, status: u32) {
        self.outbox.pop();
        self.drops.permanent += 1;
        host.log(
            LogLine::new()
                .push("proxy refused message ")
                .num(sequence)
                .push(" with HTTP ")
                .num(u64::from(status))
                .push(": dropped it for good (")
                .num(self.drops.permanent)
                .push(" refused so far)")
                .as_str(),
        );
        self.answered(host, false);
    }

    fn delivered(&mut self, host: &mut impl Host, sequence: u64, filtered: bool) {
        self.outbox.pop();
        if filtered && !self.filtered_logged {
            self.filtered_logged = true;
            host.log(
                LogLine::new()
                    .push("proxy filtered message ")
                    .num(sequence)
                    .push(": a newer deployment sends from this host (counted as delivered)")
                    .as_str(),
            );
        }
        self.answered(host, true);
    }

    /// The proxy answered the oldest message (it left the outbox): the link is up again.
    fn answered(&mut self, host: &mut impl Host, acked: bool) {
        self.backoff.reset();
        let acked = u64::from(acked);
        self.link = match self.link {
            Link::Up => Link::Up,
            Link::Down { .. } => {
                host.log(
                    LogLine::new()
                        .push("proxy reachable again: delivering backlog of ")
                        .num(self.outbox.len() as u64 + 1)
                        .push(" message(s)")
                        .as_str(),
                );
                Link::Draining { delivered: acked }
            }
            Link::Draining { delivered } => Link::Draining {
                delivered: delivered + acked,
            },
        };
        if let Link::Draining { delivered } = self.link {
            if self.outbox.is_empty() {
                host.log(
                    LogLine::new()
                        .push("delivered backlog of ")
                        .num(delivered)
                        .push(" message(s); dropped ")
                        .num(self.dropped)
                        .push(" oldest while the proxy was away")
                        .as_str(),
                );
                self.dropped = 0;
                self.link = Link::Up;
            }
        }
    }
}

#[cfg(test)]
#[path = "publisher_tests.rs"]
mod tests;
