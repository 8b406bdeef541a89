//! The Bacalhau-compatible WASM host: compiles a module once, instantiates it per simulated
//! node, and runs all nodes on a few scheduler threads (see `scheduler.rs`).
pub mod ctx;
pub mod guest_mem;
pub mod http_abi;
pub mod pending;
pub mod scheduler;
pub mod status;
pub mod suspend;
pub mod wasi;

use crate::error::{Error, ErrorKind};
use crate::net::client::Client;
use crate::net::policy::NetworkPolicy;
use crate::net::pool::HttpPool;
use crate::net::resolve::Resolver;
use ctx::{NodeCtx, OutputMode};
use http1::tls::TlsConnector;
use status::NodeStatus;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use wasmi::{Engine, ExternType, Linker, Module};

/// One simulated node: its guest's argv (after the empty argv[0]) and environment.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub status: Arc<NodeStatus>,
}

/// How every node of one run is hosted.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub policy: NetworkPolicy,
    /// Linear-memory limit in bytes (rounded up to whole 64 KiB pages), `None` = the module's own.
    pub memory_limit: Option<u64>,
    pub output: OutputMode,
    pub aliases: Vec<(String, IpAddr)>,
    /// Scheduler threads (default: one per core).
    pub threads: usize,
    /// Threads performing guest HTTP requests.
    pub http_threads: usize,
    /// Whole-request timeout (Bacalhau's 30 s unless overridden for tests).
    pub http_timeout: std::time::Duration,
    /// The exported function each node calls (the job's `Entrypoint`; no default).
    pub entrypoint: String,
    /// A PEM file of extra CA certificates trusted for guests' https requests (`--ca-file`).
    pub ca_file: Option<std::path::PathBuf>,
}

/// A compiled module, ready to instantiate on any number of nodes.
pub struct Program {
    engine: Engine,
    module: Module,
}

const PAGE: u64 = 64 * 1024;
const SCHEDULER_STACK: usize = 32 << 20;

