//! The day-2 commands: `status`, `down`, `disconnect`, `reconnect`, `scale`.
//!
//! Why `disconnect` is `docker stop` and not `docker network disconnect`: a stopped container
//! keeps its id, hostname and filesystem, so when it starts again Bacalhau sees the same node
//! id (NameProvider: hostname) and resumes, exactly what demo.sh did with `compose stop`. A
//! network-disconnected node keeps running: its processes spin on connection errors, still
//! cost CPU on a 2-core box, and its jobs keep running and buffering, which is not what "the
//! region went dark" means; and reattaching changes its IP. Stop is also one cheap call per
//! container and survives provisioner restarts (the state lives in docker).
use crate::args::REGIONS;
use crate::context::Context;
use crate::docker::Container;
use crate::error::{Error, ErrorKind};
use crate::pool::run_bounded;
use serde_json::json;
use std::time::Duration;

/// Containers removed (or stopped) per docker call, and calls in flight. The CLI removes a call's
/// names concurrently, and docker 20.10 loses updates to a network's endpoint count under
/// many concurrent removals on one network (seen here at 100-300 nodes: the network then
/// refuses `rm` with "active endpoints" and none attached), so removal stays at ~8 at a time.
const REMOVE_PER_CALL: usize = 4;
const REMOVE_CALLS: usize = 2;

pub fn status(ctx: &Context) -> Result<(), Error> {
    let containers = ctx.docker.containers(ctx.project())?;
    let networks = ctx.docker.labelled("network", ctx.project())?;
    let volumes = ctx.docker.labelled("volume", ctx.project())?;
    let core: Vec<&Container> = containers.iter().filter(|c| c.role != "edge").collect();
    let counts = |region: &str| {
        let edges = containers
            .iter()
            .filter(|c| c.role == "edge" && c.region == region);
        let running = edges.clone().filter(|c| c.is_running()).count();
        (running, edges.count() - running)
    };
    if ctx.args.json {
        let core_json: serde_json::Map<String, serde_json::Value> = core
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    json!({"role": c.role, "region": c.region, "state": c.state}),
                )
            })
            .collect();
        let regions: serde_json::Map<String, serde_json::Value> = REGIONS
            .iter()
            .map(|r| {
                let (running, stopped) = counts(r);
                (
                    r.to_string(),
                    json!({"running": running, "stopped": stopped, "total": running + stopped}),
                )
            })
            .collect();
        let out = json!({"project": ctx.project(), "core": core_json, "edges": regions,
                         "networks": networks, "volumes": volumes});
        println!("{out}");
        return Ok(());
    }
    println!(
        "project {}: {} containers, {} networks, {} volumes",
        ctx.project(),
        containers.len(),
        networks.len(),
        volumes.len()
    );
    for c in &core {
        println!("  {:<32} {}", c.name, c.state);
    }
    println!(
        "  {:<8} {:>8} {:>8} {:>8}",
        "region", "running", "stopped", "total"
    );
    for r in REGIONS {
        let (running, stopped) = counts(r);
        println!(
            "  {r:<8} {running:>8} {stopped:>8} {:>8}",
            running + stopped
        );
    }
    Ok(())
}

