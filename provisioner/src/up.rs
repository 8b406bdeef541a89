//! `up`: networks, then the core services (each waited on until healthy), then edge nodes.
//! Idempotent: everything is found by name and label first; running containers are left
//! alone, stopped ones are started, missing ones created.
use crate::args::REGIONS;
use crate::containers::{core_name, network_name, Plan};
use crate::context::Context;
use crate::docker::Container;
use crate::edges::{plan_region, Launcher};
use crate::error::{Error, ErrorKind};
use crate::health::{wait_healthy, wait_settled, SETTLE};
use crate::node_config;
use crate::profile::Role;
use crate::proxy_token;
use crate::queue;
use crate::template::Vars;
use std::time::Duration;

pub fn up(ctx: &Context) -> Result<(), Error> {
    crate::tune::check_capacity(ctx.args.total_edges(), ctx.args.force)?;
    // First: a token file that cannot be used fails `up` before anything is created.
    proxy_token::prepare(&ctx.args.config_dir, ctx.args.proxy_token_file.as_deref())?;
    ensure_images(ctx)?;
    ensure_networks(ctx)?;
    node_config::write_all(&ctx.args.config_dir, &REGIONS)?;
    let existing = ctx.docker.containers(ctx.project())?;
    let vars = ctx.vars()?;
    ensure_queue(ctx, &vars)?;
    let mut started = Vec::new();
    for (plan, role, port) in core_plans(ctx) {
        let service = ctx.profile.service(role);
        if !service.enabled {
            continue;
        }
        let vars = vars.with(
            "proxy_port",
            port.map(|p| p.to_string()).unwrap_or_default(),
        );
        ensure_core(ctx, &existing, &plan, &vars)?;
        let timeout = Duration::from_secs(service.health_timeout_s);
        let vars = vars.with("region", plan.region.clone().unwrap_or_default());
        wait_healthy(&ctx.docker, &plan.name, &service.health, &vars, timeout)?;
        eprintln!("{:<28} healthy", plan.name);
        started.push((plan.name.clone(), service.health.clone(), vars));
    }
    // Healthy once is not enough: the original `up` said "ready" while the puller had already
    // exited. Every core service must still be running (and pass its check) a while later.
    wait_settled(&ctx.docker, &started)?;
    eprintln!(
        "core: {} services still running after {}s",
        started.len(),
        SETTLE.as_secs()
    );
    bring_edges(ctx, &existing, &vars, &ctx.args.counts)?;
    eprintln!("up: project {} ready", ctx.project());
    Ok(())
}

/// Every image `up` will run is on this host (pulled if need be) before anything is created,
/// so a missing image fails at once with what to do, not halfway through the core.
fn ensure_images(ctx: &Context) -> Result<(), Error> {
    let vars = ctx.vars()?;
    let mut checked: Vec<String> = Vec::new();
    for role in [
        Role::Orchestrator,
        Role::WebServices,
        Role::Proxy,
        Role::Puller,
        Role::Edge,
    ] {
        let service = ctx.profile.service(role);
        if !service.enabled || (role == Role::Edge && ctx.args.total_edges() == 0) {
            continue;
        }
        let image = vars.expand(&service.image);
        if checked.contains(&image) {
            continue;
        }
        ctx.docker.ensure_image(&image).map_err(|message| {
            Error::new(ErrorKind::ImageUnavailable {
                role: role.key().to_string(),
                image: image.clone(),
                message,
            })
        })?;
        checked.push(image);
    }
    Ok(())
}

