//! `GET /stats`: what the stand-in counted, as one JSON object a bench script reads.
use crate::queue::Queue;
use serde_json::json;
use std::sync::atomic::Ordering::Relaxed;

pub fn json(queue: &Queue) -> String {
    let c = &queue.counters;
    // Microseconds in the histogram, milliseconds in the answer.
    let ms = |q: f64| queue.delete_latency_us.quantile(q).map(|us| us / 1000.0);
    json!({
        "sent": c.sent.load(Relaxed),
        "received": c.received.load(Relaxed),
        "deleted": c.deleted.load(Relaxed),
        "in_flight": c.in_flight(),
        "remaining": queue.remaining(),
        "receive_calls": c.receive_calls.load(Relaxed),
        "empty_receives": c.empty_receives.load(Relaxed),
        "errors": c.errors.load(Relaxed),
        "delete_latency_p50_ms": ms(0.50),
        "delete_latency_p99_ms": ms(0.99),
    })
    .to_string()
}
