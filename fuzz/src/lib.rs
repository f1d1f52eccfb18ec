//! The bodies of netmap's fuzz targets, one public function per target.
//!
//! Owns: what each target feeds netmap and which invariants it asserts (a
//! failed assertion is a finding, exactly like a panic). The thin binaries in
//! `fuzz/fuzz_targets/` hand libFuzzer's bytes to these functions; the normal
//! test suite (`tests/fuzz_regressions.rs`) includes this file by path and
//! replays every file under `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through the same functions, on stable Rust.
//!
//! Invariants checked, besides "no panic":
//! - peers: `parse_ip(s) = Some(ip)` ⇒ `parse_peer(s) = Ip(ip)`, never an
//!   IPv4-mapped IPv6; names are valid lowercase DNS names; `classify` is
//!   `None` exactly for blank input and `classify_span` exactly when
//!   `has_peer` is false; `explain` always says something; the flattened
//!   lookup equals a linear scan in Cilium's order (pod, service, node,
//!   remote-node; most specific prefix within a type).
//! - CIDRs: a parsed network has no host bits, is never IPv4-mapped, and
//!   re-parses from its text; over any CIDR file that reads, the flattened
//!   lookup equals the linear scan, and the all-clusters trie (what the SQL
//!   dictionary is loaded with) answers the same as the per-cluster lookup.
//! - readers: every record gives exactly one event (rows + rejects + skips =
//!   records, where records are countable independently: non-blank lines for
//!   JSON lines and Hubble, CSV records after the header); every row has a
//!   cluster and a peer the rule classifies (`classify` relies on it);
//!   lines are within the input; JSON rejects (JSON lines, Hubble, OTLP)
//!   keep their raw record on one line (`--rejects` writes one per line); edges add up to the rows; the
//!   edge writers (csv, json, dot, mermaid) accept whatever the readers give.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;

use netmap::cidr::{ip_key, net_key, parse_cidr, read_cidr_text, CidrConfig, NetworkType};
use netmap::edges::{EdgeAggregator, EdgeKeyRef};
use netmap::input::{self, Event, Format, ReadOpts};
use netmap::output::OutputFormat;
use netmap::rule::{has_peer, is_dns_name, parse_ip, parse_peer, Classifier, Kind, Peer, DEFAULT_CLUSTER_DOMAIN};

/// The fixed configuration the peer and reader targets classify against:
/// every type, both families, nested and overlapping prefixes across types
/// and clusters, a mapped IPv4 prefix and catch-alls.
pub const CIDRS: &str = "\
cluster_name,network_type,cidr_block,is_active
prod,pod_cidr,10.244.0.0/16,1
prod,pod_cidr,10.244.1.0/24,1
prod,pod_cidr,fd00:10:244::/56,1
prod,service_cidr,10.96.0.0/12,1
prod,service_cidr,10.244.1.128/25,1
prod,service_cidr,fd00:10:96::/112,1
prod,node_cidr,172.18.0.3/32,1
prod,node_cidr,10.0.0.0/8,1
prod,node_cidr,8.8.8.0/24,0
prod,remote_node_cidr,172.19.0.0/24,1
prod,remote_node_cidr,172.19.0.128/25,1
stage,pod_cidr,10.244.0.0/16,1
stage,node_cidr,192.168.254.0/24,1
stage,pod_cidr,::ffff:100.64.0.0/106,1
mesh,remote_node_cidr,0.0.0.0/0,1
mesh,node_cidr,::/0,1
";

/// Clusters the targets ask about (the last one has no CIDRs).
pub const CLUSTERS: [&str; 4] = ["prod", "stage", "mesh", "unknown"];

/// The classifier over [`CIDRS`], built once.
pub fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| {
        let recs = read_cidr_text(CIDRS, "fuzz-cidrs.csv").expect("the fixed fuzz configuration reads");
        Classifier::new(CidrConfig::from_records(&recs), DEFAULT_CLUSTER_DOMAIN)
    })
}

fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// The rule's IP step by a linear scan in Cilium's order, the reference the
/// flattened table must equal: `(type, prefix)` or `None` for world.
fn reference(cfg: &CidrConfig, cluster: &str, ip: IpAddr) -> Option<(NetworkType, ipnet::IpNet)> {
    let cc = cfg.cluster(cluster);
    NetworkType::ALL.into_iter().find_map(|t| cc.scan_type(t, ip).map(|n| (t, n)))
}

