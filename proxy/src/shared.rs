//! The state every worker thread shares, and the two answers built from it (`/health`,
//! `/metrics`). Its own module so that the server (which builds it) and the workers (which
//! read it) both depend on it and not on each other.
use crate::args::Config;
use crate::batcher::Queue;
use crate::cutoff::Cutoff;
use crate::envelope::Rules;
use crate::filter::Filter;
use crate::health::Health;
use crate::ingress::Ingress;
use crate::metrics::{Gauges, Metrics};
use crate::response::Response;
use crate::sys;
use serde_json::json;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub struct Shared {
    pub config: Config,
    pub queue: Arc<Queue>,
    pub filter: Filter,
    /// FIFO ids, attributes and the size limit for each forwarded message.
    pub rules: Rules,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    /// Set on SIGTERM/SIGINT: stop accepting, answer what was received.
    pub stopping: AtomicBool,
    /// The end of the drain time, once stopping.
    pub cutoff: Arc<Cutoff>,
    /// Bearer tokens and TLS configuration, reloaded on SIGHUP.
    pub ingress: Ingress,
}

impl Shared {
    pub fn health_response(&self) -> Response {
        match self.health.problem() {
            None => Response::json(200, &json!({ "status": "healthy" })),
            Some(reason) => {
                Response::json(503, &json!({ "status": "unhealthy", "reason": reason }))
                    .with_header("Retry-After", "1".to_string())
            }
        }
    }

    pub fn metrics_response(&self) -> Response {
        let text = self.metrics.render(&Gauges {
            queue_depth: self.queue.len(),
            queue_capacity: self.queue.capacity(),
            filter_hosts: self.filter.len(),
            filter_evicted: self.filter.evicted(),
            healthy: self.health.problem().is_none(),
            cpu_seconds: sys::process_cpu_seconds(),
        });
        Response::new(200, "text/plain; version=0.0.4", text)
    }
}
