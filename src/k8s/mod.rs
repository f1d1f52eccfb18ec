//! A cluster's own CIDRs, learned from Kubernetes: the library side of
//! `netmap collect-cidrs`.
//!
//! Owns: turning findings into the final record set — de-duplication (one
//! record per (type, CIDR), every source kept, joined with `; `), the sort
//! order (Cilium's type order, then IPv4 before IPv6, then address and
//! prefix length), `--summarize` and cluster mesh (`--mesh-peer`).
//! [`extract`] maps objects to findings; [`live`] talks to an API server.
//! The `kube::Client` is built from an explicit [`live::ConfigChoice`] and
//! passed in; nothing here prints.
//!
//! `--summarize` invariant: node (and remote-node) host routes (/32, /128)
//! are merged only into prefixes they fill *completely* — exact aggregation
//! of contiguous, aligned runs (172.18.0.4 and 172.18.0.5 → 172.18.0.4/31;
//! 172.18.0.3 stays alone). A merged prefix therefore contains no address
//! that is not one of the merged node addresses, so it can never turn some
//! other address into a node. Other records are never merged.
//!
//! Cluster mesh: cluster A's agent is given cluster B's collect-cidrs output
//! (`--mesh-peer b.csv`); B's `node_cidr` records become A's
//! `remote_node_cidr` records (and the other way round on B's agent).

pub mod extract;
pub mod live;

use std::collections::HashMap;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use iprange::IpRange;

use crate::cidr::{CidrRecord, NetworkType};
use crate::error::{Error, Origin, Result};
pub use extract::{Extracted, Found};

/// How many sources a summarized record lists before `(+N more)`.
const SHOW_SOURCES: usize = 3;

/// One record per (type, CIDR) with all sources joined, sorted.
pub fn dedupe_sorted(found: Vec<Found>) -> Vec<Found> {
    let mut index: HashMap<(NetworkType, IpNet), usize> = HashMap::new();
    let mut out: Vec<Found> = Vec::new();
    for f in found {
        match index.get(&(f.network_type, f.cidr)) {
            Some(&i) => {
                let cur = &mut out[i];
                if !cur.source.split("; ").any(|s| s == f.source) {
                    cur.source.push_str("; ");
                    cur.source.push_str(&f.source);
                }
            }
            None => {
                index.insert((f.network_type, f.cidr), out.len());
                out.push(f);
            }
        }
    }
    out.sort_by_key(|f| (f.network_type, f.cidr));
    out
}

/// Merge node and remote-node host routes into the prefixes they fill
/// exactly (see the module doc); then de-duplicate and sort.
pub fn summarize(found: Vec<Found>) -> Vec<Found> {
    let mut keep = Vec::new();
    let mut hosts: HashMap<NetworkType, Vec<Found>> = HashMap::new();
    for f in found {
        let host = f.cidr.prefix_len() == f.cidr.max_prefix_len();
        if host && matches!(f.network_type, NetworkType::Node | NetworkType::RemoteNode) {
            hosts.entry(f.network_type).or_default().push(f);
        } else {
            keep.push(f);
        }
    }
    for (t, list) in hosts {
        let mut v4: IpRange<Ipv4Net> = IpRange::new();
        let mut v6: IpRange<Ipv6Net> = IpRange::new();
        for f in &list {
            match f.cidr {
                IpNet::V4(n) => {
                    v4.add(n);
                }
                IpNet::V6(n) => {
                    v6.add(n);
                }
            }
        }
        v4.simplify();
        v6.simplify();
        let merged = v4.iter().map(IpNet::V4).chain(v6.iter().map(IpNet::V6));
        for net in merged {
            let inside: Vec<&Found> = list.iter().filter(|f| net.contains(&f.cidr)).collect();
            let source = if net.prefix_len() == net.max_prefix_len() {
                // A lone address keeps its own (possibly already joined) source.
                inside.iter().map(|f| f.source.as_str()).collect::<Vec<_>>().join("; ")
            } else {
                let mut names: Vec<&str> = inside.iter().map(|f| f.source.as_str()).collect();
                names.dedup();
                let shown = names.iter().take(SHOW_SOURCES).copied().collect::<Vec<_>>().join("; ");
                let more = names.len().saturating_sub(SHOW_SOURCES);
                let count = net_size(net);
                if more > 0 {
                    format!("summarized {count} addresses: {shown}; (+{more} more)")
                } else {
                    format!("summarized {count} addresses: {shown}")
                }
            };
            keep.push(Found { network_type: t, cidr: net, source });
        }
    }
    dedupe_sorted(keep)
}

/// Number of addresses in a summarized prefix (at most 2^64 shown as such).
fn net_size(net: IpNet) -> u128 {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    1u128.checked_shl(bits).unwrap_or(u128::MAX)
}

