//! CIDR configuration: the records that say what "inside" means for each
//! cluster, how they are read and checked, and the per-cluster lookup tables.
//!
//! Owns: `NetworkType` (Cilium's order is its `Ord`), `CidrRecord`, parsing of
//! `--cidrs` files (CSV with header, JSON array, JSON lines), and `CidrConfig`,
//! which answers "which of cluster C's prefixes cover this address".
//! Leaves the verdict (kinds, hints, names) to `rule.rs`.
//!
//! Invariant: lookups never scan the CIDR list. Each cluster keeps one hash map
//! per distinct prefix length, keyed by the masked address, and every entry is
//! *flattened*: it already carries the winner (first type in Cilium order, most
//! specific prefix within it) over every prefix of that cluster that contains it.
//! So a lookup is one longest-prefix match — the same shape as the IP_TRIE
//! dictionary in `sql/`, which is what makes the two agree. IPv4 lives in the
//! IPv4-mapped part of one 128-bit space (`10.0.0.0/8` is `::ffff:10.0.0.0/104`),
//! exactly as ClickHouse's IP_TRIE stores it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{BufReader, Read};
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::error::{display_path, Error, Origin, Result};

/// The four kinds of CIDR a cluster declares, in Cilium's lookup order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkType {
    /// `pod_cidr`: addresses of pods (checked first).
    #[serde(rename = "pod_cidr")]
    Pod,
    /// `service_cidr`: ClusterIPs.
    #[serde(rename = "service_cidr")]
    Service,
    /// `node_cidr`: this cluster's nodes.
    #[serde(rename = "node_cidr")]
    Node,
    /// `remote_node_cidr`: nodes of cluster-mesh peers.
    #[serde(rename = "remote_node_cidr")]
    RemoteNode,
}

impl NetworkType {
    /// All types in Cilium's order.
    pub const ALL: [NetworkType; 4] =
        [NetworkType::Pod, NetworkType::Service, NetworkType::Node, NetworkType::RemoteNode];

    /// The name used in files and in ClickHouse (`pod_cidr`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Pod => "pod_cidr",
            NetworkType::Service => "service_cidr",
            NetworkType::Node => "node_cidr",
            NetworkType::RemoteNode => "remote_node_cidr",
        }
    }

    /// 1-based rank in Cilium's order (the code the SQL trie stores).
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }

    /// The type with `rank` (1..=4).
    pub fn from_rank(rank: u8) -> Option<NetworkType> {
        NetworkType::ALL.get(usize::from(rank).checked_sub(1)?).copied()
    }
}

impl fmt::Display for NetworkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NetworkType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        let found = match t.as_str() {
            "pod_cidr" | "pod" => Some(NetworkType::Pod),
            "service_cidr" | "service" => Some(NetworkType::Service),
            "node_cidr" | "node" => Some(NetworkType::Node),
            "remote_node_cidr" | "remote_node" => Some(NetworkType::RemoteNode),
            _ => None,
        };
        found.ok_or_else(|| {
            format!(
                "network_type {s:?} is not one of pod_cidr, service_cidr, node_cidr, remote_node_cidr"
            )
        })
    }
}

