//! One scheduler thread: runs its share of the nodes as resumable wasmi calls.
//!
//! Node state machine: `Ready` (queued to run, with the value to resume with) → running →
//! one of `Sleeping` (in the timer heap), `AwaitingHttp` (request in the HTTP pool),
//! `Exited`. Nothing blocks the thread except waiting for the next timer or HTTP answer.
use super::ctx::NodeCtx;
use super::http_abi;
use super::status::NodeStatus;
use super::suspend::Suspend;
use super::{limits, HostConfig, NodeSpec, Program, Shared};
use crate::error::{Error, ErrorKind};
use crate::net::message::{Failure, Response};
use crate::net::pool::{HttpPool, Job};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmi::{
    Func, Linker, Memory, ResumableCall, ResumableCallHostTrap, ResumableCallOutOfFuel, Store, Val,
};

/// How often an idle scheduler looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Fuel per turn: roughly a few milliseconds of interpretation, after which a guest that has
/// not suspended goes to the back of the ready queue.
const FUEL_SLICE: u64 = 5_000_000;
/// Fuel for the module's own start function during instantiation.
const START_FUEL: u64 = 1_000_000_000;

/// A guest stopped mid-run, and why.
enum Suspended {
    /// In a host call (sleep, HTTP): resume with that call's result.
    Host(ResumableCallHostTrap),
    /// Its time slice ran out: resume as it was.
    Fuel(ResumableCallOutOfFuel),
}

struct Node {
    store: Store<NodeCtx>,
    start: Func,
    memory: Option<Memory>,
    /// The suspended invocation, once `_start` has begun.
    suspended: Option<Suspended>,
    /// The size of `memory` in bytes when its zero pages were last given back.
    released_at_len: usize,
}

/// Where a step left the node.
enum Step {
    /// Time slice used up; runnable again at once.
    Yield,
    Sleep(Instant),
    Http,
    Exit(i32),
    Trap(String),
}

pub enum Event {
    HttpDone {
        node: usize,
        result: Result<Response, Failure>,
    },
    /// A node joined the running job.
    Add(Box<NodeSpec>),
}

pub struct Scheduler {
    program: Arc<Program>,
    linker: Linker<NodeCtx>,
    config: HostConfig,
    pool: Arc<HttpPool>,
    shared: Arc<Shared>,
}

impl Scheduler {
    pub fn new(
        program: Arc<Program>,
        linker: Linker<NodeCtx>,
        config: HostConfig,
        pool: Arc<HttpPool>,
        shared: Arc<Shared>,
    ) -> Scheduler {
        Scheduler {
            program,
            linker,
            config,
            pool,
            shared,
        }
    }