/// The `node_cidr` records of a mesh peer's output as this cluster's
/// `remote_node_cidr` records. `file` names the peer file in messages.
/// Records of `this_cluster` itself and inactive records are left out; a
/// peer file with no node records is an error (it is probably the wrong file).
pub fn mesh_remote_nodes(peer: &[CidrRecord], this_cluster: &str, file: &str) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for r in peer {
        if r.network_type != NetworkType::Node || !r.is_active || r.cluster_name == this_cluster {
            continue;
        }
        let orig = if r.source.is_empty() { "node_cidr".to_string() } else { r.source.clone() };
        out.push(Found {
            network_type: NetworkType::RemoteNode,
            cidr: r.cidr,
            source: format!("mesh-peer/{} {}", r.cluster_name, orig),
        });
    }
    if out.is_empty() {
        return Err(Error::input(
            Origin::new(file, 0),
            format!(
                "mesh peer file has no active node_cidr records of a cluster other than {this_cluster:?} (expected another cluster's collect-cidrs output)"
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::read_cidr_text;

    fn f(t: NetworkType, c: &str, s: &str) -> Found {
        Found { network_type: t, cidr: c.parse().unwrap(), source: s.into() }
    }

    fn show(v: &[Found]) -> Vec<String> {
        v.iter().map(|f| format!("{} {} {}", f.network_type, f.cidr, f.source)).collect()
    }

    #[test]
    fn dedupe_joins_sources_and_sorts() {
        let out = dedupe_sorted(vec![
            f(NetworkType::Node, "10.0.0.1/32", "node/a InternalIP"),
            f(NetworkType::Pod, "fd00::/64", "node/a spec.podCIDRs"),
            f(NetworkType::Pod, "10.244.1.0/24", "node/a spec.podCIDRs"),
            f(NetworkType::Pod, "10.244.1.0/24", "ciliumnode/a spec.ipam.podCIDRs"),
            f(NetworkType::Pod, "10.244.1.0/24", "node/a spec.podCIDRs"),
            f(NetworkType::Pod, "10.244.0.0/24", "node/b spec.podCIDRs"),
        ]);
        assert_eq!(
            show(&out),
            [
                "pod_cidr 10.244.0.0/24 node/b spec.podCIDRs",
                "pod_cidr 10.244.1.0/24 node/a spec.podCIDRs; ciliumnode/a spec.ipam.podCIDRs",
                "pod_cidr fd00::/64 node/a spec.podCIDRs",
                "node_cidr 10.0.0.1/32 node/a InternalIP",
            ]
        );
    }

    #[test]
    fn summarize_merges_only_full_aligned_runs() {
        let out = summarize(vec![
            f(NetworkType::Node, "172.18.0.3/32", "node/a InternalIP"),
            f(NetworkType::Node, "172.18.0.4/32", "node/b InternalIP"),
            f(NetworkType::Node, "172.18.0.5/32", "node/c InternalIP"),
            f(NetworkType::Node, "fc00::4/128", "node/b InternalIP"),
            f(NetworkType::Node, "fc00::5/128", "node/c InternalIP"),
            f(NetworkType::Node, "fc00::6/128", "node/d InternalIP"),
            f(NetworkType::Node, "fc00::7/128", "node/e InternalIP"),
            f(NetworkType::Pod, "10.0.0.0/25", "x"),
            f(NetworkType::Pod, "10.0.0.128/25", "y"),
        ]);
        assert_eq!(
            show(&out),
            [
                // Pod ranges are never merged.
                "pod_cidr 10.0.0.0/25 x",
                "pod_cidr 10.0.0.128/25 y",
                "node_cidr 172.18.0.3/32 node/a InternalIP",
                "node_cidr 172.18.0.4/31 summarized 2 addresses: node/b InternalIP; node/c InternalIP",
                "node_cidr fc00::4/126 summarized 4 addresses: node/b InternalIP; node/c InternalIP; node/d InternalIP; (+1 more)",
            ]
        );
    }

    #[test]
    fn summarize_never_covers_a_foreign_address() {
        // Property: every address in a merged prefix is one of the inputs.
        let addrs = [1u8, 2, 3, 4, 5, 6, 7, 9, 10, 11, 64, 65];
        let input: Vec<Found> =
            addrs.iter().map(|a| f(NetworkType::Node, &format!("10.1.1.{a}/32"), "n")).collect();
        let out = summarize(input);
        let mut covered = 0;
        for r in &out {
            for h in r.cidr.hosts().chain(std::iter::once(r.cidr.network())).chain(std::iter::once(r.cidr.broadcast())) {
                let IpAddr::V4(v4) = h else { unreachable!() };
                assert!(addrs.contains(&v4.octets()[3]), "{} covers {h}", r.cidr);
            }
            covered += net_size(r.cidr);
        }
        assert_eq!(covered, addrs.len() as u128);
    }
    use std::net::IpAddr;

    #[test]
    fn mesh_peer_node_records_become_remote_nodes() {
        let peer = read_cidr_text(
            "cluster_name,network_type,cidr_block,source\nwest,pod_cidr,10.8.0.0/16,x\nwest,node_cidr,192.168.9.1/32,node/w1 InternalIP\neast,node_cidr,192.168.1.1/32,own\n",
            "west.csv",
        )
        .unwrap();
        let out = mesh_remote_nodes(&peer, "east", "west.csv").unwrap();
        assert_eq!(show(&out), ["remote_node_cidr 192.168.9.1/32 mesh-peer/west node/w1 InternalIP"]);
        let e = mesh_remote_nodes(&peer[..1], "east", "west.csv").unwrap_err().to_string();
        assert!(e.starts_with("west.csv: mesh peer file has no active node_cidr"), "{e}");
    }
}