/// Parse a CIDR or a bare address (a bare address is a /32 or /128).
///
/// Host bits must be zero: `10.0.0.5/24` is refused with the network it
/// probably meant. An IPv6 prefix inside `::ffff:0:0/96` is the IPv4 network
/// it maps (`::ffff:10.0.0.0/104` is `10.0.0.0/8`).
pub fn parse_cidr(s: &str) -> std::result::Result<IpNet, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("cidr_block is empty".to_string());
    }
    let net = if t.contains('/') {
        IpNet::from_str(t).map_err(|_| format!("{t:?} is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/64)"))?
    } else {
        let ip = IpAddr::from_str(t)
            .map_err(|_| format!("{t:?} is not a CIDR or an IP address"))?;
        IpNet::from(ip)
    };
    if net.trunc() != net {
        return Err(format!(
            "{t:?} has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(unmap_net(net))
}

/// An IPv6 network inside `::ffff:0:0/96` as the IPv4 network it maps.
fn unmap_net(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if n.prefix_len() >= 96 {
            if let Some(v4) = n.network().to_ipv4_mapped() {
                if let Ok(v) = Ipv4Net::new(v4, n.prefix_len() - 96) {
                    return IpNet::V4(v);
                }
            }
        }
    }
    net
}

/// An address as a key in the unified 128-bit space (IPv4 → `::ffff:a.b.c.d`).
pub fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A network as (masked key, prefix length) in the unified 128-bit space.
pub fn net_key(net: IpNet) -> (u128, u8) {
    let (addr, len) = match net {
        IpNet::V4(n) => (u128::from(n.network().to_ipv6_mapped()), n.prefix_len() + 96),
        IpNet::V6(n) => (u128::from(n.network()), n.prefix_len()),
    };
    (addr & mask(len), len)
}

fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// The network a (key, length) pair stands for, written the way users write it.
pub fn key_net(key: u128, len: u8) -> IpNet {
    let v6 = Ipv6Addr::from(key);
    if len >= 96 {
        if let Some(v4) = v6.to_ipv4_mapped() {
            return IpNet::V4(Ipv4Net::new(v4, len - 96).expect("len - 96 <= 32"));
        }
    }
    IpNet::V6(Ipv6Net::new(v6, len).expect("len <= 128"))
}

/// One CIDR record, as stored in ClickHouse's `cluster_network_config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrRecord {
    /// The cluster these CIDRs belong to.
    pub cluster_name: String,
    /// Which kind of range it is.
    pub network_type: NetworkType,
    /// The network (host bits zero; IPv4-mapped IPv6 normalised to IPv4).
    pub cidr: IpNet,
    /// Inactive records are kept in files but ignored by the rule.
    pub is_active: bool,
    /// Where the record came from (`node/x spec.podCIDRs`), if known.
    pub source: String,
    /// File and line it was read from.
    pub origin: Origin,
}

/// The raw, string-typed form of a record as it appears in any input format.
#[derive(Debug, Default, Deserialize)]
struct RawRecord {
    cluster_name: Option<String>,
    network_type: Option<String>,
    cidr_block: Option<String>,
    #[serde(default, deserialize_with = "de_loose_string")]
    is_active: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// Accept `is_active` as a JSON number, bool or string.
fn de_loose_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

impl RawRecord {
    fn into_record(self, origin: Origin) -> Result<CidrRecord> {
        let need = |v: Option<String>, col: &str| -> Result<String> {
            match v {
                Some(s) if !s.trim().is_empty() => Ok(s),
                _ => Err(Error::input(origin.clone(), format!("column {col} is missing or empty"))),
            }
        };
        let cluster_name = need(self.cluster_name, "cluster_name")?;
        let network_type = need(self.network_type, "network_type")?
            .parse::<NetworkType>()
            .map_err(|m| Error::input(origin.clone(), m))?;
        let block = need(self.cidr_block, "cidr_block")?;
        let cidr = parse_cidr(&block)
            .map_err(|m| Error::input(origin.clone(), format!("column cidr_block: {m}")))?;
        let is_active = match self.is_active.as_deref().map(str::trim) {
            None | Some("") | Some("1") | Some("true") => true,
            Some("0") | Some("false") => false,
            Some(other) => {
                return Err(Error::input(
                    origin,
                    format!("column is_active: {other:?} is not 0 or 1"),
                ))
            }
        };
        Ok(CidrRecord {
            cluster_name,
            network_type,
            cidr,
            is_active,
            source: self.source.unwrap_or_default(),
            origin,
        })
    }
}

/// Read CIDR records from a file (`-` = stdin): CSV with a header, a JSON array
/// of objects, or JSON lines; the format comes from the extension or, failing
/// that, from the first non-blank character.
pub fn read_cidr_file(path: &Path) -> Result<Vec<CidrRecord>> {
    let name = display_path(path);
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?)
    };
    BufReader::new(reader)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| utf8_error(&name, e.as_bytes(), e.utf8_error()))?;
    read_cidr_text(&text, &name)
}

