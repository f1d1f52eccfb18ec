//! The classification rule: the one Rust statement of Cilium's order.
//! `sql/0007_classify_functions.sql` (the steps) and `sql/0018_classify_per_peer.sql`
//! (the views that apply them; it replaced 0010's) mirror it step for step; the live parity tests prove the two agree on every row.
//!
//! For a source cluster C and a peer P:
//! 1. Parse P ([`parse_peer`]): IPv4, IPv6, `ip:port`, `[v6]:port`, IPv4-mapped
//!    IPv6 (the IPv4 address), zone ids, URLs (→ host), hostnames
//!    (case-insensitive, one trailing dot dropped).
//! 2. An IP: loopback/unspecified → `loopback`; else C's own CIDRs only, pod →
//!    service → node → remote-node, first type wins, most specific prefix within
//!    it; no match → `world` with a [`Hint`] saying what kind of address it is.
//! 3. A name: `localhost` → `loopback`; one label, `*.svc`, `*.<cluster domain>`
//!    → `service`; a valid DNS name otherwise → `world` (hint `hostname`);
//!    anything that is neither an address nor a valid name → `world` (hint `invalid`).
//!
//! Owns: peer parsing, `Kind`, `Hint`, `Verdict`, `explain`. Leaves the
//! prefix tables to `cidr.rs`. Never allocates on the IP path.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hashbrown::HashMap;
use ipnet::IpNet;
use serde::Serialize;

use crate::cidr::{CidrConfig, CidrMatch, NetworkType};

/// Default Kubernetes cluster domain.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// What a peer is, seen from its source cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// In one of the cluster's pod CIDRs.
    Pod,
    /// A ClusterIP or a cluster-internal service name.
    Service,
    /// One of the cluster's nodes.
    Node,
    /// A node of a cluster-mesh peer.
    RemoteNode,
    /// Loopback or unspecified address, or `localhost`: never left the pod.
    Loopback,
    /// Anything else: outside the cluster.
    World,
}

impl Kind {
    /// All kinds, in output order.
    pub const ALL: [Kind; 6] =
        [Kind::Pod, Kind::Service, Kind::Node, Kind::RemoteNode, Kind::Loopback, Kind::World];

    /// The name printed and stored (`remote-node`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Service => "service",
            Kind::Node => "node",
            Kind::RemoteNode => "remote-node",
            Kind::Loopback => "loopback",
            Kind::World => "world",
        }
    }

    /// 1 for `world`, 0 otherwise.
    pub fn is_external(self) -> u8 {
        u8::from(self == Kind::World)
    }

    fn of_type(t: NetworkType) -> Kind {
        match t {
            NetworkType::Pod => Kind::Pod,
            NetworkType::Service => Kind::Service,
            NetworkType::Node => Kind::Node,
            NetworkType::RemoteNode => Kind::RemoteNode,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a kind (pod, service, node, remote-node, loopback, world)"))
    }
}

/// What kind of address a `world` peer is, so an operator can tell at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hint {
    /// RFC 1918 (10/8, 172.16/12, 192.168/16): a private range not in this cluster's CIDRs.
    Private,
    /// 100.64.0.0/10, shared address space (carrier-grade NAT).
    Shared,
    /// 169.254.169.254 or fd00:ec2::254: the cloud metadata service.
    CloudMetadata,
    /// 169.254.0.0/16 or fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 224.0.0.0/4 or ff00::/8.
    Multicast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// 0.0.0.0/8 (not 0.0.0.0), 240.0.0.0/4 and the broadcast address.
    Reserved,
    /// A public address.
    Public,
    /// A DNS name outside the cluster domain.
    Hostname,
    /// Neither an address nor a valid DNS name.
    Invalid,
}

impl Hint {
    /// All hints, in declaration order (sql/0024 stores them as an Enum8 in this order).
    pub const ALL: [Hint; 11] = [
        Hint::Private,
        Hint::Shared,
        Hint::CloudMetadata,
        Hint::LinkLocal,
        Hint::UniqueLocal,
        Hint::Multicast,
        Hint::Documentation,
        Hint::Reserved,
        Hint::Public,
        Hint::Hostname,
        Hint::Invalid,
    ];

