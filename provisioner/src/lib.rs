//! `provisioner`: stands up and operates the edge-sensors network with the docker CLI,
//! replacing the original demo.sh and compose file.
//!
//! Model: every resource is named after the project (`--project`, default `edge-sensors`) and
//! labelled `edge-sensors.project=<project>`; docker itself is the only state, found again with
//! `docker ps -a --filter label=...`, so every command is idempotent and `down` removes exactly
//! what carries the label. What runs in each container (images, commands, health checks,
//! environment) comes from a [`profile::Profile`]: the real Bacalhau images by default, or
//! locally built stand-ins.
#![deny(unsafe_code)]

pub mod args;
pub mod containers;
pub mod context;
pub mod defaults;
pub mod docker;
pub mod edges;
pub mod error;
pub mod health;
pub mod images;
pub mod node_config;
pub mod ops;
pub mod pool;
pub mod profile;
pub mod progress;
pub mod proxy_token;
pub mod queue;
#[allow(unsafe_code)]
pub mod sys;
pub mod template;
pub mod tune;
pub mod up;

use args::{Command, HiArgs};
use context::Context;
use error::Error;

/// Runs one validated command.
pub fn run(args: HiArgs) -> Result<(), Error> {
    if args.command == Command::Images {
        return images::build_all(
            &docker::Docker::default(),
            &args.workspace,
            !args.no_cargo,
            &args.only,
        );
    }
    let ctx = Context::new(args)?;
    match ctx.args.command.clone() {
        Command::Up => up::up(&ctx),
        Command::Down => ops::down(&ctx),
        Command::Status => ops::status(&ctx),
        Command::Disconnect(region) => ops::disconnect(&ctx, &region),
        Command::Reconnect(region) => ops::reconnect(&ctx, &region),
        Command::Scale(region, n) => ops::scale(&ctx, &region, n),
        Command::Images => Ok(()),
    }
}