fn check_lookup(cfg: &CidrConfig, cluster: &str, ip: IpAddr) {
    let got = cfg.cluster(cluster).lookup(ip).map(|m| (m.network_type, m.cidr));
    let want = reference(cfg, cluster, ip);
    // Two equal prefixes of one type may be written differently only if
    // parsing normalised them; compare in the unified key space.
    let norm = |x: Option<(NetworkType, ipnet::IpNet)>| x.map(|(t, n)| (t, net_key(n)));
    assert_eq!(norm(got), norm(want), "lookup of {ip} for {cluster:?} differs from the linear scan");
}

fn check_peer_text(c: &Classifier, cluster: &str, s: &str) {
    let p = parse_peer(s);
    if let Some(ip) = parse_ip(s) {
        assert_eq!(p, Peer::Ip(ip), "parse_ip({s:?}) is an address but parse_peer disagrees");
    }
    match &p {
        Peer::Empty => assert!(s.trim().is_empty(), "{s:?} parsed as empty"),
        Peer::Ip(IpAddr::V6(v6)) => assert!(v6.to_ipv4_mapped().is_none(), "{s:?}: mapped address not unmapped"),
        Peer::Name(n) => {
            assert!(is_dns_name(n), "{s:?}: name {n:?} is not a DNS name");
            assert_eq!(n, &n.to_ascii_lowercase(), "{s:?}: name not lowercased");
        }
        _ => {}
    }
    let v = c.classify(cluster, s);
    assert_eq!(v.is_none(), s.trim().is_empty(), "classify({s:?}) is None only for blank input");
    if let Some(v) = v {
        assert_eq!(v.is_external() == 1, v.kind == Kind::World);
        assert_eq!(v.hint.is_some(), v.kind == Kind::World, "{s:?}: a hint exactly for world");
        assert_eq!(v.matched.is_some(), matches!(v.kind, Kind::Pod | Kind::Service | Kind::Node | Kind::RemoteNode) && matches!(p, Peer::Ip(_)));
    }
    if let Peer::Ip(ip) = p {
        if !(ip.is_loopback() || ip.is_unspecified()) {
            check_lookup(c.config(), cluster, ip);
        }
    }
    assert!(!c.explain(cluster, s).is_empty(), "explain({s:?}) said nothing");
}

/// Target `peer`: the input is `dest \n dest_ip \n cluster-selector`; every
/// piece (and the whole text) goes through `parse_ip`, `parse_peer`,
/// `classify`, `explain` and `classify_span`.
pub fn peer(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let c = classifier();
    let mut parts = text.splitn(3, '\n');
    let dest = parts.next().unwrap_or("");
    let dest_ip = parts.next().unwrap_or("");
    let cluster = CLUSTERS[parts.next().map_or(0, str::len) % CLUSTERS.len()];
    for s in [&*text, dest, dest_ip] {
        check_peer_text(c, cluster, s);
    }
    let v = c.classify_span(cluster, dest, dest_ip);
    assert_eq!(v.is_some(), has_peer(dest, dest_ip), "classify_span({dest:?}, {dest_ip:?})");
    // Addresses taken from the bytes directly: every IPv4 and IPv6 value.
    if data.len() >= 4 {
        let v4 = Ipv4Addr::new(data[0], data[1], data[2], data[3]);
        for cl in CLUSTERS {
            check_lookup(c.config(), cl, IpAddr::V4(v4));
        }
    }
    if data.len() >= 16 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&data[..16]);
        let v6 = Ipv6Addr::from(b);
        for cl in CLUSTERS {
            let ip = match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            };
            check_lookup(c.config(), cl, ip);
        }
    }
}