/// Invalid UTF-8 in a CIDR file: the line and byte where it starts.
fn utf8_error(name: &str, bytes: &[u8], e: std::str::Utf8Error) -> Error {
    let at = e.valid_up_to();
    let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64;
    Error::input(
        Origin::new(name, line),
        format!("invalid UTF-8 at byte {} (CIDR files are UTF-8 text)", at - line_start),
    )
}

/// Read CIDR records from text; `name` is used in messages.
pub fn read_cidr_text(text: &str, name: &str) -> Result<Vec<CidrRecord>> {
    let lower = name.to_ascii_lowercase();
    let first = text.trim_start().chars().next();
    if lower.ends_with(".csv") || (!lower.ends_with(".json") && !lower.ends_with(".jsonl") && !matches!(first, Some('[') | Some('{'))) {
        return read_cidr_csv(text, name);
    }
    if first == Some('[') {
        let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
            Error::input(Origin::new(name, e.line() as u64), format!("invalid JSON: {e}"))
        })?;
        // JSON arrays carry no line per element; count elements instead.
        return values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let origin = Origin::new(format!("{name}[{i}]"), 0);
                let raw: RawRecord = serde_json::from_value(v)
                    .map_err(|e| Error::input(origin.clone(), format!("invalid record: {e}")))?;
                raw.into_record(origin)
            })
            .collect();
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin::new(name, i as u64 + 1);
        let raw: RawRecord = serde_json::from_str(line)
            .map_err(|e| Error::input(origin.clone(), format!("invalid JSON: {e}")))?;
        out.push(raw.into_record(origin)?);
    }
    Ok(out)
}

fn read_cidr_csv(text: &str, name: &str) -> Result<Vec<CidrRecord>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| Error::input(Origin::new(name, 1), format!("invalid CSV header: {e}")))?
        .clone();
    for col in ["cluster_name", "network_type", "cidr_block"] {
        if !headers.iter().any(|h| h == col) {
            return Err(Error::input(
                Origin::new(name, 1),
                format!(
                    "CSV header has no column {col} (expected cluster_name,network_type,cidr_block[,is_active][,source], found {:?})",
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        }
    }
    let mut out = Vec::new();
    let mut row = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(Error::input(Origin::new(name, line), format!("invalid CSV record: {e}")));
            }
        }
        let origin = Origin::new(name, row.position().map(|p| p.line()).unwrap_or(0));
        let raw: RawRecord = row
            .deserialize(Some(&headers))
            .map_err(|e| Error::input(origin.clone(), format!("invalid CSV record: {e}")))?;
        out.push(raw.into_record(origin)?);
    }
    Ok(out)
}

/// The winner for an address: the first type in Cilium's order whose prefixes
/// contain it, and the most specific such prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrMatch {
    /// The type that matched.
    pub network_type: NetworkType,
    /// The most specific prefix of that type containing the address.
    pub cidr: IpNet,
}

/// One cluster's prefixes, indexed for longest-prefix match.
#[derive(Debug, Default, Clone)]
pub struct ClusterCidrs {
    /// Distinct prefix lengths present, longest first.
    lengths: Vec<u8>,
    /// (masked key, length) → the flattened winner for addresses under it.
    table: HashMap<(u128, u8), CidrMatch>,
    /// The active records per type, in input order, de-duplicated (for explain and export).
    by_type: BTreeMap<NetworkType, Vec<IpNet>>,
}