    fn instantiate(&self, spec: &NodeSpec, epoch: Instant) -> Result<Node, Error> {
        let ctx = NodeCtx::new(
            limits(self.config.memory_limit),
            &spec.args,
            &spec.env,
            Arc::clone(&spec.status),
            Arc::new(self.config.policy.clone()),
            self.config.output,
            epoch,
        );
        let mut store = Store::new(&self.program.engine, ctx);
        store.limiter(|ctx| &mut ctx.limits);
        // Fuel is always enabled on our engine, so this cannot fail.
        let _ = store.set_fuel(START_FUEL);
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.program.module)
            .map_err(|e| {
                let kind = if e.to_string().contains("limit") {
                    ErrorKind::MemoryLimit
                } else {
                    ErrorKind::Link
                };
                Error::new(
                    kind,
                    format!("{}: cannot instantiate module: {e}", spec.status.hostname),
                )
            })?;
        let entry = &self.config.entrypoint;
        let start = instance.get_func(&store, entry).ok_or_else(|| {
            Error::new(
                ErrorKind::Link,
                format!("unable to find the entrypoint '{entry}' in the WASM module"),
            )
        })?;
        let memory = instance.get_memory(&store, "memory");
        let mut node = Node {
            store,
            start,
            memory,
            suspended: None,
            released_at_len: 0,
        };
        release_untouched_pages(&mut node);
        Ok(node)
    }

    /// Instantiates `specs`, reports on `ready`, then runs them until they exit or the run stops.
    pub fn run(
        self,
        specs: Vec<NodeSpec>,
        ready: &Sender<Result<(), Error>>,
        (tx, rx): (Sender<Event>, Receiver<Event>),
    ) {
        let epoch = Instant::now();
        let mut nodes: Vec<Option<Node>> = Vec::with_capacity(specs.len());
        for spec in &specs {
            match self.instantiate(spec, epoch) {
                Ok(node) => nodes.push(Some(node)),
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            }
        }
        let _ = ready.send(Ok(()));
        self.shared.wait_for_go();
        let mut statuses: Vec<Arc<NodeStatus>> =
            specs.iter().map(|s| Arc::clone(&s.status)).collect();
        let mut queue: VecDeque<(usize, i32)> = (0..nodes.len()).map(|i| (i, 0)).collect();
        let mut timers: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        let mut live = nodes.len();
        let mut state = State {
            nodes: &mut nodes,
            statuses: &mut statuses,
            queue: &mut queue,
            timers: &mut timers,
            live: &mut live,
            epoch,
        };
        while (*state.live > 0 || self.shared.is_open()) && !self.shared.stopping() {
            self.round(&mut state, &tx);
            if *state.live == 0 && !self.shared.is_open() {
                break;
            }
            self.take_events(&mut state, &rx);
        }
        for node in nodes.iter_mut().flatten() {
            node.store.data_mut().flush_output();
        }
    }

    /// One round over what is runnable now; nodes that yield go to the next round, after
    /// timers and HTTP answers have been looked at.
    fn round(&self, st: &mut State, tx: &Sender<Event>) {
        for _ in 0..st.queue.len() {
            let Some((i, input)) = st.queue.pop_front() else {
                break;
            };
            if self.shared.stopping() {
                break;
            }
            let Some(node) = st.nodes[i].as_mut() else {
                continue;
            };
            let step = step(node, input);
            release_untouched_pages(node);
            match step {
                Step::Yield => st.queue.push_back((i, 0)),
                Step::Sleep(at) => st.timers.push(Reverse((at, i))),
                Step::Http => {
                    if !self.submit_http(node, i, tx) {
                        st.queue.push_back((i, http_abi::NETWORK_ERROR as i32));
                    }
                }
                Step::Exit(code) => {
                    finish(&mut st.nodes[i], &st.statuses[i], code);
                    *st.live -= 1;
                }
                Step::Trap(message) => {
                    // Bacalhau: an error without an exit code is exit code 1 and a Failed
                    // execution (pkg/executor/wasm/handler.go at v1.7.0).
                    let host = safe_text::inert(&st.statuses[i].hostname);
                    eprintln!("edge-node: {host}: {}", safe_text::inert(&message));
                    st.statuses[i].set_failed(&message);
                    finish(&mut st.nodes[i], &st.statuses[i], 1);
                    *st.live -= 1;
                }
            }
        }
    }

    /// Waits (when nothing is runnable) for the next timer, HTTP answer or joining node, and
    /// queues whatever is due.
    fn take_events(&self, st: &mut State, rx: &Receiver<Event>) {
        if st.queue.is_empty() {
            let now = Instant::now();
            let wait = st
                .timers
                .peek()
                .map_or(STOP_POLL, |Reverse((at, _))| {
                    at.saturating_duration_since(now)
                })
                .min(STOP_POLL);
            match rx.recv_timeout(wait) {
                Ok(ev) => self.handle(ev, st),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {}
            }
        }
        while let Ok(ev) = rx.try_recv() {
            self.handle(ev, st);
        }
        let now = Instant::now();
        while st.timers.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            if let Some(Reverse((_, i))) = st.timers.pop() {
                st.queue.push_back((i, 0));
            }
        }
    }

    /// Hands the node's pending request to the HTTP pool; `false` if that is impossible.
    fn submit_http(&self, node: &mut Node, i: usize, tx: &Sender<Event>) -> bool {
        let Some(request) = node
            .store
            .data_mut()
            .pending_http
            .as_mut()
            .and_then(|p| p.request.take())
        else {
            return false;
        };
        let max_body = node
            .store
            .data()
            .pending_http
            .as_ref()
            .map_or(0, |p| p.max_body);
        let tx = tx.clone();
        self.pool.submit(Job {
            request,
            max_body,
            started: Instant::now(),
            reply: Box::new(move |result| {
                let _ = tx.send(Event::HttpDone { node: i, result });
            }),
        })
    }

    fn handle(&self, ev: Event, state: &mut State) {
        let (i, result) = match ev {
            Event::HttpDone { node, result } => (node, result),
            Event::Add(spec) => return self.join(*spec, state),
        };
        let Some(node) = state.nodes.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let Some(pending) = node.store.data_mut().pending_http.take() else {
            return;
        };
        let status = Arc::clone(&node.store.data().status);
        // A request that was in flight when the control channel cut the network fails too.
        let result = if status.is_connected() {
            result
        } else {
            Err(Failure::Network("disconnected".into()))
        };
        let (code, outcome) = match node.memory {
            Some(memory) => http_abi::complete(memory.data_mut(&mut node.store), &pending, result),
            None => (
                http_abi::MEMORY_ERROR,
                super::status::RequestOutcome::Failed,
            ),
        };
        status.record(outcome);
        state.queue.push_back((i, code as i32));
    }

    /// A node that joined: instantiate it and queue it; if that fails, the execution Failed.
    fn join(&self, spec: NodeSpec, state: &mut State) {
        match self.instantiate(&spec, state.epoch) {
            Ok(node) => {
                state.nodes.push(Some(node));
                state.statuses.push(Arc::clone(&spec.status));
                state.queue.push_back((state.nodes.len() - 1, 0));
                *state.live += 1;
            }
            Err(e) => {
                eprintln!("edge-node: {}: {e}", spec.status.hostname);
                spec.status.set_failed(&e.to_string());
                spec.status.set_exited(1);
            }
        }
    }
}

