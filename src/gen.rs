//! A seeded, reproducible generator of CIDR configurations and trace dumps,
//! for the parity tests and the benchmarks (`netmap generate`, hidden).
//!
//! Owns: the synthetic world — N clusters that overlap on purpose (half share
//! the pod CIDR 10.244.0.0/16, all share the service CIDR 10.96.0.0/12), IPv4
//! and IPv6, cluster-mesh peers, and peers of every form the rule knows:
//! `ip:port`, `[v6]:port`, `::ffff:` addresses, zone ids, URLs, every kind of
//! name, world addresses of every hint, empty and garbage peers.
//! Invariant: the same `GenSpec` always yields the same bytes. Each source
//! service talks to a fixed small set of peers, so the number of distinct
//! edges stays bounded (as in real traces) whatever the row count.

use std::fmt::Write as _;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cidr::{CidrRecord, NetworkType};
use crate::error::{Origin, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenSpec {
    /// PRNG seed.
    pub seed: u64,
    /// Number of clusters (`c00`, `c01`, ...).
    pub clusters: usize,
    /// CIDRs per cluster (at least 3: pod, service, node; extra ones are node /32s
    /// and nested pod ranges).
    pub cidrs_per_cluster: usize,
    /// Span rows to write.
    pub rows: u64,
    /// Include empty and garbage peers (rows the readers reject or classify invalid).
    pub garbage: bool,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec { seed: 42, clusters: 4, cidrs_per_cluster: 8, rows: 1000, garbage: true }
    }
}

/// SplitMix64: small, fast, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Pick one element.
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

fn cluster_name(i: usize) -> String {
    format!("c{i:02}")
}

/// Node addresses of cluster `i`: 172.(16 + i%16).(i/16).k, k = 1..=n.
fn node_ip(i: usize, k: usize) -> Ipv4Addr {
    let k = k as u32;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 16 + (i % 16) as u8, (i / 16) as u8 * 64, 0)) + 1 + k % 16000)
}

fn pod_net(i: usize) -> (Ipv4Addr, u8) {
    if i.is_multiple_of(2) {
        (Ipv4Addr::new(10, 244, 0, 0), 16)
    } else {
        (Ipv4Addr::new(10, 100 + (i % 100) as u8, 0, 0), 16)
    }
}

fn pod_net6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x10, 0x244, (i as u16) << 8, 0, 0, 0, 0)
}

/// Number of node /32s cluster records hold for a spec.
fn nodes(spec: &GenSpec) -> usize {
    spec.cidrs_per_cluster.saturating_sub(5).max(1)
}

/// The CIDR records for `spec`: per cluster a pod /16 (shared by even clusters),
/// an IPv6 pod /56, the shared service /12, an IPv6 service /112, node /32s, and
/// the next cluster's first node as remote-node (a mesh ring).
pub fn cidr_records(spec: &GenSpec) -> Vec<CidrRecord> {
    let mut out = Vec::new();
    for i in 0..spec.clusters {
        let c = cluster_name(i);
        let mut n = 0;
        let mut push = |t: NetworkType, s: String| {
            if n < spec.cidrs_per_cluster.max(3) {
                n += 1;
                out.push(CidrRecord {
                    cluster_name: c.clone(),
                    network_type: t,
                    cidr: s.parse().expect("generated CIDRs are valid"),
                    is_active: true,
                    source: "generated".into(),
                    origin: Origin::new("generated", 0),
                });
            }
        };
        let (p, l) = pod_net(i);
        push(NetworkType::Pod, format!("{p}/{l}"));
        push(NetworkType::Service, "10.96.0.0/12".into());
        push(NetworkType::Node, format!("{}/32", node_ip(i, 0)));
        push(NetworkType::Pod, format!("{}/56", pod_net6(i)));
        push(NetworkType::Service, format!("fd00:10:96:{i:x}::/112"));
        push(NetworkType::RemoteNode, format!("{}/32", node_ip((i + 1) % spec.clusters.max(1), 0)));
        for k in 1..nodes(spec) {
            push(NetworkType::Node, format!("{}/32", node_ip(i, k)));
        }
    }
    out
}

/// Write the CIDR records as CSV (`cluster_name,network_type,cidr_block,is_active`).
pub fn write_cidrs_csv(spec: &GenSpec, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "cluster_name,network_type,cidr_block,is_active")?;
    for r in cidr_records(spec) {
        writeln!(w, "{},{},{},1", r.cluster_name, r.network_type, r.cidr)?;
    }
    Ok(())
}

const NAMES: &[&str] = &[
    "redis", "product-service", "postgres.db.svc", "payments.default.svc.cluster.local", "kafka-0.kafka.svc.cluster.local.",
    "LOCALHOST", "api.stripe.com", "s3.eu-west-1.amazonaws.com", "Google.COM.", "redis:6379", "http://user@api.github.com:443/x?y",
    "https://orders.shop.svc.cluster.local/api", "cluster.local", "auth_", "under_score.example.org",
];
const GARBAGE: &[&str] = &[
    "10.0.0.300", "::ffff:300.1.1.1", "[::1", "http://", "fe80::1%", "1.2.3.4:99999", "-bad-.com", "a..b", "ünïcode.example",
    "010.1.2.3", "1.2.3", "[fd00::1]:http", "a b", "::1::2", "10.1.2.3/24", "%%%", "@", "1.2.3.4:0x50",
];
const WORLD_IPS: &[&str] = &[
    "192.168.254.80", "8.8.8.8", "100.64.3.4", "169.254.169.254", "169.254.10.1", "fe80::1%eth0", "fd12:3456::1", "224.0.0.251",
    "ff02::fb", "192.0.2.10", "2001:db8::5", "255.255.255.255", "0.1.2.3", "2606:4700:4700::1111", "fd00:ec2::254", "35.246.31.234",
    "172.31.255.1", "198.51.100.7",
];
const PROTOCOLS: &[&str] = &["http", "grpc", "redis", "postgresql", "kafka", "", "tcp"];