    /// The name printed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Hint::Private => "private",
            Hint::Shared => "shared",
            Hint::CloudMetadata => "cloud-metadata",
            Hint::LinkLocal => "link-local",
            Hint::UniqueLocal => "unique-local",
            Hint::Multicast => "multicast",
            Hint::Documentation => "documentation",
            Hint::Reserved => "reserved",
            Hint::Public => "public",
            Hint::Hostname => "hostname",
            Hint::Invalid => "invalid",
        }
    }

    /// A sentence for `--explain`.
    pub fn describe(self) -> &'static str {
        match self {
            Hint::Private => "a private (RFC 1918) address: another network of yours (VPC, VM, on-prem), not this cluster",
            Hint::Shared => "shared address space 100.64.0.0/10 (carrier-grade NAT, some cloud VPC ranges)",
            Hint::CloudMetadata => "the cloud instance metadata service",
            Hint::LinkLocal => "a link-local address",
            Hint::UniqueLocal => "an IPv6 unique-local (fc00::/7) address: private, not this cluster",
            Hint::Multicast => "a multicast address",
            Hint::Documentation => "a documentation range (test data?)",
            Hint::Reserved => "a reserved address",
            Hint::Public => "a public Internet address",
            Hint::Hostname => "a DNS name outside the cluster domain",
            Hint::Invalid => "neither an IP address nor a valid DNS name",
        }
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// An address; IPv4-mapped IPv6 is already the IPv4 address.
    Ip(IpAddr),
    /// A valid DNS name, lowercased, without a trailing dot or port.
    Name(String),
    /// Not empty, but neither an address nor a valid name.
    Invalid,
    /// Empty or blank.
    Empty,
}

/// Parse the address forms of step 1 only: IP, `ip:port`, `[v6]:port`,
/// `[v6]`, IPv4-mapped IPv6, zone ids. `None` for anything else (names, URLs).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let (inner, after) = (&rest[..end], &rest[end + 1..]);
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return parse_v6_zoned(inner).map(canonical);
    }
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(canonical(ip));
    }
    if s.contains('%') {
        return parse_v6_zoned(s).map(canonical);
    }
    let (host, port) = s.split_once(':')?;
    if is_port(port) {
        return Ipv4Addr::from_str(host).ok().map(IpAddr::V4);
    }
    None
}

/// `addr%zone` (zone non-empty) or `addr`, IPv6 only.
fn parse_v6_zoned(s: &str) -> Option<IpAddr> {
    let addr = match s.split_once('%') {
        Some((a, zone)) if !zone.is_empty() => a,
        Some(_) => return None,
        None => s,
    };
    Ipv6Addr::from_str(addr).ok().map(IpAddr::V6)
}

/// IPv4-mapped IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// 1–5 ASCII digits, at most 65535.
fn is_port(p: &str) -> bool {
    (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= 65535)
}

/// Parse a peer of any form (step 1).
pub fn parse_peer(s: &str) -> Peer {
    let s = s.trim();
    if s.is_empty() {
        return Peer::Empty;
    }
    if let Some(ip) = parse_ip(s) {
        return Peer::Ip(ip);
    }
    let host = match s.find("://") {
        Some(i) => {
            let rest = &s[i + 3..];
            let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let auth = &rest[..auth_end];
            let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
            if let Some(ip) = parse_ip(host) {
                return Peer::Ip(ip);
            }
            host
        }
        None => s,
    };
    let host = match host.split_once(':') {
        Some((h, p)) if is_port(p) => h,
        _ => host,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if is_dns_name(host) {
        Peer::Name(host.to_ascii_lowercase())
    } else {
        Peer::Invalid
    }
}

/// A valid DNS name: 1–253 characters, dot-separated labels of 1–63 of
/// `[A-Za-z0-9_-]` not starting or ending with `-`, and a last label that is not all digits.
pub fn is_dns_name(h: &str) -> bool {
    if h.is_empty() || h.len() > 253 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let last = h.rsplit('.').next().unwrap_or(h);
    h.split('.').all(label_ok) && !last.bytes().all(|b| b.is_ascii_digit())
}

/// The hint for a world IP (IPv4-mapped already unmapped).
pub fn hint_for_ip(ip: IpAddr) -> Hint {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            match o {
                [10, ..] => Hint::Private,
                [172, b, ..] if (16..32).contains(&b) => Hint::Private,
                [192, 168, ..] => Hint::Private,
                [100, b, ..] if (64..128).contains(&b) => Hint::Shared,
                [169, 254, 169, 254] => Hint::CloudMetadata,
                [169, 254, ..] => Hint::LinkLocal,
                [a, ..] if (224..240).contains(&a) => Hint::Multicast,
                [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Hint::Documentation,
                [0, ..] => Hint::Reserved,
                [a, ..] if a >= 240 => Hint::Reserved,
                _ => Hint::Public,
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Hint::CloudMetadata
            } else if s[0] & 0xfe00 == 0xfc00 {
                Hint::UniqueLocal
            } else if s[0] & 0xffc0 == 0xfe80 {
                Hint::LinkLocal
            } else if s[0] & 0xff00 == 0xff00 {
                Hint::Multicast
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Hint::Documentation
            } else {
                Hint::Public
            }
        }
    }
}

