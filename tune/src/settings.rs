//! The list of settings `tune` manages, each with its goal and the one-line reason it exists.
//!
//! Three families: kernel parameters (sysctl, applied through /proc/sys and persisted in
//! /etc/sysctl.d), the login open-file limit (/etc/security/limits.d), and docker daemon keys
//! (/etc/docker/daemon.json). Names are the sysctl names, `limits.nofile`, and
//! `docker.<key>`; `--only` filters on them by prefix.
use crate::sizing::{Sizing, ADDRESS_POOL_BASE};
use serde_json::{json, Value};

/// What a kernel parameter must satisfy. Goals are one-sided on purpose: tune raises limits but
/// never lowers a value a host already has above the need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    AtLeast(u64),
    AtMost(u64),
    Exactly(u64),
    /// `ip_local_port_range`: the range must hold `width` ports; widened downwards to 1024.
    PortRange {
        width: u64,
    },
}

/// Highest ephemeral port; the range is widened by lowering its start.
pub const PORT_MAX: u64 = 65_535;
/// Lowest port a range may start at (below are the privileged ports).
pub const PORT_MIN: u64 = 1024;

impl Goal {
    /// The value to hold given the current one: the current value when it already meets the goal,
    /// else the nearest value that does. `current` is the kernel's whitespace-separated numbers.
    pub fn desired(self, current: &[u64]) -> Vec<u64> {
        let first = current.first().copied().unwrap_or(0);
        match self {
            Goal::AtLeast(n) => vec![first.max(n)],
            Goal::AtMost(n) => vec![first.min(n)],
            Goal::Exactly(n) => vec![n],
            Goal::PortRange { width } => {
                let (low, high) = match current {
                    [low, high, ..] => (*low, *high),
                    _ => (PORT_MAX + 1, 0),
                };
                if high >= low && high - low + 1 >= width {
                    vec![low, high]
                } else {
                    let high = PORT_MAX;
                    vec![(high + 1).saturating_sub(width).max(PORT_MIN), high]
                }
            }
        }
    }

    pub fn is_met(self, current: &[u64]) -> bool {
        self.desired(current) == current
    }

    /// The goal in words, for the plan table ("≥ 65536").
    pub fn describe(self) -> String {
        match self {
            Goal::AtLeast(n) => format!(">= {n}"),
            Goal::AtMost(n) => format!("<= {n}"),
            Goal::Exactly(n) => format!("= {n}"),
            Goal::PortRange { width } => format!("{width} ports"),
        }
    }
}

/// A setting's family and target.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A kernel parameter; the name is its sysctl name.
    Sysctl(Goal),
    /// Soft and hard `nofile` for every login, in limits.d.
    Nofile(u64),
    /// A key of daemon.json at `path` (top-level key, then nested keys) that must equal `value`.
    Docker {
        path: Vec<&'static str>,
        value: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub name: String,
    pub kind: Kind,
    pub reason: String,
}

fn sysctl(name: &str, goal: Goal, reason: String) -> Setting {
    Setting {
        name: name.to_string(),
        kind: Kind::Sysctl(goal),
        reason,
    }
}

