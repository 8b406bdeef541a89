//! Not a test: writes the benchmark guest (POST then sleep 1 s, forever) for
//! bench/runner/run.sh. Run with `EDGE_BENCH_GUEST=path EDGE_BENCH_URL=http://.. cargo test
//! -p edge-node --test runner_bench_guest -- --ignored`.
mod support;

#[test]
#[ignore = "writes the benchmark guest; run by bench/runner/run.sh"]
fn write_bench_guest() {
    let path = std::env::var("EDGE_BENCH_GUEST").expect("EDGE_BENCH_GUEST=output path");
    let url = std::env::var("EDGE_BENCH_URL").expect("EDGE_BENCH_URL=http://host:port/send");
    let interval_ms: i64 = std::env::var("EDGE_BENCH_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    std::fs::write(&path, support::poster(&url, interval_ms, 0).encode()).expect("write guest");
}