fn is_loopback_or_unspecified(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

/// False when a span has no peer at all: `dest` and `dest_ip` both blank
/// (such a row is not an edge; readers reject it, the SQL views drop it).
pub fn has_peer(dest: &str, dest_ip: &str) -> bool {
    !(dest.trim().is_empty() && dest_ip.trim().is_empty())
}

/// The answer for one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// What the peer is.
    pub kind: Kind,
    /// The CIDR (and its type) that decided it, for IPs inside the cluster.
    pub matched: Option<CidrMatch>,
    /// What kind of address/name a `world` peer is.
    pub hint: Option<Hint>,
}

impl Verdict {
    /// 1 only for `world`.
    pub fn is_external(&self) -> u8 {
        self.kind.is_external()
    }

    /// `pod_cidr`, ... or `None`.
    pub fn matched_type(&self) -> Option<NetworkType> {
        self.matched.map(|m| m.network_type)
    }

    /// The matched prefix or `None`.
    pub fn matched_cidr(&self) -> Option<IpNet> {
        self.matched.map(|m| m.cidr)
    }

    const fn plain(kind: Kind) -> Verdict {
        Verdict { kind, matched: None, hint: None }
    }
}

/// The rule, bound to a CIDR configuration and cluster domains.
#[derive(Debug, Clone)]
pub struct Classifier {
    config: CidrConfig,
    /// `.cluster.local` (with the leading dot): the domain of a cluster not in `dot_domains`.
    dot_domain: String,
    /// Clusters with a domain of their own (`netmap push --cluster-domain`), with the leading dot.
    dot_domains: HashMap<String, String>,
}