/// One generated peer: (dest, dest_ip).
fn peer(rng: &mut Rng, spec: &GenSpec, i: usize, slot: u64) -> (String, String) {
    let mut r = Rng::new(spec.seed ^ (i as u64) << 32 ^ slot);
    let port = 1 + r.below(65535);
    let (p, _) = pod_net(i);
    let pod = Ipv4Addr::from(u32::from(p) + 1 + r.below(60000) as u32);
    let svc = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 0)) + 1 + r.below(1 << 20) as u32 - 1);
    let node = node_ip(i, r.below(nodes(spec) as u64) as usize);
    let other = (i + 1 + r.below(spec.clusters.max(2) as u64 - 1) as usize) % spec.clusters.max(1);
    let s = |x: &str| x.to_string();
    let choice = r.below(if spec.garbage { 30 } else { 27 });
    let _ = rng;
    match choice {
        0..=3 => (s(""), pod.to_string()),
        4 => (s(""), format!("{pod}:{port}")),
        5 => (s("product-service"), format!("::ffff:{pod}")),
        6 => (s(""), format!("[::ffff:{pod}]:{port}")),
        7 => (s(""), format!("[{}]:{port}", Ipv6Addr::from(u128::from(pod_net6(i)) + 5 + u128::from(r.below(1000))))),
        8 => (s(""), format!("{}", Ipv6Addr::from(u128::from(pod_net6(other)) + 7))),
        9 | 10 => (format!("svc-{}", r.below(40)), svc.to_string()),
        11 => (s(""), format!("fd00:10:96:{i:x}::{:x}", 1 + r.below(500))),
        12 | 13 => (s(""), node.to_string()),
        14 => (s(""), format!("{}:10250", node_ip((i + 1) % spec.clusters.max(1), 0))),
        15 => (s(""), format!("{}", Ipv4Addr::from(u32::from(pod_net(other).0) + 9))),
        16..=18 => (s(r.pick(NAMES)), s("")),
        19 => (s(r.pick(NAMES)), s("not-an-ip")),
        20..=22 => (s(""), s(r.pick(WORLD_IPS))),
        23 => (s("external-api"), s(r.pick(WORLD_IPS))),
        24 => (s(""), format!("http://{}:8080/health", node)),
        25 => (s(""), s(r.pick(&["127.0.0.1", "::1", "0.0.0.0", "::", "::ffff:127.0.0.1", "[::1]:80"]))),
        26 => (format!("Svc-{}.NS{}.svc", r.below(5), r.below(3)), s("")),
        27 | 28 => (s(r.pick(GARBAGE)), s(r.pick(&["", "garbage", "10.0.0.300"]))),
        _ => (s(""), s("")),
    }
}

/// Write `spec.rows` canonical span rows as CSV to `w`.
pub fn write_spans_csv(spec: &GenSpec, w: &mut dyn Write) -> Result<()> {
    let mut rng = Rng::new(spec.seed);
    let mut line = String::with_capacity(256);
    w.write_all(b"timestamp,k8s_cluster_name,src,dest,dest_ip,protocol,duration_ns,is_error\n")?;
    let base_ns: i64 = 1_714_564_800_000_000_000; // 2024-05-01T12:00:00Z
    // Each (cluster, src) talks to 24 peer slots: bounded distinct edges.
    let peers_per_src = 24u64;
    let srcs = 50u64;
    let mut cache: std::collections::HashMap<(usize, u64), (String, String, &'static str)> = Default::default();
    for n in 0..spec.rows {
        let i = rng.below(spec.clusters.max(1) as u64) as usize;
        let src = rng.below(srcs);
        let slot = src * peers_per_src + rng.below(peers_per_src);
        let (dest, dest_ip, proto) = cache
            .entry((i, slot))
            .or_insert_with(|| {
                let (d, ip) = peer(&mut rng.clone(), spec, i, slot);
                (d, ip, PROTOCOLS[(slot % PROTOCOLS.len() as u64) as usize])
            })
            .clone();
        let ts = base_ns + (n as i64) * 1_000_000;
        let secs = ts / 1_000_000_000;
        line.clear();
        let _ = writeln!(
            line,
            "{}.{:09}Z,{},svc-{src},{},{},{proto},{},{}",
            crate::input::format_timestamp(secs * 1_000_000_000).trim_end_matches(".000000000Z"),
            ts % 1_000_000_000,
            cluster_name(i),
            csv_field(&dest),
            csv_field(&dest_ip),
            rng.below(50_000_000),
            u8::from(rng.below(100) < 3),
        );
        w.write_all(line.as_bytes())?;
    }
    w.flush()?;
    Ok(())
}

fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_well_formed() {
        let spec = GenSpec { rows: 2000, ..GenSpec::default() };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_spans_csv(&spec, &mut a).unwrap();
        write_spans_csv(&spec, &mut b).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert_eq!(text.lines().count(), 2001);
        let recs = cidr_records(&spec);
        assert_eq!(recs.len(), spec.clusters * spec.cidrs_per_cluster);
        let big = GenSpec { clusters: 20, cidrs_per_cluster: 10_000, rows: 0, ..GenSpec::default() };
        let recs = cidr_records(&big);
        assert_eq!(recs.len(), 20 * 10_000);
        let distinct: std::collections::HashSet<_> = recs.iter().map(|r| (&r.cluster_name, r.cidr)).collect();
        assert_eq!(distinct.len(), recs.len(), "no duplicate CIDRs within a cluster");
    }
}
