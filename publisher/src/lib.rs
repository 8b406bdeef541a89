//! The sensor side of edge sensors: the Bacalhau-compatible WASM host (`edge-node`) and the
//! job-spec reader it shares with the demo.
//!
//! Unsafe code is denied everywhere except `sys.rs`, the one place that talks to libc.
#![deny(unsafe_code)]
pub mod jobspec;

pub mod args;
pub mod cli;
pub mod error;
pub mod fleet;
pub mod ids;
pub mod job;
pub mod net;
pub mod runner;
mod sys;