/// A cluster domain as the rule compares it: trimmed, without a trailing
/// dot, lowercase.
fn domain_key(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// [`domain_key`], or an error message when that is not a DNS name.
pub fn normalize_cluster_domain(domain: &str) -> std::result::Result<String, String> {
    let d = domain_key(domain);
    if is_dns_name(&d) {
        Ok(d)
    } else {
        Err(format!("cluster domain {domain:?} is not a DNS name (like cluster.local)"))
    }
}

impl Classifier {
    /// A classifier over `config`; `cluster_domain` like `cluster.local`.
    pub fn new(config: CidrConfig, cluster_domain: &str) -> Classifier {
        Classifier { config, dot_domain: format!(".{}", domain_key(cluster_domain)), dot_domains: HashMap::new() }
    }

    /// The same, with clusters that have a domain of their own (cluster →
    /// domain, as `cluster_domains` in ClickHouse holds them); the others keep
    /// the domain given to [`Classifier::new`].
    pub fn with_cluster_domains(mut self, domains: impl IntoIterator<Item = (String, String)>) -> Classifier {
        for (cluster, d) in domains {
            self.dot_domains.insert(cluster, format!(".{}", domain_key(&d)));
        }
        self
    }

    /// The CIDR configuration in use.
    pub fn config(&self) -> &CidrConfig {
        &self.config
    }

    /// The cluster domain of a cluster without one of its own (without the leading dot).
    pub fn cluster_domain(&self) -> &str {
        &self.dot_domain[1..]
    }

    /// `cluster`'s domain (without the leading dot).
    pub fn domain_of(&self, cluster: &str) -> &str {
        &self.dot_domain_of(cluster)[1..]
    }

    fn dot_domain_of(&self, cluster: &str) -> &str {
        self.dot_domains.get(cluster).map_or(self.dot_domain.as_str(), String::as_str)
    }

    /// Classify an IP for `cluster` (step 2).
    pub fn classify_ip(&self, cluster: &str, ip: IpAddr) -> Verdict {
        let ip = canonical(ip);
        if is_loopback_or_unspecified(ip) {
            return Verdict::plain(Kind::Loopback);
        }
        match self.config.cluster(cluster).lookup(ip) {
            Some(m) => Verdict { kind: Kind::of_type(m.network_type), matched: Some(m), hint: None },
            None => Verdict { kind: Kind::World, matched: None, hint: Some(hint_for_ip(ip)) },
        }
    }

    /// Classify a DNS name (already lowercased, no trailing dot) seen from
    /// `cluster` (step 3).
    pub fn classify_name(&self, cluster: &str, name: &str) -> Verdict {
        if name == "localhost" {
            Verdict::plain(Kind::Loopback)
        } else if !name.contains('.') || name.ends_with(".svc") || name.ends_with(self.dot_domain_of(cluster)) {
            Verdict::plain(Kind::Service)
        } else {
            Verdict { kind: Kind::World, matched: None, hint: Some(Hint::Hostname) }
        }
    }

    /// Classify a parsed peer; `None` for an empty peer.
    pub fn classify_peer(&self, cluster: &str, peer: &Peer) -> Option<Verdict> {
        Some(match peer {
            Peer::Ip(ip) => self.classify_ip(cluster, *ip),
            Peer::Name(n) => self.classify_name(cluster, n),
            Peer::Invalid => Verdict { kind: Kind::World, matched: None, hint: Some(Hint::Invalid) },
            Peer::Empty => return None,
        })
    }

    /// Classify a peer string; `None` when it is empty.
    pub fn classify(&self, cluster: &str, peer: &str) -> Option<Verdict> {
        self.classify_peer(cluster, &parse_peer(peer))
    }

    /// Classify a span's destination: `dest_ip` when it parses as an address
    /// (step 1's address forms), else `dest`, else (`dest` blank) `dest_ip` as
    /// a peer string. `None` only when both are blank ([`has_peer`] is false).
    pub fn classify_span(&self, cluster: &str, dest: &str, dest_ip: &str) -> Option<Verdict> {
        match parse_ip(dest_ip) {
            Some(ip) => Some(self.classify_ip(cluster, ip)),
            None if dest.trim().is_empty() => self.classify(cluster, dest_ip),
            None => self.classify(cluster, dest),
        }
    }

    /// Every check, in order, and why it did or did not match.
    pub fn explain(&self, cluster: &str, input: &str) -> Vec<String> {
        let mut out = Vec::new();
        let peer = parse_peer(input);
        match &peer {
            Peer::Empty => out.push("parse: empty peer; nothing to classify".to_string()),
            Peer::Invalid => out.push(format!(
                "parse: {:?} is neither an IP address (with optional port, brackets, zone) nor a valid DNS name → world (invalid)",
                input.trim()
            )),
            Peer::Name(n) => {
                out.push(format!("parse: DNS name {n:?}"));
                let d = self.domain_of(cluster);
                let v = self.classify_name(cluster, n);
                out.push(match v.kind {
                    Kind::Loopback => "name: localhost → loopback".to_string(),
                    Kind::Service if !n.contains('.') => "name: a single label resolves through the pod's search path to a cluster service → service".to_string(),
                    Kind::Service => format!("name: ends in .svc or .{d} → service"),
                    _ => format!("name: not a single label, not *.svc, not *.{d} → world (hostname)"),
                });
            }
            Peer::Ip(ip) => {
                let ip = *ip;
                let raw = input.trim();
                if raw.parse::<IpAddr>().map(canonical) == Ok(ip) && raw.parse::<IpAddr>().is_ok_and(|r| r != ip) {
                    out.push(format!("parse: IPv4-mapped IPv6 {raw} is the IPv4 address {ip}"));
                } else {
                    out.push(format!("parse: IP address {ip}"));
                }
                if is_loopback_or_unspecified(ip) {
                    out.push("loopback: loopback or unspecified address → loopback (never left the pod)".into());
                    return out;
                }
                let known = self.config.knows(cluster);
                if !known {
                    out.push(format!("cluster {cluster:?} has no CIDRs in the configuration: every IP is world"));
                }
                let cc = self.config.cluster(cluster);
                let mut decided = false;
                for (i, t) in NetworkType::ALL.into_iter().enumerate() {
                    let nets = cc.of_type(t);
                    let label = format!("{}. {}", i + 1, t);
                    if decided {
                        out.push(format!("{label}: not checked (an earlier type matched)"));
                        continue;
                    }
                    match cc.scan_type(t, ip) {
                        Some(net) => {
                            out.push(format!(
                                "{label}: {ip} is in {net} → {}",
                                Kind::of_type(t)
                            ));
                            decided = true;
                        }
                        None if nets.is_empty() => out.push(format!("{label}: none configured for {cluster:?}")),
                        None => out.push(format!("{label}: no match among {} ({})", nets.len(), preview(nets))),
                    }
                }
                if !decided {
                    let h = hint_for_ip(ip);
                    out.push(format!("5. world: in none of {cluster:?}'s CIDRs → world; hint {h}: {}", h.describe()));
                }
            }
        }
        out
    }
}

/// Up to three prefixes and a count of the rest.
fn preview(nets: &[IpNet]) -> String {
    let mut s = nets.iter().take(3).map(ToString::to_string).collect::<Vec<_>>().join(", ");
    if nets.len() > 3 {
        s.push_str(&format!(", … {} more", nets.len() - 3));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::{parse_cidr, CidrRecord};
    use crate::error::Origin;
    use NetworkType::*;

    fn classifier(rows: &[(&str, NetworkType, &str)]) -> Classifier {
        let recs: Vec<CidrRecord> = rows
            .iter()
            .map(|(c, t, n)| CidrRecord {
                cluster_name: c.to_string(),
                network_type: *t,
                cidr: parse_cidr(n).unwrap(),
                is_active: true,
                source: String::new(),
                origin: Origin::new("t", 1),
            })
            .collect();
        Classifier::new(CidrConfig::from_records(&recs), DEFAULT_CLUSTER_DOMAIN)
    }

    fn demo() -> Classifier {
        classifier(&[
            ("prod", Pod, "10.244.0.0/16"),
            ("prod", Pod, "fd00:10:244::/56"),
            ("prod", Service, "10.96.0.0/12"),
            ("prod", Service, "fd00:10:96::/112"),
            ("prod", Node, "172.18.0.3/32"),
            ("prod", Node, "172.18.0.4"),
            ("prod", RemoteNode, "172.19.0.0/24"),
            ("stage", Pod, "10.244.0.0/16"),
            ("stage", Node, "192.168.254.0/24"),
        ])
    }

    fn kind(c: &Classifier, cluster: &str, p: &str) -> (Kind, Option<&'static str>) {
        let v = c.classify(cluster, p).unwrap();
        (v.kind, v.hint.map(Hint::as_str))
    }

    #[test]
    fn parse_forms() {
        assert_eq!(parse_ip("10.1.2.3:8080"), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(parse_ip("[fd00::1]:443"), Some("fd00::1".parse().unwrap()));
        assert_eq!(parse_ip("[fd00::1]"), Some("fd00::1".parse().unwrap()));
        assert_eq!(parse_ip("::ffff:10.1.2.3"), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(parse_ip("fe80::1%eth0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(parse_ip("[fe80::1%eth0]:80"), Some("fe80::1".parse().unwrap()));
        assert_eq!(parse_ip("fe80::1%"), None);
        assert_eq!(parse_ip("10.1.2.3:99999"), None);
        assert_eq!(parse_ip("10.1.2.3:"), None);
        assert_eq!(parse_ip("redis:6379"), None);
        assert_eq!(parse_ip("010.1.2.3"), None);
        assert_eq!(parse_peer("http://10.0.0.1:8080/x"), Peer::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(parse_peer("https://user@API.Stripe.com./v1?q"), Peer::Name("api.stripe.com".into()));
        assert_eq!(parse_peer("http://[fd00::5]:80/"), Peer::Ip("fd00::5".parse().unwrap()));
        assert_eq!(parse_peer("Redis:6379"), Peer::Name("redis".into()));
        assert_eq!(parse_peer("  "), Peer::Empty);
        assert_eq!(parse_peer("10.0.0.300"), Peer::Invalid);
        assert_eq!(parse_peer("not an ip"), Peer::Invalid);
        assert_eq!(parse_peer("-bad-.com"), Peer::Invalid);
        assert_eq!(parse_peer("::ffff:300.1.1.1"), Peer::Invalid);
    }

    #[test]
    fn ips_follow_cilium_order_in_own_cluster_only() {
        let c = demo();
        assert_eq!(kind(&c, "prod", "10.244.3.7"), (Kind::Pod, None));
        assert_eq!(kind(&c, "prod", "[fd00:10:244::9]:80"), (Kind::Pod, None));
        assert_eq!(kind(&c, "prod", "10.96.0.10:53"), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "fd00:10:96::a"), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "172.18.0.4"), (Kind::Node, None));
        assert_eq!(kind(&c, "prod", "172.19.0.77"), (Kind::RemoteNode, None));
        assert_eq!(kind(&c, "prod", "::ffff:10.244.1.1"), (Kind::Pod, None));
        // The motivating question: a private IP in no CIDR of prod.
        assert_eq!(kind(&c, "prod", "192.168.254.80"), (Kind::World, Some("private")));
        // ... but a node of stage.
        assert_eq!(kind(&c, "stage", "192.168.254.80"), (Kind::Node, None));
        // Overlapping pod CIDRs: both clusters see their own pods.
        assert_eq!(kind(&c, "stage", "10.244.3.7"), (Kind::Pod, None));
        // Unknown cluster: everything is world.
        assert_eq!(kind(&c, "nope", "10.244.3.7"), (Kind::World, Some("private")));
        assert_eq!(kind(&c, "prod", "127.0.0.1"), (Kind::Loopback, None));
        assert_eq!(kind(&c, "prod", "::1"), (Kind::Loopback, None));
        assert_eq!(kind(&c, "prod", "0.0.0.0:80"), (Kind::Loopback, None));
        assert_eq!(kind(&c, "prod", "::"), (Kind::Loopback, None));
        assert_eq!(kind(&c, "prod", "::ffff:127.0.0.1"), (Kind::Loopback, None));
    }

    #[test]
    fn hints() {
        let c = demo();
        for (ip, h) in [
            ("100.64.1.1", "shared"),
            ("169.254.169.254", "cloud-metadata"),
            ("169.254.1.1", "link-local"),
            ("fe80::1%eth0", "link-local"),
            ("fd12::1", "unique-local"),
            ("fd00:ec2::254", "cloud-metadata"),
            ("239.1.1.1", "multicast"),
            ("ff02::1", "multicast"),
            ("192.0.2.1", "documentation"),
            ("2001:db8::1", "documentation"),
            ("8.8.8.8", "public"),
            ("2606:4700::1111", "public"),
            ("255.255.255.255", "reserved"),
            ("0.1.2.3", "reserved"),
            ("172.31.0.1", "private"),
            ("172.32.0.1", "public"),
        ] {
            assert_eq!(kind(&c, "prod", ip), (Kind::World, Some(h)), "{ip}");
        }
    }

    #[test]
    fn names() {
        let c = demo();
        assert_eq!(kind(&c, "prod", "redis"), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "product-service:8080"), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "db.prod.svc"), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "db.prod.svc.cluster.local."), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "X.Cluster.Local"), (Kind::Service, None));
        assert_eq!(kind(&c, "prod", "localhost"), (Kind::Loopback, None));
        assert_eq!(kind(&c, "prod", "LOCALHOST."), (Kind::Loopback, None));
        assert_eq!(kind(&c, "prod", "google.com"), (Kind::World, Some("hostname")));
        assert_eq!(kind(&c, "prod", "cluster.local"), (Kind::World, Some("hostname")));
        assert_eq!(kind(&c, "prod", "%%%"), (Kind::World, Some("invalid")));
        assert!(c.classify("prod", "").is_none());
        let custom = Classifier::new(CidrConfig::default(), "corp.internal.");
        assert_eq!(custom.classify("x", "a.b.corp.internal").unwrap().kind, Kind::Service);
        assert_eq!(custom.classify("x", "a.b.cluster.local").unwrap().kind, Kind::World);
    }

    #[test]
    fn per_cluster_domains() {
        let c = Classifier::new(CidrConfig::default(), DEFAULT_CLUSTER_DOMAIN)
            .with_cluster_domains([("corp".to_string(), "Corp.Internal.".to_string())]);
        let k = |cluster: &str, peer: &str| c.classify(cluster, peer).unwrap().kind;
        assert_eq!(k("corp", "db.ns.svc.corp.internal"), Kind::Service);
        assert_eq!(k("corp", "db.ns.svc.cluster.local"), Kind::World);
        assert_eq!(k("other", "db.ns.svc.corp.internal"), Kind::World);
        assert_eq!(k("other", "db.ns.svc.cluster.local"), Kind::Service);
        assert_eq!(k("corp", "redis"), Kind::Service);
        assert_eq!(c.domain_of("corp"), "corp.internal");
        assert_eq!(c.domain_of("other"), "cluster.local");
        assert!(c.explain("corp", "a.corp.internal").iter().any(|l| l.contains(".corp.internal → service")));
        assert_eq!(normalize_cluster_domain(" Corp.Internal. ").unwrap(), "corp.internal");
        for bad in ["", ".", "a b", "-x.local", "1.2.3.4", "x..y"] {
            assert!(normalize_cluster_domain(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn span_prefers_dest_ip_when_it_is_an_address() {
        let c = demo();
        assert_eq!(c.classify_span("prod", "redis", "8.8.8.8").unwrap().kind, Kind::World);
        assert_eq!(c.classify_span("prod", "10.244.0.9", "").unwrap().kind, Kind::Pod);
        assert_eq!(c.classify_span("prod", "redis", "garbage").unwrap().kind, Kind::Service);
        assert_eq!(c.classify_span("prod", "", "garbage!").unwrap().hint, Some(Hint::Invalid));
        assert_eq!(c.classify_span("prod", " ", "api.stripe.com").unwrap().hint, Some(Hint::Hostname));
        assert!(c.classify_span("prod", "", "").is_none());
        assert!(c.classify_span("prod", " ", "\u{3000}").is_none());
        // dest blank, dest_ip not an address: dest_ip is the peer string.
        assert_eq!(kind(&c, "prod", "garbage"), (Kind::Service, None));
        assert_eq!(c.classify_span("prod", "", "garbage").unwrap().kind, Kind::Service);
        assert_eq!(c.classify_span("prod", " ", "a.b%").unwrap().hint, Some(Hint::Invalid));
        assert!(!has_peer(" ", "\t") && has_peer("", "x"));
    }

    #[test]
    fn explain_names_every_check() {
        let c = demo();
        let lines = c.explain("prod", "192.168.254.80");
        assert_eq!(lines.len(), 6, "{lines:#?}");
        assert!(lines[1].starts_with("1. pod_cidr: no match among 2"));
        assert!(lines[5].contains("hint private"));
        let lines = c.explain("prod", "10.96.0.1");
        assert!(lines[2].contains("10.96.0.0/12 → service"), "{lines:#?}");
        assert!(lines[3].contains("not checked"));
    }

    mod oracle_prop {
        use super::*;
        use proptest::prelude::*;

        /// Naive oracle: scan every record linearly.
        fn oracle(recs: &[(u8, u32, u8)], ip: u32) -> Option<(u8, u32, u8)> {
            let mut best: Option<(u8, u32, u8)> = None;
            for &(t, net, len) in recs {
                let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                if ip & m == net & m {
                    best = match best {
                        Some(b) if b.0 < t || (b.0 == t && b.2 >= len) => Some(b),
                        _ => Some((t, net & m, len)),
                    };
                }
            }
            best
        }

        proptest! {
            #[test]
            fn trie_equals_linear_scan(
                recs in prop::collection::vec((0u8..4, any::<u32>(), 0u8..=32), 0..40),
                probes in prop::collection::vec(any::<u32>(), 1..50),
                near in prop::collection::vec((0usize..40, any::<u8>()), 0..50),
            ) {
                // Cluster the space so random probes hit: fold addresses into 10.0.0.0/12.
                let recs: Vec<(u8, u32, u8)> = recs.into_iter().map(|(t, a, l)| (t, 0x0a00_0000 | (a & 0x000f_ffff), l.max(8))).collect();
                let rows: Vec<(&str, NetworkType, String)> = recs.iter().map(|&(t, a, l)| {
                    let m = if l == 0 { 0 } else { u32::MAX << (32 - l) };
                    ("c", NetworkType::from_rank(t + 1).unwrap(), format!("{}/{}", Ipv4Addr::from(a & m), l))
                }).collect();
                let refs: Vec<(&str, NetworkType, &str)> = rows.iter().map(|(c, t, s)| (*c, *t, s.as_str())).collect();
                let c = classifier(&refs);
                let mut ips: Vec<u32> = probes.into_iter().map(|p| 0x0a00_0000 | (p & 0x000f_ffff)).collect();
                for (i, low) in near { if let Some(r) = recs.get(i) { ips.push(r.1 ^ u32::from(low)); } }
                for ip in ips {
                    let want = oracle(&recs, ip);
                    let got = c.config().cluster("c").lookup(IpAddr::V4(Ipv4Addr::from(ip)));
                    let got = got.map(|m| (m.network_type.rank() - 1, match m.cidr { IpNet::V4(n) => u32::from(n.network()), _ => unreachable!() }, m.cidr.prefix_len()));
                    prop_assert_eq!(got, want, "ip {}", Ipv4Addr::from(ip));
                }
            }

            /// Both families, two clusters with overlapping records: the
            /// flattened lookup equals a scan with `IpNet::contains`, and a
            /// cluster never sees the other's prefixes.
            #[test]
            fn both_families_and_clusters_equal_linear_scan(
                recs in prop::collection::vec((0usize..2, 0u8..4, any::<bool>(), any::<u128>(), 0u8..=24), 0..30),
                probes in prop::collection::vec((any::<bool>(), any::<u128>()), 1..40),
            ) {
                // v4 under 10.0.0.0/8 (/8../32), v6 under fd00::/16 (/16../112).
                let net = |v6: bool, bits: u128, l: u8| -> IpNet {
                    if v6 {
                        let a = Ipv6Addr::from((0xfd00u128 << 112) | (bits >> 16));
                        IpNet::V6(ipnet::Ipv6Net::new(a, 16 + l * 4).unwrap().trunc())
                    } else {
                        let a = Ipv4Addr::from(0x0a00_0000 | (bits as u32 & 0x00ff_ffff));
                        IpNet::V4(ipnet::Ipv4Net::new(a, 8 + l).unwrap().trunc())
                    }
                };
                let names = ["a", "b"];
                let rows: Vec<(&str, NetworkType, String)> = recs.iter()
                    .map(|&(c, t, v6, bits, l)| (names[c], NetworkType::from_rank(t + 1).unwrap(), net(v6, bits, l).to_string()))
                    .collect();
                let refs: Vec<(&str, NetworkType, &str)> = rows.iter().map(|(c, t, s)| (*c, *t, s.as_str())).collect();
                let cls = classifier(&refs);
                let mut ips: Vec<IpAddr> = probes.iter().map(|&(v6, bits)| match net(v6, bits, 24) {
                    IpNet::V4(n) => IpAddr::V4(n.addr()),
                    IpNet::V6(n) => IpAddr::V6(n.addr()),
                }).collect();
                ips.extend(rows.iter().map(|r| r.2.parse::<IpNet>().unwrap().network()));
                for ip in ips {
                    for c in names {
                        let want = rows.iter()
                            .filter(|r| r.0 == c)
                            .map(|r| (r.1, r.2.parse::<IpNet>().unwrap()))
                            .filter(|(_, n)| n.contains(&ip))
                            .min_by_key(|(t, n)| (*t, u8::MAX - n.prefix_len()));
                        let got = cls.config().cluster(c).lookup(ip).map(|m| (m.network_type, m.cidr));
                        prop_assert_eq!(got, want, "cluster {} ip {}", c, ip);
                    }
                }
            }
        }
    }
}
