//! The sensor side of edge sensors: the Bacalhau-compatible WASM host (`edge-node`) and the
//! job-spec reader it shares with the demo.
pub mod jobspec;