/// Target `cidr`: every line through `parse_cidr`; the whole text through
/// `read_cidr_text` as CSV, JSON array and JSON lines; any configuration that
/// reads is checked against the linear scan and its all-clusters trie.
pub fn cidr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(256) {
        if let Ok(net) = parse_cidr(line) {
            assert_eq!(net.trunc(), net, "{line:?}: host bits left in {net}");
            if let ipnet::IpNet::V6(n) = net {
                assert!(n.prefix_len() < 96 || n.network().to_ipv4_mapped().is_none(), "{line:?}: mapped prefix {net} not unmapped");
            }
            assert_eq!(parse_cidr(&net.to_string()), Ok(net), "{line:?}: {net} does not re-parse");
        }
    }
    for name in ["fuzz.csv", "fuzz.json", "fuzz.jsonl", "fuzz"] {
        let Ok(recs) = read_cidr_text(&text, name) else { continue };
        if recs.len() > 200 {
            continue; // the checks below are quadratic
        }
        for r in &recs {
            assert!(!r.cluster_name.trim().is_empty(), "{name}: record with an empty cluster");
            assert_eq!(r.cidr.trunc(), r.cidr);
        }
        let cfg = CidrConfig::from_records(&recs);
        let rows = cfg.trie_rows();
        // Probes: each prefix's first and last address, and the addresses next to them.
        let mut probes: Vec<u128> = Vec::new();
        for r in recs.iter().take(64) {
            let (k, l) = net_key(r.cidr);
            let last = k | !mask(l);
            probes.extend([k, last, k.wrapping_sub(1), last.wrapping_add(1)]);
        }
        let clusters: Vec<String> = cfg.cluster_names().map(str::to_string).collect();
        for key in probes {
            let v6 = Ipv6Addr::from(key);
            let ip = match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            };
            let k = ip_key(ip);
            let best = rows.iter().filter(|row| k & mask(row.len) == row.key).max_by_key(|row| row.len);
            for cl in &clusters {
                check_lookup(&cfg, cl, ip);
                let from_trie = best.and_then(|row| row.winners.iter().find(|(c, _)| c == cl).map(|(_, m)| *m));
                assert_eq!(from_trie, cfg.cluster(cl).lookup(ip), "{name}: trie answer for {ip} in {cl:?} differs from lookup");
            }
        }
    }
}

/// Counts of one read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Usable rows.
    pub rows: u64,
    /// Rejected records.
    pub rejects: u64,
    /// Skipped records.
    pub skips: u64,
}

impl Counts {
    /// Events in all.
    pub fn events(&self) -> u64 {
        self.rows + self.rejects + self.skips
    }
}

/// Non-blank lines, as the line readers count records (`\n`-separated, a
/// line of ASCII whitespace only is blank; a UTF-8 BOM on line 1 is dropped
/// when `bom`).
fn nonblank_lines(data: &[u8], bom: bool) -> u64 {
    let mut n = 0;
    for (i, l) in data.split(|&b| b == b'\n').enumerate() {
        let l = if bom && i == 0 { l.strip_prefix(b"\xef\xbb\xbf").unwrap_or(l) } else { l };
        if !l.iter().all(u8::is_ascii_whitespace) {
            n += 1;
        }
    }
    n
}

/// CSV records after the header, counted by the csv crate on its own.
fn csv_records(data: &[u8]) -> Option<u64> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut n = 0u64;
    loop {
        match r.read_byte_record(&mut rec) {
            Ok(true) => n += 1,
            Ok(false) => return Some(n.saturating_sub(1)),
            Err(_) => n += 1, // a broken record is still one record (one reject)
        }
    }
}

