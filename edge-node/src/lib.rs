//! `edge-node`: a Bacalhau-compatible WASM compute node for local fleets (WASI preview1 and
//! Bacalhau's `wasi:http/requests` on wasmi). Job files are read by the `jobspec` crate.
//!
//! Unsafe code is denied everywhere except `sys.rs`, the one place that talks to libc.
#![deny(unsafe_code)]
pub mod args;
pub mod check;
pub mod cli;
pub mod error;
pub mod fleet;
pub mod guest_env;
pub mod ids;
pub mod inventory;
pub mod job;
pub mod net;
pub mod runner;
mod sys;