impl ClusterCidrs {
    fn build(records: BTreeMap<NetworkType, Vec<IpNet>>) -> ClusterCidrs {
        // Best (type, longest) per distinct prefix.
        let mut own: HashMap<(u128, u8), (NetworkType, IpNet)> = HashMap::new();
        for (&t, nets) in &records {
            for &net in nets {
                let k = net_key(net);
                own.entry(k)
                    .and_modify(|cur| {
                        if t < cur.0 {
                            *cur = (t, net)
                        }
                    })
                    .or_insert((t, net));
            }
        }
        let mut lengths: Vec<u8> = own.keys().map(|&(_, l)| l).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        // Flatten: for each prefix, the winner over itself and every covering prefix.
        let mut table = HashMap::with_capacity(own.len());
        for (&(key, len), &(t0, n0)) in &own {
            let mut best = (t0, len, n0);
            for &l in lengths.iter().filter(|&&l| l < len) {
                if let Some(&(t, n)) = own.get(&(key & mask(l), l)) {
                    // Lower type wins; within a type the longer prefix wins.
                    if t < best.0 || (t == best.0 && l > best.1) {
                        best = (t, l, n);
                    }
                }
            }
            table.insert((key, len), CidrMatch { network_type: best.0, cidr: best.2 });
        }
        ClusterCidrs { lengths, table, by_type: records }
    }

    /// The winner for `ip`, or `None` (world).
    pub fn lookup(&self, ip: IpAddr) -> Option<CidrMatch> {
        let key = ip_key(ip);
        self.lengths
            .iter()
            .find_map(|&l| self.table.get(&(key & mask(l), l)).copied())
    }

    /// The winner for every address under the prefix `(key, len)`, when all
    /// of them share one: the flattened entry of the longest own prefix that
    /// contains the whole prefix. Since every prefix of this cluster covering
    /// an address under it either covers the whole prefix or is longer, this
    /// is exactly what [`lookup`](Self::lookup) answers for an address whose
    /// longest match over *all* clusters' prefixes is `(key, len)` — the
    /// property the SQL trie (`sql/0004_cidr_trie.sql`) is built on.
    pub fn lookup_prefix(&self, key: u128, len: u8) -> Option<CidrMatch> {
        self.lengths
            .iter()
            .filter(|&&l| l <= len)
            .find_map(|&l| self.table.get(&(key & mask(l), l)).copied())
    }