/// A scheduler's nodes and queue, as the event handlers change them.
struct State<'a> {
    nodes: &'a mut Vec<Option<Node>>,
    statuses: &'a mut Vec<Arc<NodeStatus>>,
    queue: &'a mut VecDeque<(usize, i32)>,
    timers: &'a mut BinaryHeap<Reverse<(Instant, usize)>>,
    live: &'a mut usize,
    epoch: Instant,
}

fn finish(slot: &mut Option<Node>, status: &NodeStatus, code: i32) {
    if let Some(mut node) = slot.take() {
        node.store.data_mut().flush_output();
    }
    status.set_exited(code);
}

/// Gives back the guest's memory pages that hold only zeros, once per memory size: after
/// instantiation (wasmi writes zeros over the whole memory, data segments fill a few pages)
/// and after the guest grew its memory (the new pages are zeros written by wasmi too). A guest
/// touches few of its pages.
fn release_untouched_pages(node: &mut Node) {
    let Some(memory) = node.memory else {
        return;
    };
    let data = memory.data_mut(&mut node.store);
    if data.len() != node.released_at_len {
        node.released_at_len = data.len();
        crate::sys::release_zero_pages(data);
    }
}

/// Runs the node until it suspends or ends; `input` is the result of the host call it was
/// suspended in (ignored on the first step).
fn step(node: &mut Node, input: i32) -> Step {
    let _ = node.store.set_fuel(FUEL_SLICE);
    let result = match node.suspended.take() {
        None => node.start.call_resumable(&mut node.store, &[], &mut []),
        Some(Suspended::Host(invocation)) => {
            invocation.resume(&mut node.store, &[Val::I32(input)], &mut [])
        }
        Some(Suspended::Fuel(invocation)) => invocation.resume(&mut node.store, &mut []),
    };
    match result {
        // Returning without proc_exit: Bacalhau reports -1 ("some compilers do not set an
        // exit code"), pkg/executor/wasm/handler.go at v1.7.0.
        Ok(ResumableCall::Finished) => Step::Exit(-1),
        Ok(ResumableCall::HostTrap(invocation)) => {
            let error = invocation.host_error();
            if let Some(code) = error.i32_exit_status() {
                return Step::Exit(code);
            }
            match error.downcast_ref::<Suspend>().copied() {
                Some(Suspend::Sleep(at)) => {
                    node.suspended = Some(Suspended::Host(invocation));
                    Step::Sleep(at)
                }
                Some(Suspend::Http) => {
                    node.suspended = Some(Suspended::Host(invocation));
                    Step::Http
                }
                None => Step::Trap(format!("host error: {error}")),
            }
        }
        Ok(ResumableCall::OutOfFuel(invocation)) => {
            node.suspended = Some(Suspended::Fuel(invocation));
            Step::Yield
        }
        Err(e) => match e.i32_exit_status() {
            Some(code) => Step::Exit(code),
            None => Step::Trap(format!("wasm trap: {e}")),
        },
    }
}