/// Removes exactly the containers (with their anonymous volumes), networks and volumes that
/// carry this project's label.
pub fn down(ctx: &Context) -> Result<(), Error> {
    let containers = ctx.docker.containers(ctx.project())?;
    let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
    let chunks: Vec<&[String]> = names.chunks(REMOVE_PER_CALL).collect();
    let errors = run_bounded(
        &chunks,
        REMOVE_CALLS,
        |chunk| {
            let mut args = vec!["rm".to_string(), "-f".into(), "-v".into()];
            args.extend(chunk.iter().cloned());
            ctx.docker
                .run(&args, &format!("containers {}", chunk.join(", ")), "remove")
                .map(drop)
        },
        |_, _| {},
    );
    if let Some((_, e)) = errors.into_iter().next() {
        return Err(e);
    }
    let networks = ctx.docker.labelled("network", ctx.project())?;
    // Keep going past a stuck network so one docker hiccup does not strand the rest.
    let mut first_error = None;
    for net in &networks {
        if let Err(e) = remove_network(ctx, net, &names) {
            eprintln!("provisioner: {e}");
            first_error.get_or_insert(e);
        }
    }
    let volumes = ctx.docker.labelled("volume", ctx.project())?;
    for vol in &volumes {
        ctx.docker
            .run(&["volume", "rm", vol], &format!("volume {vol}"), "remove")?;
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    crate::proxy_token::remove(&ctx.args.config_dir)?;
    crate::node_config::remove_all(&ctx.args.config_dir, &REGIONS)?;
    eprintln!(
        "down: removed {} containers, {} networks, {} volumes",
        names.len(),
        networks.len(),
        volumes.len()
    );
    Ok(())
}

/// `docker network rm`, tolerating docker 20.10's occasional stale endpoint after many
/// concurrent removals (seen here once in a few 100-container runs: "has active endpoints"
/// with no container attached). Retries briefly, then force-disconnects every container name
/// the project had, then tries once more; the error says what to do if it still fails.
fn remove_network(ctx: &Context, net: &str, containers: &[String]) -> Result<(), Error> {
    let resource = format!("network {net}");
    let mut last = None;
    for attempt in 0..4 {
        if attempt == 3 {
            for name in containers {
                // Unknown names fail harmlessly; only a stale endpoint is affected.
                let _ = ctx
                    .docker
                    .succeeds(&["network", "disconnect", "-f", net, name]);
            }
        }
        match ctx.docker.run(&["network", "rm", net], &resource, "remove") {
            Ok(_) => return Ok(()),
            Err(e) if e.to_string().contains("active endpoints") => last = Some(e),
            Err(e) => return Err(e),
        }
        std::thread::sleep(Duration::from_millis(500 * (attempt + 1)));
    }
    let e = match last.as_ref().map(Error::kind) {
        Some(ErrorKind::Docker { message, .. }) => message.clone(),
        _ => String::new(),
    };
    Err(Error::docker(
        &resource,
        "remove",
        &format!(
            "{e}\n(no container of the project is attached any more: docker kept a stale \
             endpoint; restarting dockerd clears it, then run `provisioner down` again)"
        ),
    ))
}

/// Edge containers of `region`, ordered by node number.
fn region_edges(ctx: &Context, region: &str) -> Result<Vec<Container>, Error> {
    let mut edges: Vec<Container> = ctx
        .docker
        .containers(ctx.project())?
        .into_iter()
        .filter(|c| c.role == "edge" && c.region == region)
        .collect();
    edges.sort_by_key(|c| c.index.unwrap_or(u32::MAX));
    Ok(edges)
}

pub fn disconnect(ctx: &Context, region: &str) -> Result<(), Error> {
    let running: Vec<String> = region_edges(ctx, region)?
        .into_iter()
        .filter(Container::is_running)
        .map(|c| c.name)
        .collect();
    if running.is_empty() {
        eprintln!("disconnect {region}: no running edge nodes");
        return Ok(());
    }
    // Stopping tears down the network endpoint too: same concurrency bound as removal.
    let chunks: Vec<&[String]> = running.chunks(REMOVE_PER_CALL).collect();
    let errors = run_bounded(
        &chunks,
        REMOVE_CALLS,
        |chunk| {
            // A short grace period: the runner exits on SIGTERM promptly; waiting docker's default
            // 10 s per container would make a 300-node disconnect crawl.
            let mut args = vec!["stop".to_string(), "--time".into(), "3".into()];
            args.extend(chunk.iter().cloned());
            ctx.docker
                .run(&args, &format!("containers {}", chunk.join(", ")), "stop")
                .map(drop)
        },
        |_, _| {},
    );
    if let Some((_, e)) = errors.into_iter().next() {
        return Err(e);
    }
    eprintln!(
        "disconnect {region}: stopped {} edge nodes (ids and hostnames kept)",
        running.len()
    );
    Ok(())
}

pub fn reconnect(ctx: &Context, region: &str) -> Result<(), Error> {
    let stopped: Vec<String> = region_edges(ctx, region)?
        .into_iter()
        .filter(|c| !c.is_running())
        .map(|c| c.name)
        .collect();
    if stopped.is_empty() {
        eprintln!("reconnect {region}: no stopped edge nodes");
        return Ok(());
    }
    let batches: Vec<&[String]> = stopped.chunks(ctx.args.batch).collect();
    for (i, batch) in batches.iter().enumerate() {
        let mut args = vec!["start".to_string()];
        args.extend(batch.iter().cloned());
        ctx.docker
            .run(&args, &format!("containers {}", batch.join(", ")), "start")?;
        let done = (i * ctx.args.batch + batch.len()).min(stopped.len());
        eprintln!("reconnect {region}: {done}/{} started", stopped.len());
        // Pacing so a returning region does not hit the orchestrator all at once (demo.sh's
        // MS_BETWEEN_RECONNECT); none after the last batch.
        if i + 1 < batches.len() && ctx.args.ms_between > 0 {
            std::thread::sleep(Duration::from_millis(ctx.args.ms_between));
        }
    }
    Ok(())
}

/// Sets REGION's edge count: creates missing nodes (1..=N) and removes those numbered above
/// N. Stopped (disconnected) nodes inside the range stay stopped: use `reconnect` for them.
pub fn scale(ctx: &Context, region: &str, count: u32) -> Result<(), Error> {
    crate::up::ensure_networks(ctx)?;
    let all = ctx.docker.containers(ctx.project())?;
    let edges: Vec<&Container> = all
        .iter()
        .filter(|c| c.role == "edge" && c.region == region)
        .collect();
    let elsewhere = all
        .iter()
        .filter(|c| c.role == "edge" && c.region != region)
        .count() as u64;
    crate::tune::check_capacity(elsewhere + u64::from(count), ctx.args.force)?;
    let extra: Vec<String> = edges
        .iter()
        .filter(|c| c.index.is_some_and(|i| i > count))
        .map(|c| c.name.clone())
        .collect();
    for chunk in extra.chunks(REMOVE_PER_CALL) {
        let mut args = vec!["rm".to_string(), "-f".into(), "-v".into()];
        args.extend(chunk.iter().cloned());
        ctx.docker
            .run(&args, &format!("containers {}", chunk.join(", ")), "remove")?;
    }
    let stopped_in_range: Vec<Container> = edges
        .iter()
        .filter(|c| !c.is_running() && c.index.is_some_and(|i| i <= count))
        .map(|c| (*c).clone())
        .collect();
    // Stopped nodes count as present: pretend they run so the planner skips them.
    let existing: Vec<Container> = all
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if stopped_in_range.iter().any(|s| s.name == c.name) {
                c.state = "running".into();
            }
            c
        })
        .collect();
    let mut counts = [0u32; 3];
    counts[crate::args::HiArgs::region_index(region)] = count;
    crate::up::bring_edges(ctx, &existing, &ctx.vars()?, &counts)?;
    eprintln!(
        "scale {region}: {count} edge nodes ({} removed, {} left stopped)",
        extra.len(),
        stopped_in_range.len()
    );
    Ok(())
}