impl Program {
    /// Reads and compiles `path`.
    pub fn load(path: &Path) -> Result<Program, Error> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::ModuleNotFound,
                format!("cannot read module {}: {e}", path.display()),
            )
        })?;
        Program::from_bytes(&bytes, &path.display().to_string())
    }

    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Program, Error> {
        // Fuel metering lets a scheduler take the thread back from a guest that computes
        // without sleeping, so one busy node cannot stall the thousands sharing its thread.
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, bytes).map_err(|e| {
            Error::new(
                ErrorKind::BadWasm,
                format!("{name} is not a valid WebAssembly module: {e}"),
            )
        })?;
        Ok(Program { engine, module })
    }

    /// Checks, before any node starts, what would make every instantiation fail, so the user
    /// gets one clear message: imports this host does not offer (naming them), a missing
    /// entrypoint (Bacalhau's wording, pkg/executor/wasm/handler.go at v1.7.0), an initial
    /// memory above the limit.
    pub fn check(&self, config: &HostConfig) -> Result<(), Error> {
        for import in self.module.imports() {
            let (module, name) = (import.module(), import.name());
            let known = match module {
                wasi::MODULE => matches!(import.ty(), ExternType::Func(_)) && wasi::provides(name),
                http_abi::MODULE if name == http_abi::FUNC => {
                    if !config.policy.offers_http() {
                        return Err(Error::new(
                            ErrorKind::Link,
                            format!(
                                "module imports {module}.{name} but the job's network is None \
                                 (give --network host or --network http --domain D)"
                            ),
                        ));
                    }
                    true
                }
                _ => false,
            };
            if !known {
                return Err(Error::new(
                    ErrorKind::Link,
                    format!("module imports {module}.{name}, which a Bacalhau WASM node does not provide"),
                ));
            }
        }
        let entry = &config.entrypoint;
        let start = self.module.exports().find(|e| e.name() == entry);
        if entry.is_empty() || !start.is_some_and(|e| matches!(e.ty(), ExternType::Func(_))) {
            return Err(Error::new(
                ErrorKind::Link,
                format!("unable to find the entrypoint '{entry}' in the WASM module"),
            ));
        }
        if let Some(limit) = config.memory_limit {
            for export in self.module.exports() {
                if let ExternType::Memory(ty) = export.ty() {
                    let need = ty.minimum().saturating_mul(PAGE);
                    if need > round_to_pages(limit) {
                        return Err(Error::new(
                            ErrorKind::MemoryLimit,
                            format!("module needs {need} bytes of memory at start but the memory limit is {limit} bytes"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A linker offering WASI preview1 and, when the network allows, `http_request`.
    fn linker(&self, policy: &NetworkPolicy) -> Result<Linker<NodeCtx>, Error> {
        let mut linker = Linker::new(&self.engine);
        let link_err = |e: wasmi::Error| {
            Error::new(
                ErrorKind::Link,
                format!("cannot set up host functions: {e}"),
            )
        };
        wasi::define(&mut linker).map_err(link_err)?;
        if policy.offers_http() {
            http_abi::define(&mut linker).map_err(link_err)?;
        }
        Ok(linker)
    }
}

pub fn round_to_pages(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE).saturating_mul(PAGE)
}

/// State every thread of a run shares.
pub struct Shared {
    pub stop: AtomicBool,
    /// Set once every node is instantiated: the schedulers wait for it, so "ready" is printed
    /// before any guest runs (and before any guest output).
    pub go: AtomicBool,
    /// Set while nodes may still join (a job placed on an inventory that can grow): the
    /// schedulers then keep running when all their nodes have exited.
    pub open: AtomicBool,
    nodes: RwLock<Vec<Arc<NodeStatus>>>,
}

impl Shared {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Blocks a scheduler until the run is released or stopped.
    pub fn wait_for_go(&self) {
        while !self.go.load(Ordering::SeqCst) && !self.stopping() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    pub fn all_exited(&self) -> bool {
        self.nodes().iter().all(|n| n.exited().is_some())
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// A snapshot of every node's status, in the order they were added.
    pub fn nodes(&self) -> Vec<Arc<NodeStatus>> {
        self.nodes.read().map(|n| n.clone()).unwrap_or_default()
    }

    fn push_node(&self, status: Arc<NodeStatus>) {
        if let Ok(mut nodes) = self.nodes.write() {
            nodes.push(status);
        }
    }

    /// For tests and tools that build a run's shared state without schedulers.
    pub fn new(nodes: Vec<Arc<NodeStatus>>) -> Shared {
        Shared {
            stop: AtomicBool::new(false),
            go: AtomicBool::new(false),
            open: AtomicBool::new(false),
            nodes: RwLock::new(nodes),
        }
    }
}

/// Nodes being run.
pub struct Running {
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    ready: Receiver<Result<(), Error>>,
    expected_ready: usize,
    /// One channel per scheduler, for nodes that join a running job.
    joins: Vec<Sender<scheduler::Event>>,
    next_join: AtomicUsize,
}

/// Starts all `nodes` of `program`, spread over the scheduler threads.
pub fn start(
    program: Program,
    config: &HostConfig,
    nodes: Vec<NodeSpec>,
) -> Result<Running, Error> {
    program.check(config)?;
    let shared = Arc::new(Shared::new(
        nodes.iter().map(|n| Arc::clone(&n.status)).collect(),
    ));
    let tls = TlsConnector::with_extra_ca(config.ca_file.as_deref())
        .map_err(|e| Error::new(ErrorKind::Io, e))?;
    let pool = Arc::new(
        HttpPool::start(
            Client::new(Resolver::new(&config.aliases), config.http_timeout, tls),
            config.http_threads,
        )
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start HTTP threads: {e}")))?,
    );
    let threads = config.threads.clamp(1, nodes.len().max(1));
    let mut groups: Vec<Vec<NodeSpec>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, node) in nodes.into_iter().enumerate() {
        groups[i % threads].push(node);
    }
    let program = Arc::new(program);
    let (ready_tx, ready) = channel();
    let mut handles = Vec::new();
    let mut joins = Vec::new();
    for (i, group) in groups.into_iter().enumerate() {
        let (events_tx, events) = channel();
        joins.push(events_tx.clone());
        let linker = program.linker(&config.policy)?;
        let job = scheduler::Scheduler::new(
            Arc::clone(&program),
            linker,
            config.clone(),
            Arc::clone(&pool),
            Arc::clone(&shared),
        );
        let ready_tx = ready_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("sched-{i}"))
            // Headroom for wasmi's native recursion (host calls, deep guest call chains) in
            // unoptimised builds; only a couple of these threads exist and untouched stack
            // costs no memory. (The `auto-dispatch` feature keeps debug builds off the
            // tail-call dispatcher, whose stack grows per instruction without optimisation.)
            .stack_size(SCHEDULER_STACK)
            .spawn(move || job.run(group, &ready_tx, (events_tx, events)))
            .map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot start scheduler thread: {e}"))
            })?;
        handles.push(handle);
    }
    Ok(Running {
        shared,
        threads: handles,
        ready,
        expected_ready: threads,
        joins,
        next_join: AtomicUsize::new(0),
    })
}

impl Running {
    /// Waits until every node is instantiated; the first instantiation error stops the run.
    pub fn wait_ready(&self) -> Result<(), Error> {
        for _ in 0..self.expected_ready {
            match self.ready.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.stop();
                    return Err(e);
                }
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        "a scheduler thread died while starting nodes",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Adds a node to the running job (a node that joined the cluster). It is instantiated on
    /// a scheduler thread; an instantiation error fails that node only.
    pub fn add(&self, spec: NodeSpec) -> Result<(), Error> {
        let n = self.next_join.fetch_add(1, Ordering::SeqCst) % self.joins.len().max(1);
        let status = Arc::clone(&spec.status);
        let sent = self
            .joins
            .get(n)
            .is_some_and(|tx| tx.send(scheduler::Event::Add(Box::new(spec))).is_ok());
        if !sent {
            return Err(Error::new(
                ErrorKind::Io,
                "no scheduler is running to take the node",
            ));
        }
        self.shared.push_node(status);
        Ok(())
    }

    /// Lets the instantiated nodes run (call after [`Running::wait_ready`]).
    pub fn go(&self) {
        self.shared.go.store(true, Ordering::SeqCst);
    }

    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// `false` once every scheduler thread has ended (all its nodes exited, the run stopped,
    /// or — a bug — a thread panicked), so callers never wait on nodes nobody runs.
    pub fn schedulers_alive(&self) -> bool {
        self.threads.iter().any(|t| !t.is_finished())
    }

    /// Stops (if not yet) and waits for the schedulers.
    pub fn join(self) {
        self.stop();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Builds a node's store limits from the run's memory limit.
pub(crate) fn limits(memory_limit: Option<u64>) -> wasmi::StoreLimits {
    let mut b = wasmi::StoreLimitsBuilder::new();
    if let Some(limit) = memory_limit {
        b = b.memory_size(usize::try_from(round_to_pages(limit)).unwrap_or(usize::MAX));
    }
    b.build()
}
