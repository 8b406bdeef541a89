//! One event-loop thread: owns a mio `Poll`, its own `SO_REUSEPORT` listening socket and the
//! connections it accepted (a token map; tokens are never reused, so a late SQS answer can't
//! reach a newer connection). Requests are routed at once; messages to forward go to the
//! shared queue and their answers come back through `completions` plus the waker.
//!
//! Every forwarded request has a deadline, the request budget: if SQS has not accepted it by
//! then (SQS hung, a forwarder failed), the worker answers 503 + Retry-After itself and a
//! late answer from the forwarder is dropped. On shutdown the drain time is a hard cutoff:
//! whatever still waits then is answered 503, written out for at most [`FINAL_WRITE`], and
//! the connections are closed.
use crate::batcher::{Job, ReplyTo};
use crate::connection::{Connection, ReadResult};
use crate::direct::{Direct, Finished};
use crate::forwarder::{Beat, Completion, Outcome, WorkerLink};
use crate::http::{Limits, Request};
use crate::log;
use crate::response::Response;
use crate::routes::{self, Action, ROUTE_OTHER, ROUTE_SEND};
use crate::shared::Shared;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;
/// Timers (idle, slow client, drain) are checked this often.
const TICK: Duration = Duration::from_millis(250);
/// After the drain cutoff, how long the 503s it produced may take to be written.
pub const FINAL_WRITE: Duration = Duration::from_millis(700);
/// Sent to connections over the cap before closing them: a clear answer beats a reset.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 34\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{\"error\":\"too many connections\"}\r\n";

pub struct Worker {
    id: usize,
    poll: Poll,
    listener: Option<TcpListener>,
    conns: HashMap<Token, Connection>,
    next_token: usize,
    completions: Receiver<Completion>,
    shared: Arc<Shared>,
    limits: Limits,
    max_conns: usize,
    buf: Vec<u8>,
    /// Forwarded requests by deadline (budgets are equal, so pushes come in order):
    /// (deadline, connection, request id). Answered ones are skipped when they come due.
    deadlines: VecDeque<(Instant, Token, u64)>,
    /// Messages routed for forwarding during this turn of the loop, pushed to the shared
    /// queue together at the end of it (one lock per turn instead of one per message).
    outbox: Vec<Job>,
    /// The worker's own SQS calls, when the configuration allows them.
    direct: Option<Direct>,
    /// Messages the direct path gave up on, for the forwarders (pushed with the outbox).
    handoff: Vec<Job>,
}