/// The queue exists before the services that use it start (created unless forbidden). A
/// service uses it when its command or environment names `{queue_url}`; stand-ins that do
/// not (benchmarks, lifecycle tests) need no SQS at all.
fn ensure_queue(ctx: &Context, vars: &Vars) -> Result<(), Error> {
    let uses_queue = |s: &&crate::profile::Service| {
        s.enabled
            && (s.command.iter().any(|a| a.contains("{queue_url}"))
                || s.env.iter().any(|(_, v)| v.contains("{queue_url}")))
    };
    let user = [&ctx.profile.puller, &ctx.profile.proxy]
        .into_iter()
        .find(uses_queue);
    let Some(service) = user else {
        return Ok(());
    };
    let queue_url = vars.expand("{queue_url}");
    let endpoint = vars.expand("{endpoint_url}");
    let endpoint = if endpoint == "{endpoint_url}" {
        String::new()
    } else {
        endpoint
    };
    let outcome = queue::ensure(
        &queue_url,
        &endpoint,
        service,
        vars,
        !ctx.args.no_create_queue,
    )?;
    let what = match outcome {
        queue::Outcome::Existed => "exists",
        queue::Outcome::Created => "created",
    };
    eprintln!("queue {} {what}", safe_text::inert(&queue_url));
    Ok(())
}

/// Brings each region to `counts` (in region order) with the configured launch mode.
pub fn bring_edges(
    ctx: &Context,
    existing: &[Container],
    vars: &Vars,
    counts: &[u32; 3],
) -> Result<(), Error> {
    let per_region: Vec<_> = REGIONS
        .iter()
        .zip(counts)
        .map(|(region, count)| {
            let (tasks, running) = plan_region(ctx.project(), region, *count, existing);
            (region.to_string(), tasks, running)
        })
        // Regions with nothing to do get no progress bar (scale touches one region only).
        .filter(|(_, tasks, _): &(String, Vec<_>, u64)| !tasks.is_empty())
        .collect();
    if per_region.is_empty() {
        eprintln!(
            "edge nodes: all {} already running",
            counts.iter().sum::<u32>()
        );
        return Ok(());
    }
    let proxy_ports = ctx.proxy_ports();
    let launcher = Launcher {
        docker: &ctx.docker,
        project: ctx.project(),
        service: &ctx.profile.edge,
        vars,
        proxy_ports: &proxy_ports,
    };
    launcher.launch(&per_region, ctx.args.launch)
}

/// The core network and one network per region, each labelled with the project.
pub fn ensure_networks(ctx: &Context) -> Result<(), Error> {
    let have = ctx.docker.labelled("network", ctx.project())?;
    let label = ctx.project_label();
    for net in std::iter::once("core").chain(REGIONS) {
        let name = network_name(ctx.project(), net);
        if have.contains(&name) {
            continue;
        }
        let net_label = format!("edge-sensors.network={net}");
        let args = [
            "network", "create", "--label", &label, "--label", &net_label, &name,
        ];
        ctx.docker
            .run(&args, &format!("network {name}"), "create")?;
    }
    Ok(())
}

/// Core containers in start order, with the proxy port for proxies.
fn core_plans(ctx: &Context) -> Vec<(Plan, Role, Option<u16>)> {
    let project = ctx.project();
    let core_net = network_name(project, "core");
    let plan = |role: Role, region: Option<&str>| Plan {
        name: core_name(project, role, region),
        hostname: match region {
            Some(r) => format!("{}-{r}", role.key().replace('_', "-")),
            None => role.key().replace('_', "-"),
        },
        role,
        region: region.map(String::from),
        index: None,
        network: core_net.clone(),
    };
    let mut plans = vec![
        (plan(Role::Orchestrator, None), Role::Orchestrator, None),
        (plan(Role::WebServices, None), Role::WebServices, None),
    ];
    for (region, port) in ctx.proxy_ports() {
        plans.push((plan(Role::Proxy, Some(&region)), Role::Proxy, Some(port)));
    }
    plans.push((plan(Role::Puller, None), Role::Puller, None));
    plans
}

fn ensure_core(
    ctx: &Context,
    existing: &[Container],
    plan: &Plan,
    vars: &Vars,
) -> Result<(), Error> {
    let resource = format!("container {}", plan.name);
    match existing.iter().find(|c| c.name == plan.name) {
        Some(c) if c.is_running() => Ok(()),
        Some(_) => ctx
            .docker
            .run(&["start", &plan.name], &resource, "start")
            .map(drop),
        None => {
            let args = plan.run_args(ctx.project(), ctx.profile.service(plan.role), vars);
            ctx.docker
                .run(&args, &resource, "create and start")
                .map(drop)
        }
    }
}