    /// The distinct active prefixes of this cluster, as `(key, len)` in the unified space.
    pub fn prefixes(&self) -> impl Iterator<Item = (u128, u8)> + '_ {
        self.table.keys().copied()
    }

    /// The active prefixes of one type, in input order.
    pub fn of_type(&self, t: NetworkType) -> &[IpNet] {
        self.by_type.get(&t).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The most specific prefix of type `t` containing `ip` (a linear scan: for `--explain` only).
    pub fn scan_type(&self, t: NetworkType, ip: IpAddr) -> Option<IpNet> {
        let key = ip_key(ip);
        self.of_type(t)
            .iter()
            .filter(|n| {
                let (k, l) = net_key(**n);
                key & mask(l) == k
            })
            .max_by_key(|n| net_key(**n).1)
            .copied()
    }

    /// Number of distinct active prefixes.
    pub fn len(&self) -> usize {
        self.by_type.values().map(Vec::len).sum()
    }

    /// True when the cluster has no active prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// All clusters' CIDRs, ready for lookups.
#[derive(Debug, Default, Clone)]
pub struct CidrConfig {
    clusters: BTreeMap<String, ClusterCidrs>,
    empty: ClusterCidrs,
}

impl CidrConfig {
    /// Build the lookup tables from records; inactive records are ignored,
    /// duplicates collapse.
    pub fn from_records(records: &[CidrRecord]) -> CidrConfig {
        let mut grouped: BTreeMap<&str, BTreeMap<NetworkType, Vec<IpNet>>> = BTreeMap::new();
        // De-duplicate with a set: a scan per record is quadratic at 10,000 node /32s.
        let mut seen: std::collections::HashSet<(&str, NetworkType, IpNet)> = Default::default();
        for r in records.iter().filter(|r| r.is_active) {
            if seen.insert((&r.cluster_name, r.network_type, r.cidr)) {
                grouped.entry(&r.cluster_name).or_default().entry(r.network_type).or_default().push(r.cidr);
            }
        }
        drop(seen);
        let clusters = grouped
            .into_iter()
            .map(|(c, t)| (c.to_string(), ClusterCidrs::build(t)))
            .collect();
        CidrConfig { clusters, empty: ClusterCidrs::default() }
    }

    /// The cluster's tables (empty when the cluster is unknown: everything is world).
    pub fn cluster(&self, name: &str) -> &ClusterCidrs {
        self.clusters.get(name).unwrap_or(&self.empty)
    }

    /// True when `name` has at least one active record.
    pub fn knows(&self, name: &str) -> bool {
        self.clusters.contains_key(name)
    }

    /// Cluster names, sorted.
    pub fn cluster_names(&self) -> impl Iterator<Item = &str> {
        self.clusters.keys().map(String::as_str)
    }

    /// The flattened trie over every cluster at once: one row per distinct
    /// prefix of any cluster, sorted by `(key, len)`, carrying, for each
    /// cluster with a prefix covering it, that cluster's winner (first type in
    /// Cilium's order, most specific prefix within it) over all its prefixes
    /// covering it. A longest-prefix match over these rows, then the row's
    /// entry for cluster C, equals `self.cluster(C).lookup(ip)` for every
    /// address: the rows ClickHouse's IP_TRIE dictionary is loaded with.
    pub fn trie_rows(&self) -> Vec<TrieRow<'_>> {
        let mut keys: Vec<(u128, u8)> = self.clusters.values().flat_map(ClusterCidrs::prefixes).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|(key, len)| TrieRow {
                key,
                len,
                winners: self
                    .clusters
                    .iter()
                    .filter_map(|(c, cc)| cc.lookup_prefix(key, len).map(|m| (c.as_str(), m)))
                    .collect(),
            })
            .collect()
    }
}

/// One row of the all-clusters trie ([`CidrConfig::trie_rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrieRow<'a> {
    /// The prefix's masked key in the unified 128-bit space.
    pub key: u128,
    /// Its length in that space (IPv4 /p is p + 96).
    pub len: u8,
    /// Per cluster covering it (sorted by name), the cluster's winner.
    pub winners: Vec<(&'a str, CidrMatch)>,
}