/// Every setting for a fleet of `s.nodes`, in the order they are shown and applied. `fs.nr_open`
/// comes before anything that relies on it (the open-file limits).
pub fn all(s: &Sizing) -> Vec<Setting> {
    let n = s.nodes;
    let mut out = vec![
        sysctl(
            "net.netfilter.nf_conntrack_max",
            Goal::AtLeast(s.conntrack_max),
            format!("{n} nodes x 64 tracked connections x 4 headroom; a full table drops new connections silently"),
        ),
        sysctl(
            "net.core.somaxconn",
            Goal::AtLeast(s.backlog),
            format!("accept queue for a region's {n} nodes reconnecting at once to a proxy or the orchestrator"),
        ),
        sysctl(
            "net.ipv4.tcp_max_syn_backlog",
            Goal::AtLeast(s.backlog),
            "half-open connections during the same reconnect burst".to_string(),
        ),
        sysctl(
            "net.ipv4.ip_local_port_range",
            Goal::PortRange { width: s.port_range_width },
            format!("{n} nodes x 16 ephemeral ports for NAT'd connections and TIME_WAIT"),
        ),
    ];
    for family in ["ipv4", "ipv6"] {
        for (i, value) in s.neigh.iter().enumerate() {
            let what = [
                "entries kept without garbage collection",
                "soft limit",
                "hard limit",
            ][i];
            out.push(sysctl(
                &format!("net.{family}.neigh.default.gc_thresh{}", i + 1),
                Goal::AtLeast(*value),
                format!(
                    "neighbour table {what}: one entry per container interface ({n}) x 2 or more"
                ),
            ));
        }
    }
    for buf in ["rmem_max", "wmem_max"] {
        out.push(sysctl(
            &format!("net.core.{buf}"),
            Goal::AtLeast(128 << 20),
            "128 MiB socket buffers for the proxies' bursts to SQS (a ceiling, not an allocation)"
                .to_string(),
        ));
    }
    out.extend([
        sysctl(
            "fs.nr_open",
            Goal::AtLeast(s.nofile),
            format!(
                "per-process ceiling for the {} open-file limit below",
                s.nofile
            ),
        ),
        sysctl(
            "fs.file-max",
            Goal::AtLeast(s.file_max),
            format!("whole-host open files: {n} containers x 512"),
        ),
        sysctl(
            "vm.overcommit_memory",
            Goal::Exactly(1),
            "many small containers reserve far more memory than they touch".to_string(),
        ),
        sysctl(
            "vm.swappiness",
            Goal::AtMost(10),
            "keep agents' heartbeats out of swap so nodes are not marked disconnected".to_string(),
        ),
        Setting {
            name: "limits.nofile".to_string(),
            kind: Kind::Nofile(s.nofile),
            reason: format!(
                "orchestrator and each proxy hold a socket per node ({n} x 16, min 65536)"
            ),
        },
        Setting {
            name: "docker.default-address-pools".to_string(),
            kind: Kind::Docker {
                path: vec!["default-address-pools"],
                value: json!([{ "base": ADDRESS_POOL_BASE, "size": s.network_prefix }]),
            },
            reason: format!(
                "networks of /{} hold all {n} nodes of a region",
                s.network_prefix
            ),
        },
        Setting {
            name: "docker.log-driver".to_string(),
            kind: Kind::Docker {
                path: vec!["log-driver"],
                value: json!("local"),
            },
            reason: "rotated, compressed container logs instead of json-file's unbounded ones"
                .to_string(),
        },
        Setting {
            name: "docker.default-ulimits.nofile".to_string(),
            kind: Kind::Docker {
                path: vec!["default-ulimits", "nofile"],
                value: json!({ "Name": "nofile", "Soft": s.nofile, "Hard": s.nofile }),
            },
            reason: "containers start with the same open-file limit".to_string(),
        },
    ]);
    out
}

/// The settings whose name starts with one of `prefixes` (all of them when `prefixes` is
/// empty).
pub fn filtered(all: Vec<Setting>, prefixes: &[String]) -> Vec<Setting> {
    if prefixes.is_empty() {
        return all;
    }
    all.into_iter()
        .filter(|s| prefixes.iter().any(|p| s.name.starts_with(p.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_never_lowers() {
        assert_eq!(Goal::AtLeast(100).desired(&[50]), vec![100]);
        assert_eq!(Goal::AtLeast(100).desired(&[500]), vec![500]);
        assert!(Goal::AtLeast(100).is_met(&[100]));
        assert!(!Goal::AtLeast(100).is_met(&[99]));
    }

    #[test]
    fn at_most_and_exactly() {
        assert_eq!(Goal::AtMost(10).desired(&[60]), vec![10]);
        assert!(Goal::AtMost(10).is_met(&[0]));
        assert_eq!(Goal::Exactly(1).desired(&[0]), vec![1]);
        assert!(!Goal::Exactly(1).is_met(&[2]));
    }

    #[test]
    fn port_range_widens_downwards_and_keeps_a_wide_enough_range() {
        let goal = Goal::PortRange { width: 40_000 };
        assert_eq!(goal.desired(&[32_768, 60_999]), vec![25_536, 65_535]);
        assert!(goal.is_met(&[10_000, 60_000]));
        let widest = Goal::PortRange { width: 64_512 };
        assert_eq!(widest.desired(&[32_768, 60_999]), vec![1024, 65_535]);
    }

    #[test]
    fn every_fleet_size_has_the_same_names() {
        let a: Vec<_> = all(&Sizing::for_nodes(3))
            .into_iter()
            .map(|s| s.name)
            .collect();
        let b: Vec<_> = all(&Sizing::for_nodes(50_000))
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(a, b);
        assert!(a.contains(&"net.ipv6.neigh.default.gc_thresh3".to_string()));
    }

    #[test]
    fn filter_by_prefix() {
        let only = filtered(
            all(&Sizing::for_nodes(3)),
            &["net.core.".into(), "docker.".into()],
        );
        let names: Vec<_> = only.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "net.core.somaxconn",
                "net.core.rmem_max",
                "net.core.wmem_max",
                "docker.default-address-pools",
                "docker.log-driver",
                "docker.default-ulimits.nofile"
            ]
        );
    }
}