impl Worker {
    pub fn new(
        id: usize,
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
        direct: Option<Direct>,
    ) -> io::Result<(Worker, WorkerLink)> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = mpsc::channel();
        let c = &shared.config;
        let limits = Limits {
            max_head: c.max_header_bytes,
            max_headers: c.max_headers,
            max_body: c.max_body,
            max_pipeline: 64,
        };
        let max_conns = c.max_connections.div_ceil(c.workers);
        let worker = Worker {
            id,
            poll,
            listener: Some(listener),
            conns: HashMap::new(),
            next_token: FIRST_CONNECTION,
            completions: rx,
            shared,
            limits,
            max_conns,
            buf: vec![0; 64 * 1024],
            deadlines: VecDeque::new(),
            outbox: Vec::new(),
            direct,
            handoff: Vec::new(),
        };
        let link = WorkerLink {
            completions: tx,
            waker,
        };
        Ok((worker, link))
    }

    /// The heartbeat of the worker's own SQS calls, if it makes them.
    pub fn direct_beat(&self) -> Option<Arc<Beat>> {
        self.direct.as_ref().map(Direct::beat)
    }

    /// Serves until shutdown, then drains: no new connections or requests, answers owed are
    /// delivered until they are all out or the drain cutoff passed (then 503 for the rest).
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut draining = false;
        let mut next_tick = Instant::now() + TICK;
        loop {
            let timeout = self.poll_timeout(Instant::now());
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            self.handle_events(&events, now);
            // Answers can arrive between wakeups; taking them every turn is cheap.
            self.take_completions(now);
            self.expire_due(now);
            // Last: reading (above) is what fills the outbox.
            self.push_outbox(now);
            self.prune_deadlines();
            if !draining && self.shared.stopping.load(Relaxed) {
                draining = true;
                self.begin_drain(now);
            }
            if now >= next_tick {
                next_tick = now + TICK;
                self.check_timers(now);
            }
            if draining && (self.conns.is_empty() || self.shared.cutoff.passed(now)) {
                self.finish_drain(&mut events);
                return Ok(());
            }
        }
    }

    /// Until the next timer tick, request deadline or the drain cutoff, whichever is first.
    fn poll_timeout(&self, now: Instant) -> Duration {
        let next_deadline = self.deadlines.front().map(|&(d, _, _)| d);
        let direct_due = self.direct.as_ref().and_then(Direct::next_due);
        [next_deadline, self.shared.cutoff.get(), direct_due]
            .into_iter()
            .flatten()
            .map(|d| d.saturating_duration_since(now))
            .fold(TICK, Duration::min)
    }

    fn handle_events(&mut self, events: &Events, now: Instant) {
        for event in events.iter() {
            match event.token() {
                LISTENER => self.accept(now),
                WAKER => {}
                token => match self.direct.as_ref().and_then(|d| d.lane_of(token)) {
                    Some(lane) => self.lane_event(lane, now),
                    None => self.service(
                        token,
                        event.is_readable() || event.is_read_closed() || event.is_error(),
                        now,
                    ),
                },
            }
        }
    }

    fn lane_event(&mut self, lane: usize, now: Instant) {
        let mut finished = Finished::default();
        if let Some(direct) = self.direct.as_mut() {
            direct.on_event(lane, self.poll.registry(), &self.shared, &mut finished);
        }
        self.absorb(finished, now);
    }

    /// Answers what the worker's own calls settled; what they gave up on goes to the
    /// forwarders with the next push.
    fn absorb(&mut self, mut finished: Finished, now: Instant) {
        self.handoff.append(&mut finished.handoff);
        if finished.completions.is_empty() {
            return;
        }
        let mut touched = Vec::new();
        for completion in finished.completions {
            self.answer(completion, now, &mut touched);
        }
        touched.dedup();
        for token in touched {
            self.service(token, false, now);
        }
    }

    /// Answers 503 to forwarded requests whose budget is spent.
    fn expire_due(&mut self, now: Instant) {
        let mut touched = Vec::new();
        while let Some(&(deadline, token, request)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            let budget = self.shared.config.request_budget;
            let response = Response::unavailable(
                &format!(
                    "sqs did not accept the message within the request budget ({} s)",
                    budget.as_secs()
                ),
                1,
            );
            if conn.http.respond(request, &response) {
                self.shared.metrics.expired.fetch_add(1, Relaxed);
                self.shared.metrics.request(ROUTE_SEND, 503);
                touched.push(token);
            }
        }
        touched.dedup();
        for token in touched {
            self.service(token, false, now);
        }
    }

    /// Drops answered requests from the front of the deadline list, so it holds about what is
    /// still waiting rather than everything forwarded within the last budget.
    fn prune_deadlines(&mut self) {
        while let Some(&(_, token, request)) = self.deadlines.front() {
            let waiting = self
                .conns
                .get(&token)
                .is_some_and(|c| c.http.is_waiting(request));
            if waiting {
                break;
            }
            self.deadlines.pop_front();
        }
    }

    /// The cutoff (or the last connection) came: 503 for every request still waiting, a short
    /// while to write the answers out, then every connection closes.
    fn finish_drain(&mut self, events: &mut Events) {
        let now = Instant::now();
        self.take_completions(now);
        let response = Response::unavailable("the proxy is shutting down; not forwarded", 1);
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for &token in &tokens {
            if let Some(conn) = self.conns.get_mut(&token) {
                let n = conn.http.answer_all_waiting(&response);
                self.shared.metrics.cut_off.fetch_add(n as u64, Relaxed);
                for _ in 0..n {
                    self.shared.metrics.request(ROUTE_SEND, 503);
                }
            }
            self.flush(token, now);
        }
        let end = now + FINAL_WRITE;
        while !self.conns.is_empty() && Instant::now() < end {
            let left = end.saturating_duration_since(Instant::now());
            if self.poll.poll(events, Some(left)).is_err() {
                break;
            }
            let now = Instant::now();
            let writable: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for token in writable {
                if self.conns.contains_key(&token) {
                    self.flush(token, now);
                }
            }
        }
        if !self.conns.is_empty() {
            log::info(&format!(
                "worker {}: drain time over, closing {} connections",
                self.id,
                self.conns.len()
            ));
            let n = self.conns.len() as u64;
            self.shared
                .metrics
                .cut_off_connections
                .fetch_add(n, Relaxed);
        }
    }

    fn accept(&mut self, now: Instant) {
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            match listener.accept() {
                Ok((mut stream, _peer)) => {
                    if self.conns.len() >= self.max_conns {
                        // Best effort: the answer fits a fresh socket's send buffer. (An HTTPS
                        // client could not read it: there the close is the answer.)
                        if !self.shared.ingress.is_tls() {
                            let _ = stream.write(REFUSED);
                        }
                        self.shared
                            .metrics
                            .refused_connections
                            .fetch_add(1, Relaxed);
                        continue;
                    }
                    let tls = match self.shared.ingress.new_session() {
                        Ok(tls) => tls,
                        Err(e) => {
                            log::error(&format!("starting a TLS session: {e}"));
                            continue;
                        }
                    };
                    // Answers are small and latency matters more than packet count.
                    let _ = stream.set_nodelay(true);
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut stream, token, Interest::READABLE)
                    {
                        log::error(&format!("registering a connection: {e}"));
                        continue;
                    }
                    self.shared
                        .metrics
                        .accepted_connections
                        .fetch_add(1, Relaxed);
                    self.shared.metrics.open_connections.fetch_add(1, Relaxed);
                    self.conns
                        .insert(token, Connection::new(stream, tls, self.limits, now));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: the connection stays in the backlog; say why.
                    log::error(&format!("accept: {e}"));
                    break;
                }
            }
        }
    }

    /// Reads (if readable or resuming after back-pressure), routes, writes, and updates interest.
    fn service(&mut self, token: Token, readable: bool, now: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if readable || (conn.read_paused && conn.http.wants_read()) {
            match conn.read(&mut self.buf, now) {
                ReadResult::Requests(requests) => self.dispatch(token, requests),
                ReadResult::Failed(e) => {
                    log::debug(|| format!("connection {}: read: {e}", token.0));
                    self.close(token);
                    return;
                }
            }
        }
        self.flush(token, now);
    }

    fn dispatch(&mut self, token: Token, requests: Vec<Request>) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let shared = &self.shared;
        for req in requests {
            let route = routes::route_of(&req);
            let id = req.id;
            if let Some(refused) = shared.ingress.refuse(route, req.authorization.as_deref()) {
                shared.metrics.request(route, refused.status);
                conn.http.respond(id, &refused);
                continue;
            }
            let response = match routes::route(req, &shared.filter, &shared.rules) {
                Action::Respond(r) => {
                    if route == ROUTE_SEND && r.status == 200 {
                        shared.metrics.filtered.fetch_add(1, Relaxed);
                    }
                    r
                }
                Action::Health => shared.health_response(),
                Action::Metrics => shared.metrics_response(),
                Action::Forward(body, extras) => {
                    let now = Instant::now();
                    let deadline = now + shared.config.request_budget;
                    let job = Job {
                        reply: ReplyTo {
                            worker: self.id,
                            token: token.0,
                            request: id,
                        },
                        body,
                        extras,
                        enqueued: now,
                        deadline,
                    };
                    self.outbox.push(job);
                    self.deadlines.push_back((deadline, token, id));
                    continue;
                }
            };
            shared.metrics.request(route, response.status);
            conn.http.respond(id, &response);
        }
    }

    /// Sends this turn's messages to SQS itself where it can, hands the rest to the
    /// forwarders; the ones the queue refuses (full, or closed for shutdown) are answered 503
    /// at once.
    fn push_outbox(&mut self, now: Instant) {
        if let Some(direct) = self.direct.as_mut() {
            let mut finished = Finished::default();
            let registry = self.poll.registry();
            direct.check(now, registry, &self.shared, &mut finished);
            direct.take(&mut self.outbox, registry, &self.shared, &mut finished);
            self.absorb(finished, now);
            self.outbox.append(&mut self.handoff);
        }
        if self.outbox.is_empty() {
            return;
        }
        let shared = &self.shared;
        let refused = shared.queue.push_all(&mut self.outbox);
        let mut touched = Vec::with_capacity(refused.len());
        for job in refused {
            let response = if shared.stopping.load(Relaxed) {
                Response::unavailable("the proxy is shutting down; not forwarded", 1)
            } else {
                shared.metrics.rejected_queue_full.fetch_add(1, Relaxed);
                Response::unavailable("pending queue is full; retry shortly", 1)
            };
            let token = Token(job.reply.token);
            if let Some(conn) = self.conns.get_mut(&token) {
                if conn.http.respond(job.reply.request, &response) {
                    shared.metrics.request(ROUTE_SEND, response.status);
                    touched.push(token);
                }
            }
        }
        touched.dedup();
        for token in touched {
            self.flush(token, now);
        }
    }

    /// Writes what is pending, closes finished connections, updates the registered interest.
    fn flush(&mut self, token: Token, now: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        for status in conn.http.take_failures() {
            self.shared.metrics.request(ROUTE_OTHER, status);
        }
        if let Err(e) = conn.write(now) {
            log::debug(|| format!("connection {}: write: {e}", token.0));
            self.close(token);
            return;
        }
        if conn.done() {
            self.close(token);
            return;
        }
        let want = conn.wanted_interest();
        if want != conn.interest {
            match self
                .poll
                .registry()
                .reregister(&mut conn.stream, token, want)
            {
                Ok(()) => conn.interest = want,
                Err(e) => {
                    log::error(&format!("reregistering a connection: {e}"));
                    self.close(token);
                }
            }
        }
    }

    fn take_completions(&mut self, now: Instant) {
        let mut touched = Vec::new();
        while let Ok(c) = self.completions.try_recv() {
            self.answer(c, now, &mut touched);
        }
        touched.dedup();
        for token in touched {
            self.service(token, false, now);
        }
    }

    /// Answers the request a completion is for; its connection goes into `touched`.
    fn answer(&mut self, c: Completion, now: Instant, touched: &mut Vec<Token>) {
        let token = Token(c.reply.token);
        let metrics = &self.shared.metrics;
        let response = match c.outcome {
            Outcome::Accepted { message_id } => {
                log::debug(|| format!("accepted as {message_id}"));
                Response::accepted(&message_id)
            }
            Outcome::Refused { reason } => {
                Response::error(400, &format!("sqs refused the message: {reason}"))
            }
            Outcome::Unavailable { reason } => {
                Response::unavailable(&format!("sqs unavailable: {reason}"), 1)
            }
        };
        // The connection may be gone (client hung up): the message was still handled. An
        // answer after the request budget finds the request answered (503) already: it
        // is not counted again.
        let answered = match self.conns.get_mut(&token) {
            Some(conn) => conn.http.respond(c.reply.request, &response),
            None => true,
        };
        if answered {
            touched.push(token);
            metrics.latency(now.saturating_duration_since(c.enqueued));
            metrics.request(ROUTE_SEND, response.status);
            if response.status == 503 {
                metrics.failed_unavailable.fetch_add(1, Relaxed);
            }
        }
    }

    fn check_timers(&mut self, now: Instant) {
        let c = &self.shared.config;
        let mut expired = Vec::new();
        let mut slow = Vec::new();
        for (&token, conn) in self.conns.iter_mut() {
            if conn.read_paused {
                // We stopped reading (answers owed); the client is waiting on us, not slow.
                conn.request_started = None;
            }
            if let Some(started) = conn.request_started {
                if now.duration_since(started) > c.request_timeout {
                    slow.push(token);
                    continue;
                }
            }
            let quiet = now.duration_since(conn.last_activity);
            let stuck_writing = conn.unsent() && quiet > c.request_timeout;
            let idle = !conn.http.busy() && !conn.http.mid_request() && quiet > c.idle_timeout;
            if stuck_writing || idle {
                expired.push(token);
            }
        }
        for token in slow {
            if self.conns.get(&token).is_some_and(Connection::handshaking) {
                // Nothing to answer before the handshake is done: the close says it.
                self.shared
                    .metrics
                    .timed_out_connections
                    .fetch_add(1, Relaxed);
                self.close(token);
                continue;
            }
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.http.timed_out();
                conn.request_started = None;
                self.shared
                    .metrics
                    .timed_out_connections
                    .fetch_add(1, Relaxed);
            }
            self.flush(token, now);
        }
        for token in expired {
            self.shared
                .metrics
                .timed_out_connections
                .fetch_add(1, Relaxed);
            self.close(token);
        }
    }

    fn begin_drain(&mut self, now: Instant) {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.http.drain();
            }
            self.flush(token, now);
        }
    }

    fn close(&mut self, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            conn.goodbye();
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.shared.metrics.open_connections.fetch_sub(1, Relaxed);
        }
    }
}