/// Read `data` as `format` the way `classify --input` does, check the
/// reader invariants (module docs) and return the counts (`None` when the
/// reader stopped with an error, which is allowed: a clear error, no panic).
pub fn read(format: Format, data: &[u8], default_cluster: Option<&str>) -> Option<Counts> {
    let c = classifier();
    let opts = ReadOpts { name: "fuzz".into(), default_cluster: default_cluster.map(str::to_string) };
    let lines = 1 + data.iter().filter(|&&b| b == b'\n').count() as u64;
    // OTLP too: span rejects are compacted, whole-document rejects put on one line.
    let one_line_raw = matches!(format, Format::Jsonl | Format::Hubble | Format::Otlp | Format::Vpcflow);
    let mut n = Counts::default();
    let mut agg = EdgeAggregator::new();
    let mut r: &[u8] = data;
    let res = {
        let mut sink = |ev: Event<'_>| -> netmap::Result<()> {
            match ev {
                Event::Row(row) => {
                    n.rows += 1;
                    assert!(row.line >= 1 && row.line <= lines, "row line {} outside 1..={lines}", row.line);
                    assert!(!row.cluster.is_empty(), "a row without a cluster");
                    let v = c
                        .classify_span(row.cluster, row.dest, row.dest_ip)
                        .expect("a row always has a peer the rule classifies");
                    agg.add(
                        EdgeKeyRef { cluster: row.cluster, src: row.src, dest: row.display_dest(), protocol: row.protocol, kind: v.kind },
                        row.duration_ns,
                        row.is_error,
                    );
                }
                Event::Reject(rej) => {
                    n.rejects += 1;
                    assert!(rej.line <= lines, "reject line {} beyond {lines}", rej.line);
                    assert!(!rej.reason.is_empty(), "a reject without a reason");
                    if one_line_raw {
                        assert!(!rej.raw.contains(&b'\n'), "a reject's raw record spans lines (--rejects writes one per line)");
                    }
                }
                Event::Skip(why) => {
                    n.skips += 1;
                    assert!(!why.is_empty());
                }
            }
            Ok(())
        };
        let r: &mut dyn BufRead = &mut r;
        match format {
            Format::Csv => input::csv::read(r, &opts, &mut sink),
            Format::Jsonl => input::jsonl::read(r, &opts, &mut sink),
            Format::Otlp => input::otlp::read(r, &opts, &mut sink),
            Format::Hubble => input::hubble::read(r, &opts, &mut sink),
            Format::Vpcflow => input::vpcflow::read(r, &opts, &mut sink),
        }
    };
    assert_eq!(agg.calls(), n.rows, "edges do not add up to the rows");
    let edges = agg.into_sorted();
    let graph = netmap::graph::GraphOpts { top: Some(3), collapse: netmap::graph::Collapse::Namespace, title: None };
    for f in [OutputFormat::Csv, OutputFormat::Json, OutputFormat::Dot, OutputFormat::Mermaid] {
        netmap::output::write_edges(f, &edges, &graph, Box::new(std::io::sink())).expect("writing edges to a sink");
    }
    if res.is_err() {
        return None;
    }
    match format {
        Format::Jsonl => assert_eq!(n.events(), nonblank_lines(data, true), "JSON lines: one event per non-blank line"),
        Format::Hubble => assert_eq!(n.events(), nonblank_lines(data, true), "Hubble: one event per non-blank line"),
        Format::Vpcflow => assert_eq!(n.events(), nonblank_lines(data, true), "VPC flow log: one event per non-blank line"),
        Format::Csv => {
            if let Some(recs) = csv_records(data) {
                assert_eq!(n.events(), recs, "CSV: one event per record after the header");
            }
        }
        Format::Otlp => {}
    }
    Some(n)
}

fn read_both(format: Format, data: &[u8]) {
    // With and without --cluster: rows without a cluster become rejects, never lost.
    let with = read(format, data, Some("prod"));
    let without = read(format, data, None);
    if let (Some(a), Some(b)) = (with, without) {
        assert_eq!(a.events(), b.events(), "--cluster changed the number of records");
        assert!(b.rows <= a.rows);
    }
}

/// Target `input_csv`.
pub fn input_csv(data: &[u8]) {
    read_both(Format::Csv, data);
}

/// Target `input_jsonl`.
pub fn input_jsonl(data: &[u8]) {
    read_both(Format::Jsonl, data);
}

/// Target `input_otlp`.
pub fn input_otlp(data: &[u8]) {
    read_both(Format::Otlp, data);
}

/// Target `input_hubble`.
pub fn input_hubble(data: &[u8]) {
    read_both(Format::Hubble, data);
}

/// Target `input_vpcflow`.
pub fn input_vpcflow(data: &[u8]) {
    read_both(Format::Vpcflow, data);
}

/// Target `input_detect`: the format detection of `Input` (no extension),
/// then that format's reader.
pub fn input_detect(data: &[u8]) {
    let mut r: &[u8] = data;
    let format = input::detect(Path::new("fuzz"), &mut r).expect("detect reads from memory");
    read(format, data, Some("prod"));
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: [(&str, Target); 8] = [
    ("peer", peer),
    ("cidr", cidr),
    ("input_csv", input_csv),
    ("input_jsonl", input_jsonl),
    ("input_otlp", input_otlp),
    ("input_hubble", input_hubble),
    ("input_vpcflow", input_vpcflow),
    ("input_detect", input_detect),
];