impl TrieRow<'_> {
    /// The prefix as ClickHouse's IP_TRIE key: IPv6 text, IPv4 as `::ffff:a.b.c.d/(p+96)`.
    pub fn trie_prefix(&self) -> String {
        format!("{}/{}", Ipv6Addr::from(self.key), self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(c: &str, t: NetworkType, n: &str) -> CidrRecord {
        CidrRecord {
            cluster_name: c.into(),
            network_type: t,
            cidr: parse_cidr(n).unwrap(),
            is_active: true,
            source: String::new(),
            origin: Origin::new("t", 1),
        }
    }

    #[test]
    fn host_bits_suggest_network() {
        let e = parse_cidr("10.0.0.5/24").unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/24?"), "{e}");
        assert_eq!(parse_cidr("10.0.0.5").unwrap().to_string(), "10.0.0.5/32");
        assert_eq!(parse_cidr("fd00::1").unwrap().to_string(), "fd00::1/128");
        assert_eq!(parse_cidr("::ffff:10.0.0.0/104").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("banana").is_err());
    }

    #[test]
    fn flattened_lookup_prefers_type_then_specific() {
        use NetworkType::*;
        let cfg = CidrConfig::from_records(&[
            rec("a", Node, "10.0.0.0/8"),
            rec("a", Pod, "10.244.0.0/16"),
            rec("a", Pod, "10.244.1.0/24"),
            rec("a", Service, "10.244.1.128/25"),
            rec("b", Pod, "10.244.0.0/16"),
        ]);
        let a = cfg.cluster("a");
        let m = a.lookup("10.244.1.200".parse().unwrap()).unwrap();
        assert_eq!((m.network_type, m.cidr.to_string().as_str()), (Pod, "10.244.1.0/24"));
        let m = a.lookup("10.1.1.1".parse().unwrap()).unwrap();
        assert_eq!(m.network_type, Node);
        assert!(a.lookup("11.0.0.1".parse().unwrap()).is_none());
        assert!(cfg.cluster("c").lookup("10.244.0.1".parse().unwrap()).is_none());
        assert_eq!(cfg.cluster("b").lookup("10.244.9.9".parse().unwrap()).unwrap().network_type, Pod);
    }

    #[test]
    fn trie_rows_answer_like_lookup() {
        use NetworkType::*;
        let cfg = CidrConfig::from_records(&[
            rec("a", Node, "10.0.0.0/8"),
            rec("a", Pod, "10.244.0.0/16"),
            rec("a", Service, "10.244.1.128/25"),
            rec("b", Pod, "10.244.0.0/16"),
            rec("b", Node, "10.244.1.130"),
            rec("c", Pod, "fd00::/8"),
        ]);
        let rows = cfg.trie_rows();
        let prefixes: Vec<String> = rows.iter().map(TrieRow::trie_prefix).collect();
        assert_eq!(
            prefixes,
            ["::ffff:10.0.0.0/104", "::ffff:10.244.0.0/112", "::ffff:10.244.1.128/121", "::ffff:10.244.1.130/128", "fd00::/8"]
        );
        // Longest match for 10.244.1.130 is the /32 of b; a's winner there is its pod /16.
        let last = &rows[3];
        let w: Vec<(&str, NetworkType, String)> = last.winners.iter().map(|(c, m)| (*c, m.network_type, m.cidr.to_string())).collect();
        assert_eq!(w, [("a", Pod, "10.244.0.0/16".to_string()), ("b", Pod, "10.244.0.0/16".to_string())]);
        // Brute force: for sampled addresses, longest trie row's entry == lookup.
        for ip in ["10.1.1.1", "10.244.1.129", "10.244.1.130", "10.244.1.200", "10.244.2.1", "11.0.0.1", "fd00::1", "fe00::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            let k = ip_key(ip);
            let row = rows.iter().filter(|r| k & mask(r.len) == r.key).max_by_key(|r| r.len);
            for c in ["a", "b", "c", "d"] {
                let want = cfg.cluster(c).lookup(ip);
                let got = row.and_then(|r| r.winners.iter().find(|(n, _)| *n == c).map(|(_, m)| *m));
                assert_eq!(got, want, "{ip} {c}");
            }
        }
    }

    #[test]
    fn csv_and_json_inputs() {
        let csv = "cluster_name,network_type,cidr_block,is_active\nc1,pod_cidr,10.244.0.0/16,1\nc1,service_cidr,10.96.0.0/12,0\n";
        let r = read_cidr_text(csv, "x.csv").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].origin.line, 3);
        assert!(!r[1].is_active);
        let bad = "cluster_name,network_type,cidr_block\nc1,pod_cidr,10.244.0.5/16\n";
        let e = read_cidr_text(bad, "x.csv").unwrap_err().to_string();
        assert_eq!(e, "x.csv:2: column cidr_block: \"10.244.0.5/16\" has host bits set; did you mean 10.244.0.0/16?");
        let j = r#"[{"cluster_name":"c","network_type":"node_cidr","cidr_block":"fd00::/64","is_active":1}]"#;
        assert_eq!(read_cidr_text(j, "x.json").unwrap()[0].cidr.to_string(), "fd00::/64");
        let jl = "{\"cluster_name\":\"c\",\"network_type\":\"pods\",\"cidr_block\":\"10.0.0.0/8\"}\n";
        let e = read_cidr_text(jl, "x.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("x.jsonl:1: network_type \"pods\""), "{e}");
    }
}
