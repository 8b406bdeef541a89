//! How big each limit must be for a fleet of N edge nodes on one host.
//!
//! The numbers are per-node estimates of the demo's traffic (one Bacalhau agent with a NATS
//! connection and heartbeats, publisher jobs sending one HTTP request every few seconds, each
//! leaving a TIME_WAIT entry for two minutes), multiplied by a headroom factor and rounded up to
//! a power of two, because the kernel hashes most of these tables by powers of two. Nothing
//! here is ever *lowered* by tune: a host already above a value keeps its own (see settings.rs).

/// Connection-tracking entries one node can hold at once: agent ↔ orchestrator, publisher
/// requests (a new connection per message, 24 per 2-minute TIME_WAIT window at 5 s), a v1 and a
/// v2 job during a rollout, DNS.
pub const CONNTRACK_PER_NODE: u64 = 64;
/// Safety factor on tables whose overflow drops packets silently (conntrack, neighbours).
pub const HEADROOM: u64 = 4;
/// Ephemeral ports one node's traffic can hold on the host side (NAT towards the proxies and
/// the orchestrator).
pub const PORTS_PER_NODE: u64 = 16;
/// Open files a busy per-host process (orchestrator, a regional proxy) needs per node: a socket
/// per node plus the one it forwards on.
pub const FILES_PER_NODE: u64 = 16;
/// Whole-host open files per node container (the agent's sockets, logs, the module file).
pub const HOST_FILES_PER_NODE: u64 = 512;
/// Container addresses on one network: all nodes may sit in one region.
pub const ADDRESS_POOL_BASE: &str = "172.20.0.0/14";
/// Bits of [`ADDRESS_POOL_BASE`]'s prefix.
pub const ADDRESS_POOL_BITS: u32 = 14;

/// The sized values for one fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing {
    pub nodes: u64,
    pub conntrack_max: u64,
    /// Listen backlog (somaxconn and tcp_max_syn_backlog): a whole region reconnecting at once.
    pub backlog: u64,
    /// How many ephemeral ports the range must hold.
    pub port_range_width: u64,
    /// Neighbour-table thresholds (gc_thresh1, 2, 3).
    pub neigh: [u64; 3],
    pub nofile: u64,
    pub file_max: u64,
    /// Prefix length of each docker network carved from the address pool.
    pub network_prefix: u32,
}

/// Largest fleet `--nodes` accepts: beyond it the tables would exceed what one host can hold.
pub const MAX_NODES: u64 = 100_000;

impl Sizing {
    pub fn for_nodes(nodes: u64) -> Sizing {
        let nodes = nodes.clamp(1, MAX_NODES);
        let neigh1 = pow2(2 * nodes).max(1024);
        // The kernel caps nofile at fs.nr_open (at most 2^30); our largest value is far below.
        let nofile = pow2(nodes * FILES_PER_NODE).max(65_536);
        Sizing {
            nodes,
            conntrack_max: pow2(nodes * CONNTRACK_PER_NODE * HEADROOM).max(131_072),
            // 65535 is the most a u16 backlog field held on older kernels; stay below it.
            backlog: pow2(nodes * 2).clamp(4096, 65_535),
            // 1024..=65535 is the widest range that leaves the privileged ports alone.
            port_range_width: (nodes * PORTS_PER_NODE).clamp(28_232, 64_512),
            neigh: [neigh1, neigh1 * 2, neigh1 * 4],
            nofile,
            file_max: pow2(nodes * HOST_FILES_PER_NODE)
                .max(1_048_576)
                .max(nofile * 2),
            network_prefix: network_prefix(nodes),
        }
    }
}

/// Smallest power of two ≥ `n` (≥ 1).
pub fn pow2(n: u64) -> u64 {
    n.max(1).next_power_of_two()
}

/// Prefix length giving each docker network room for every node plus gateway, broadcast and a
/// few service containers, kept between /16 (few networks) and /24 (docker's usual size).
fn network_prefix(nodes: u64) -> u32 {
    let addresses = pow2(nodes + 16);
    let host_bits = addresses.trailing_zeros();
    (32 - host_bits).clamp(ADDRESS_POOL_BITS + 2, 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_fleets_keep_sane_minimums() {
        let s = Sizing::for_nodes(3);
        assert_eq!(s.conntrack_max, 131_072);
        assert_eq!(s.backlog, 4096);
        assert_eq!(s.port_range_width, 28_232);
        assert_eq!(s.neigh, [1024, 2048, 4096]);
        assert_eq!(s.nofile, 65_536);
        assert_eq!(s.network_prefix, 24);
    }

    #[test]
    fn values_grow_with_the_fleet() {
        let s = Sizing::for_nodes(10_000);
        assert_eq!(s.conntrack_max, 4_194_304); // 10k × 64 × 4 = 2.56 M → 4 Mi
        assert_eq!(s.backlog, 32_768);
        assert_eq!(s.port_range_width, 64_512);
        assert_eq!(s.neigh, [32_768, 65_536, 131_072]);
        assert_eq!(s.nofile, 262_144);
        assert_eq!(s.file_max, 8_388_608);
        assert_eq!(s.network_prefix, 18); // 16 384 addresses per network
    }

    #[test]
    fn backlog_never_exceeds_the_u16_limit() {
        assert_eq!(Sizing::for_nodes(MAX_NODES).backlog, 65_535);
    }

    #[test]
    fn node_count_is_clamped() {
        assert_eq!(Sizing::for_nodes(0).nodes, 1);
        assert_eq!(Sizing::for_nodes(u64::MAX).nodes, MAX_NODES);
    }
}
