//! The parity proof: spans of every rule case, garbage and a seeded random
//! corpus go through ClickHouse's views; every `network_raw` row and every
//! `network_connections` edge must equal what `Classifier` says.

use std::collections::BTreeMap;

use netmap::cidr::read_cidr_text;
use netmap::edges::{EdgeAggregator, EdgeKeyRef};
use netmap::rule::{has_peer, Classifier, DEFAULT_CLUSTER_DOMAIN};
use netmap::CidrConfig;
use serde::{Deserialize, Serialize};

use crate::Db;

/// A weird cluster name: quotes, backslash, newline, SQL.
pub const WEIRD: &str = "we'ird\"\\\n;DROP TABLE spans;--";

/// Several clusters: overlapping pod CIDRs, nested prefixes across types and
/// clusters, IPv6, /32 nodes, a /0, inactive records.
pub fn cidr_csv() -> String {
    let rows: &[(&str, &str, &str, &str)] = &[
        ("prod", "pod_cidr", "10.244.0.0/16", "1"),
        ("prod", "pod_cidr", "fd00:10:244::/56", "1"),
        ("prod", "service_cidr", "10.96.0.0/12", "1"),
        ("prod", "service_cidr", "fd00:10:96::/112", "1"),
        ("prod", "service_cidr", "10.244.1.128/25", "1"),
        ("prod", "node_cidr", "172.18.0.3/32", "1"),
        ("prod", "node_cidr", "172.18.0.4", "1"),
        ("prod", "node_cidr", "10.0.0.0/8", "1"),
        ("prod", "node_cidr", "8.8.8.0/24", "0"),
        ("prod", "remote_node_cidr", "172.19.0.0/24", "1"),
        ("prod", "remote_node_cidr", "172.19.0.128/25", "1"),
        ("stage", "pod_cidr", "10.244.0.0/16", "1"),
        ("stage", "node_cidr", "192.168.254.0/24", "1"),
        ("stage", "node_cidr", "10.244.1.130/32", "1"),
        ("stage", "service_cidr", "fd00:10:244:0:1::/80", "1"),
        ("stage", "pod_cidr", "::ffff:100.64.0.0/106", "1"),
        ("mesh", "remote_node_cidr", "0.0.0.0/0", "1"),
        ("mesh", "pod_cidr", "fd00::/8", "1"),
        ("mesh", "node_cidr", "::/0", "1"),
        (WEIRD, "pod_cidr", "100.64.0.0/10", "1"),
        (WEIRD, "service_cidr", "2001:db8::/32", "1"),
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["cluster_name", "network_type", "cidr_block", "is_active"]).unwrap();
    for r in rows {
        w.write_record([r.0, r.1, r.2, r.3]).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// Hand-picked peers: every rule case and the garbage of the issue.
pub const PEERS: &[(&str, &str)] = &[
    ("", "10.244.3.7"),
    ("", "10.244.1.129"),
    ("", "10.244.1.130:80"),
    ("", "10.244.1.200"),
    ("", "10.96.0.10:53"),
    ("", "[fd00:10:244::9]:80"),
    ("", "fd00:10:244:0:1::5"),
    ("", "fd00:10:96::a"),
    ("", "172.18.0.4"),
    ("", "172.19.0.77"),
    ("", "172.19.0.200"),
    ("", "::ffff:10.244.1.1"),
    ("", "::FFFF:10.244.1.1"),
    ("", "::ffff:a0a:101"),
    ("", "192.168.254.80"),
    ("", "8.8.8.8"),
    ("", "127.0.0.1"),
    ("", "127.255.0.9:1"),
    ("", "::1"),
    ("", "[::1]:8080"),
    ("", "0.0.0.0:80"),
    ("", "::"),
    ("", "::ffff:0.0.0.0"),
    ("", "::ffff:127.0.0.1"),
    ("", "::127.0.0.1"),
    ("", "100.64.1.1"),
    ("", "100.127.255.255"),
    ("", "169.254.169.254"),
    ("", "169.254.1.1"),
    ("", "fe80::1%eth0"),
    ("", "[fe80::1%eth0]:80"),
    ("", "fe80::1%"),
    ("", "fd12::1"),
    ("", "fd00:ec2::254"),
    ("", "239.1.1.1"),
    ("", "ff02::1"),
    ("", "192.0.2.1"),
    ("", "198.51.100.7"),
    ("", "203.0.113.255"),
    ("", "2001:db8::1"),
    ("", "2606:4700::1111"),
    ("", "255.255.255.255"),
    ("", "0.1.2.3"),
    ("", "240.0.0.1"),
    ("", "172.31.0.1"),
    ("", "172.32.0.1"),
    ("", "1:2:3:4:5:6:7::"),
    ("", "1:2:3:4:5:6:7::8"),
    ("", "1:2:3:4:5::1.2.3.4"),
    ("", "1:2:3:4:5:6::1.2.3.4"),
    ("", "::1.2.3.4"),
    ("", "0001:0db8::1"),
    ("", "00001::1"),
    ("", "10.0.0.300"),
    ("", "::ffff:300.1.1.1"),
    ("", "010.1.2.3"),
    ("", "1.2.3.4:99999"),
    ("", "1.2.3.4:65535"),
    ("", "1.2.3.4:"),
    ("", "[::1"),
    ("", "[::1]:"),
    ("", "[::1]x"),
    ("", " 10.244.3.7 "),
    ("", "\u{3000}10.244.3.7\u{a0}"),
    ("", "garbage"),
    ("redis", ""),
    ("Redis:6379", ""),
    ("product-service:8080", "10.244.1.17:8080"),
    ("product-service", "garbage"),
    ("db.prod.svc", ""),
    ("db.prod.svc.cluster.local.", ""),
    ("X.Cluster.Local", ""),
    ("cluster.local", ""),
    (".svc", ""),
    ("svc", ""),
    ("localhost", ""),
    ("LOCALHOST.", ""),
    ("localhost:8080", ""),
    ("google.com", ""),
    ("API.Stripe.com.", ""),
    ("api.stripe.com..", ""),
    ("https://user@API.Stripe.com./v1?q", ""),
    ("http://10.0.0.1:8080/x", ""),
    ("http://[fd00::5]:80/", ""),
    ("http://", ""),
    ("http://a@b@c.example/", ""),
    ("http:// 10.244.3.7 /", ""),
    ("mysql://u:p@db.internal:3306/x", ""),
    ("%%%", ""),
    ("not an ip", ""),
    ("-bad-.com", ""),
    ("a_b.example", ""),
    ("1.2.3", ""),
    ("example.123", ""),
    ("münchen.de", ""),
    ("例え.jp", ""),
    ("a:b:80", ""),
    ("host:0", ""),
    ("host:123456", ""),
    ("  ", ""),
    ("", "  "),
    ("\t", "\u{2028}"),
    ("", ""),
    (" ", "garbage"),
    ("\u{85}x\u{85}", ""),
];

/// A tiny deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// Next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// One of.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

fn octet(r: &mut Rng) -> String {
    match r.below(10) {
        0 => format!("0{}", r.below(100)),
        1 => (250 + r.below(10)).to_string(),
        2 => r.pick(&["10", "172", "192", "127", "0", "169", "100", "224", "240"]).to_string(),
        _ => r.below(256).to_string(),
    }
}

fn ipv4(r: &mut Rng) -> String {
    let mut o: Vec<String> = (0..4).map(|_| octet(r)).collect();
    if r.below(8) == 0 {
        o.truncate(r.below(4) as usize + 1);
    }
    if r.below(12) == 0 {
        o.push(octet(r));
    }
    o.join(".")
}

fn group(r: &mut Rng) -> String {
    let len = match r.below(10) {
        0 => 5,
        1 => 0,
        _ => r.below(4) + 1,
    };
    (0..len).map(|_| *r.pick(&['0', '1', 'a', 'f', 'F', 'd', '9', 'g'])).collect()
}

fn ipv6(r: &mut Rng) -> String {
    let n = r.below(9) as usize;
    let mut gs: Vec<String> = (0..n).map(|_| group(r)).collect();
    if r.below(2) == 0 && gs.len() < 8 {
        let at = r.below(gs.len() as u64 + 1) as usize;
        gs.insert(at, String::new());
        if at == 0 || at == gs.len() - 1 {
            gs.insert(at, String::new());
        }
    }
    let mut s = gs.join(":");
    if r.below(4) == 0 {
        s = format!("{s}:{}", ipv4(r));
    }
    if r.below(5) == 0 {
        s = format!("::ffff:{}", ipv4(r));
    }
    s
}

fn label(r: &mut Rng) -> String {
    let len = match r.below(12) {
        0 => 64,
        1 => 63,
        2 => 0,
        _ => r.below(8) + 1,
    };
    (0..len).map(|_| *r.pick(&['a', 'Z', '0', '9', '-', '_', 'x', 'e'])).collect()
}

fn hostname(r: &mut Rng) -> String {
    let n = r.below(5) + 1;
    let mut s: Vec<String> = (0..n).map(|_| label(r)).collect();
    match r.below(6) {
        0 => s.push("svc".into()),
        1 => s.extend(["svc".into(), "cluster".into(), "local".into()]),
        2 => s.push("123".into()),
        _ => {}
    }
    let mut h = s.join(".");
    if r.below(5) == 0 {
        h.push('.');
    }
    if r.below(20) == 0 {
        h = "x".repeat(250 + r.below(10) as usize);
    }
    h
}

fn with_port(r: &mut Rng, s: String) -> String {
    match r.below(8) {
        0 => format!("{s}:{}", r.below(70000)),
        1 => format!("{s}:"),
        2 => format!("{s}:0{}", r.below(10)),
        _ => s,
    }
}

/// An address in or near the configured prefixes, in one of its written forms.
fn near_cidr(r: &mut Rng) -> String {
    let (a, b, c) = (r.below(256), r.below(256), r.below(256));
    let v4 = match r.below(8) {
        0 => format!("10.244.{}.{a}", r.below(3)),
        1 => format!("10.244.1.{}", 120 + r.below(20)),
        2 => format!("172.19.0.{a}"),
        3 => format!("172.18.0.{}", r.below(6)),
        4 => format!("100.{}.{b}.{c}", 60 + r.below(72)),
        5 => format!("192.168.{}.{c}", 253 + r.below(3)),
        6 => format!("10.{}.{b}.{c}", 90 + r.below(20)),
        _ => format!("{a}.{b}.{c}.{}", r.below(256)),
    };
    let v6 = match r.below(5) {
        0 => format!("fd00:10:244::{:x}", r.below(0xffff)),
        1 => format!("fd00:10:244:0:1::{:x}", r.below(0xffff)),
        2 => format!("fd00:10:96::{:x}", r.below(0xffff)),
        3 => format!("2001:db8::{:x}", r.below(0xffff)),
        _ => format!("fd{:02x}::{:x}", r.below(256), r.below(0xffff)),
    };
    match r.below(7) {
        0 => format!("::ffff:{v4}"),
        1 => format!("{v4}:{}", r.below(65536)),
        2 => format!("[{v6}]:{}", r.below(65536)),
        3 => v6,
        _ => v4,
    }
}

/// One random peer string of any form.
pub fn peer(r: &mut Rng) -> String {
    if r.below(3) == 0 {
        return near_cidr(r);
    }
    let core = match r.below(9) {
        0 | 1 => {
            let a = ipv4(r);
            with_port(r, a)
        }
        2 => ipv6(r),
        3 => {
            let v6 = ipv6(r);
            let zone = if r.below(3) == 0 { format!("%{}", r.pick(&["eth0", "", "1", "%"])) } else { String::new() };
            with_port(r, format!("[{v6}{zone}]"))
        }
        4 => format!("{}%{}", ipv6(r), r.pick(&["eth0", "", "x y"])),
        5 | 6 => {
            let h = hostname(r);
            with_port(r, h)
        }
        7 => {
            let auth = if r.below(3) == 0 { format!("{}@", r.pick(&["u", "u:p", "a@b"])) } else { String::new() };
            let host = match r.below(3) {
                0 => ipv4(r),
                1 => format!("[{}]", ipv6(r)),
                _ => hostname(r),
            };
            let host = with_port(r, host);
            format!("{}://{auth}{host}{}", r.pick(&["http", "https", "grpc", ""]), r.pick(&["", "/", "/x?y", "#f", "?q"]))
        }
        _ => {
            let n = r.below(12);
            (0..n).map(|_| *r.pick(&['a', '.', ':', '[', ']', '%', '/', '@', ' ', '1', 'é', '\u{3000}'])).collect()
        }
    };
    match r.below(12) {
        0 => format!(" {core}"),
        1 => format!("{core}\t"),
        2 => format!("\u{a0}{core}"),
        3 => core.to_ascii_uppercase(),
        _ => core,
    }
}

/// A canonical span row, as inserted into `spans`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
pub struct SpanRow {
    /// ns since the epoch.
    pub timestamp: i64,
    /// Cluster.
    pub k8s_cluster_name: String,
    /// Caller (unique per row, to match rows back).
    pub src: String,
    /// Destination name.
    pub dest: String,
    /// Destination IP.
    pub dest_ip: String,
    /// Protocol.
    pub protocol: String,
    /// Duration.
    pub duration_ns: u64,
    /// Failed?
    pub is_error: u8,
}

/// A row of `network_raw`.
#[derive(Debug, Clone, PartialEq, Eq, clickhouse::Row, Deserialize)]
pub struct RawRow {
    /// Caller.
    pub src: String,
    /// Cluster.
    pub k8s_cluster_name: String,
    /// Displayed dest.
    pub dest: String,
    /// dest_ip.
    pub dest_ip: String,
    /// Verdict.
    pub kind: String,
    /// 1 for world.
    pub is_external: u8,
    /// '' or type.
    pub matched_type: String,
    /// '' or prefix.
    pub matched_cidr: String,
    /// '' or hint.
    pub hint: String,
}

/// The clusters rows come from.
pub const CLUSTERS: &[&str] = &["prod", "stage", "mesh", WEIRD, "nope", ""];

/// Every peer pair: the hand-picked ones for every cluster, then `random` seeded ones.
pub fn corpus(random: usize) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for c in CLUSTERS {
        for (d, ip) in PEERS {
            out.push((c.to_string(), d.to_string(), ip.to_string()));
        }
    }
    let mut r = Rng::new(0x6e65_746d_6170);
    for _ in 0..random {
        let c = r.pick(CLUSTERS).to_string();
        let (d, ip) = match r.below(4) {
            0 => (peer(&mut r), String::new()),
            1 => (String::new(), peer(&mut r)),
            _ => (peer(&mut r), peer(&mut r)),
        };
        out.push((c, d, ip));
    }
    out
}

/// What the Rust rule says for a row, in network_raw's shape; `None` when it is not an edge.
pub fn expected(c: &Classifier, src: &str, cluster: &str, dest: &str, dest_ip: &str) -> Option<RawRow> {
    if !has_peer(dest, dest_ip) {
        assert!(c.classify_span(cluster, dest, dest_ip).is_none());
        return None;
    }
    let v = c.classify_span(cluster, dest, dest_ip).expect("a row with a peer has a verdict");
    Some(RawRow {
        src: src.to_string(),
        k8s_cluster_name: cluster.to_string(),
        dest: if dest.is_empty() { dest_ip.to_string() } else { dest.to_string() },
        dest_ip: dest_ip.to_string(),
        kind: v.kind.as_str().to_string(),
        is_external: v.is_external(),
        matched_type: v.matched_type().map_or(String::new(), |t| t.as_str().to_string()),
        matched_cidr: v.matched_cidr().map_or(String::new(), |n| n.to_string()),
        hint: v.hint.map_or(String::new(), |h| h.as_str().to_string()),
    })
}

/// What the Rust rule says for each of [`span_rows`]' rows (one of each
/// inserted pair), by src; rows without a peer are left out.
pub fn expected_rows(c: &Classifier, rows: &[SpanRow]) -> BTreeMap<String, RawRow> {
    rows.iter()
        .step_by(2)
        .filter_map(|r| Some((r.src.clone(), expected(c, &r.src, &r.k8s_cluster_name, &r.dest, &r.dest_ip)?)))
        .collect()
}

/// The classifier over [`cidr_csv`].
pub fn classifier() -> Classifier {
    let recs = read_cidr_text(&cidr_csv(), "cidrs.csv").unwrap();
    Classifier::new(CidrConfig::from_records(&recs), DEFAULT_CLUSTER_DOMAIN)
}

/// Insert `rows` into the test database's `spans` as one block.
pub fn insert_spans(db: &Db, rows: &[SpanRow]) -> clickhouse::error::Result<()> {
    db.rt.block_on(async {
        let mut ins = db.ch.client().insert::<SpanRow>("spans").await?;
        for r in rows {
            ins.write(r).await?;
        }
        ins.end().await
    })
}

/// Every network_raw row matching `filter` (a WHERE clause, or empty).
pub fn fetch_raw(db: &Db, filter: &str) -> Vec<RawRow> {
    let sql = format!(
        "SELECT toString(src) AS src, toString(k8s_cluster_name) AS k8s_cluster_name, dest, dest_ip, toString(kind) AS kind, \
         is_external, toString(matched_type) AS matched_type, toString(matched_cidr) AS matched_cidr, toString(hint) AS hint \
         FROM network_raw {filter}"
    );
    db.rt.block_on(db.ch.run("test", db.ch.client().query_raw(&sql).fetch_all::<RawRow>())).unwrap()
}

/// Read network_raw back, by src.
pub fn raw_rows(db: &Db) -> BTreeMap<String, RawRow> {
    let rows = fetch_raw(db, "");
    let n = rows.len();
    let map: BTreeMap<String, RawRow> = rows.into_iter().map(|r| (r.src.clone(), r)).collect();
    assert_eq!(map.len(), n, "src is unique per row");
    map
}

/// Compare per row; returns the number of rows compared.
pub fn compare_rows(want: &BTreeMap<String, RawRow>, got: &BTreeMap<String, RawRow>) {
    let mut diffs = Vec::new();
    for (src, w) in want {
        match got.get(src) {
            Some(g) if g == w => {}
            Some(g) => diffs.push(format!("rust {w:?}\n  sql {g:?}")),
            None => diffs.push(format!("rust {w:?}\n  sql: no row")),
        }
    }
    for (src, g) in got {
        if !want.contains_key(src) {
            diffs.push(format!("rust: no row (no peer)\n  sql {g:?}"));
        }
    }
    assert!(diffs.is_empty(), "{} of {} rows differ:\n{}", diffs.len(), want.len(), diffs.iter().take(30).cloned().collect::<Vec<_>>().join("\n"));
}

/// Compare network_connections with the Rust aggregation of `rows` (src, cluster, dest, dest_ip, protocol, duration, error).
pub fn compare_edges(db: &Db, c: &Classifier, rows: &[SpanRow]) {
    let mut agg = EdgeAggregator::new();
    for r in rows {
        if let Some(v) = c.classify_span(&r.k8s_cluster_name, &r.dest, &r.dest_ip) {
            let dest = if r.dest.is_empty() { r.dest_ip.as_str() } else { r.dest.as_str() };
            agg.add(
                EdgeKeyRef { cluster: &r.k8s_cluster_name, src: &r.src, dest, protocol: &r.protocol, kind: v.kind },
                r.duration_ns,
                r.is_error != 0,
            );
        }
    }
    let want = agg.into_sorted();
    let got = db.rt.block_on(netmap::clickhouse::edges::read_edges(&db.ch, None, None, None)).unwrap();
    assert_eq!(want.len(), got.len(), "edge count");
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g);
    }
    // A cluster filter and a time range.
    let prod = db.rt.block_on(netmap::clickhouse::edges::read_edges(&db.ch, Some("prod"), Some(0), Some(i64::MAX))).unwrap();
    assert_eq!(prod, want.iter().filter(|e| e.key.k8s_cluster_name == "prod").cloned().collect::<Vec<_>>());
    let none = db.rt.block_on(netmap::clickhouse::edges::read_edges(&db.ch, None, Some(0), Some(1))).unwrap();
    assert!(none.is_empty());
}

/// Spans for the corpus: unique src per row; each row twice, to exercise summing.
pub fn span_rows(corpus: &[(String, String, String)]) -> Vec<SpanRow> {
    let base = 1_714_564_800_000_000_000i64; // 2024-05-01T12:00:00Z
    let mut out = Vec::new();
    for (i, (c, d, ip)) in corpus.iter().enumerate() {
        for k in 0..2u64 {
            out.push(SpanRow {
                timestamp: base + (i as i64) * 7_000_000_000 + k as i64,
                k8s_cluster_name: c.clone(),
                src: format!("s{i:05}"),
                dest: d.clone(),
                dest_ip: ip.clone(),
                protocol: ["http", "grpc", ""][i % 3].to_string(),
                duration_ns: 1000 + i as u64 + k,
                is_error: u8::from((i + k as usize).is_multiple_of(5)),
            });
        }
    }
    out
}

#[test]
fn parity_native_spans() {
    let Some(db) = Db::fresh("parity") else { return };
    db.apply_schema(&[]);
    // An empty trie first: everything IP is world, nothing fails.
    db.exec("INSERT INTO spans (timestamp, k8s_cluster_name, src, dest, dest_ip) VALUES (now64(9), 'prod', 'pre', '', '10.244.0.1')");
    assert_eq!(db.count("SELECT count() FROM network_raw WHERE src = 'pre' AND kind = 'world' AND hint = 'private'"), 1);
    db.exec("TRUNCATE TABLE network_raw");
    db.exec("TRUNCATE TABLE network_connections");
    db.push(&cidr_csv(), &[]);
    let c = classifier();
    let corpus = corpus(4000);
    let rows = span_rows(&corpus);
    insert_spans(&db, &rows).unwrap();
    let want = expected_rows(&c, &rows);
    // Each row was inserted twice with the same src: compare one of each.
    let got = raw_rows_dedup(&db);
    assert!(want.len() > 4000, "{}", want.len());
    compare_rows(&want, &got);
    compare_edges(&db, &c, &rows);
}

/// network_raw by src, checking both copies of each row agree.
pub fn raw_rows_dedup(db: &Db) -> BTreeMap<String, RawRow> {
    let rows = fetch_raw(db, "");
    let mut map: BTreeMap<String, RawRow> = BTreeMap::new();
    for r in rows {
        if let Some(prev) = map.get(&r.src) {
            assert_eq!(prev, &r, "both copies of a row classify the same");
        }
        map.insert(r.src.clone(), r);
    }
    map
}

/// A SigNoz span, as JSONEachRow.
#[derive(Debug, Serialize)]
struct SignozSpan {
    timestamp: i64,
    trace_id: String,
    span_id: String,
    kind: i8,
    duration_nano: u64,
    status_code: i16,
    has_error: bool,
    attributes_string: BTreeMap<String, String>,
    resources_string: BTreeMap<String, String>,
}

/// The URL host the SigNoz view displays (mirrors sql/0015 + 0007 url_host).
fn url_host(u: &str) -> String {
    let t = u.trim();
    match t.find("://") {
        Some(i) => {
            let rest = &t[i + 3..];
            let auth = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            auth.rsplit_once('@').map_or(auth, |(_, h)| h).to_string()
        }
        None => String::new(),
    }
}

fn first<'a>(a: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().filter_map(|k| a.get(*k)).map(String::as_str).find(|v| !v.is_empty())
}

/// A SigNoz trace table (signoz_index_v3's columns) in a database of its own, beside
/// db's: returns `database.table`.
pub fn signoz_table(db: &Db) -> String {
    let src_db = format!("{}_src", db.name);
    db.exec_server(&format!("DROP DATABASE IF EXISTS {src_db} SYNC"));
    db.exec_server(&format!("CREATE DATABASE {src_db}"));
    db.exec_server(&format!(
        "CREATE TABLE {src_db}.signoz_index_v3 (timestamp DateTime64(9), trace_id FixedString(32), span_id String, \
         parent_span_id String, name LowCardinality(String), kind Int8, kind_string String, duration_nano UInt64, \
         status_code Int16, has_error Bool, attributes_string Map(LowCardinality(String), String), \
         attributes_number Map(LowCardinality(String), Float64), resources_string Map(LowCardinality(String), String), \
         `resource_string_service$$name` LowCardinality(String) DEFAULT resources_string['service.name'], \
         `attribute_string_peer$$service` LowCardinality(String) DEFAULT attributes_string['peer.service'], \
         serviceName String ALIAS `resource_string_service$$name`) ENGINE = MergeTree ORDER BY timestamp"
    ));
    format!("{src_db}.signoz_index_v3")
}

#[test]
fn parity_signoz_source() {
    let Some(db) = Db::fresh("signoz") else { return };
    let table = signoz_table(&db);
    db.apply_schema(&["--source", "signoz", "--signoz-table", &table]);
    db.push(&cidr_csv(), &[]);
    let c = classifier();
    let mut r = Rng::new(42);
    let keys_dest = ["peer.service", "server.address", "net.peer.name", "url.full", "http.url", "db.name"];
    let keys_ip = ["network.peer.address", "net.sock.peer.addr", "net.peer.ip"];
    let mut spans = Vec::new();
    let mut want = BTreeMap::new();
    let mut i = 0usize;
    for (cluster, d, ip) in corpus(1500) {
        i += 1;
        let mut attrs = BTreeMap::new();
        // Put dest and dest_ip under a random attribute, sometimes with a lower-priority decoy.
        let kd = *r.pick(&keys_dest);
        let ki = *r.pick(&keys_ip);
        let d = if kd.contains("url") && !d.is_empty() && !d.contains("://") { format!("http://{d}/p") } else { d };
        attrs.insert(kd.to_string(), d.clone());
        attrs.insert(ki.to_string(), ip.clone());
        if r.below(3) == 0 {
            attrs.insert("db.name".into(), "decoy-db".into());
            attrs.insert("net.peer.ip".into(), "203.0.113.9".into());
        }
        if r.below(4) == 0 {
            attrs.insert("db.system".into(), "postgresql".into());
        }
        let kind = *r.pick(&[3i8, 4, 3, 2, 1]);
        let src = format!("z{i:05}");
        let mut res = BTreeMap::new();
        res.insert("service.name".to_string(), src.clone());
        res.insert("k8s.cluster.name".to_string(), cluster.clone());
        if kind == 3 || kind == 4 {
            let dest = match first(&attrs, &["peer.service", "server.address", "net.peer.name"]) {
                Some(v) => v.to_string(),
                None => match first(&attrs, &["url.full"]).or(first(&attrs, &["http.url"])) {
                    Some(u) => url_host(u),
                    None => attrs.get("db.name").cloned().unwrap_or_default(),
                },
            };
            let dest_ip = first(&attrs, &keys_ip).unwrap_or("").to_string();
            if let Some(e) = expected(&c, &src, &cluster, &dest, &dest_ip) {
                want.insert(src.clone(), e);
            }
        }
        spans.push(SignozSpan {
            timestamp: 1_714_564_800_000_000_000 + i as i64 * 1_000_000,
            trace_id: format!("{i:032x}"),
            span_id: format!("{i:016x}"),
            kind,
            duration_nano: 1000 + i as u64,
            status_code: if i.is_multiple_of(7) { 2 } else { 0 },
            has_error: i.is_multiple_of(11),
            attributes_string: attrs,
            resources_string: res,
        });
    }
    let mut body = format!("INSERT INTO {table} (timestamp, trace_id, span_id, kind, duration_nano, status_code, has_error, attributes_string, resources_string) FORMAT JSONEachRow\n");
    for s in &spans {
        let mut v = serde_json::to_value(s).unwrap();
        // DateTime64(9) from JSON: a string of nanoseconds is read as a number of seconds; use the decimal form.
        v["timestamp"] = serde_json::Value::String(format!("{}.{:09}", s.timestamp / 1_000_000_000, s.timestamp % 1_000_000_000));
        body.push_str(&v.to_string());
        body.push('\n');
    }
    db.exec_server(&body);
    let got = raw_rows(&db);
    assert!(want.len() > 800, "{}", want.len());
    compare_rows(&want, &got);
    // Edges: is_error from status_code 2 or has_error; protocol as the view derives it.
    let edges = db.rt.block_on(netmap::clickhouse::edges::read_edges(&db.ch, None, None, None)).unwrap();
    assert_eq!(edges.iter().map(|e| e.counts.calls).sum::<u64>(), want.len() as u64);
    let errors: u64 = edges.iter().map(|e| e.counts.errors).sum();
    let want_errors = spans
        .iter()
        .filter(|s| (s.kind == 3 || s.kind == 4) && want.contains_key(&s.resources_string["service.name"]))
        .filter(|s| s.status_code == 2 || s.has_error)
        .count() as u64;
    assert_eq!(errors, want_errors);
    db.exec_server(&format!("DROP DATABASE IF EXISTS {}_src SYNC", db.name));
}

/// Names under a cluster's own domain (`push --cluster-domain`, sql/0019 and
/// sql/0020): the views and `Classifier::with_cluster_domains` agree row for
/// row; a cluster never given a domain keeps cluster.local; `classify
/// --clickhouse` reads the domains back; the dictionary follows a change.
#[test]
fn parity_cluster_domains() {
    let Some(db) = Db::fresh("domains") else { return };
    db.apply_schema(&[]);
    let csv = |clusters: &[&str]| {
        let mut s = String::from("cluster_name,network_type,cidr_block\n");
        for c in clusters {
            s.push_str(&format!("{c},pod_cidr,10.1.0.0/16\n{c},service_cidr,10.96.0.0/12\n"));
        }
        s
    };
    db.push(&csv(&["a", "b", "c"]), &[]);
    let err = db.push(&csv(&["a"]), &["--cluster-domain", "corp.internal"]);
    assert!(err.contains("cluster \"a\": unchanged") && err.contains("cluster \"a\": cluster domain cluster.local -> corp.internal"), "{err}");
    let err = db.push(&csv(&["b"]), &["--cluster-domain", " K8S.Example. "]);
    assert!(err.contains("cluster \"b\": cluster domain cluster.local -> k8s.example"), "{err}");
    let err = db.push(&csv(&["b"]), &["--cluster-domain", "k8s.example", "--dry-run"]);
    assert!(err.contains("cluster \"b\": cluster domain unchanged (k8s.example)"), "{err}");
    let bad = db.netmap(&["push", "--input", "-", "--cluster-domain", "not a domain"], Some(&csv(&["c"])));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--cluster-domain: cluster domain \"not a domain\" is not a DNS name"));

    let recs = read_cidr_text(&csv(&["a", "b", "c"]), "cidrs.csv").unwrap();
    let c = Classifier::new(CidrConfig::from_records(&recs), DEFAULT_CLUSTER_DOMAIN)
        .with_cluster_domains([("a".to_string(), "corp.internal".to_string()), ("b".to_string(), "k8s.example".to_string())]);
    let names = [
        "db.ns.svc.corp.internal", "db.ns.svc.k8s.example", "db.ns.svc.cluster.local", "x.corp.internal", "corp.internal",
        "CORP.Internal.", "X.K8S.EXAMPLE.", "xcorp.internal", "db.ns.svc", "redis", "localhost", "google.com",
        "db.ns.svc.corp.internal:5432", "http://u@db.ns.svc.k8s.example:80/x", " db.corp.internal ", "10.1.2.3", "a..corp.internal",
    ];
    let mut corpus = Vec::new();
    for cl in ["a", "b", "c"] {
        for n in names {
            corpus.push((cl.to_string(), n.to_string(), String::new()));
            corpus.push((cl.to_string(), String::new(), n.to_string()));
            corpus.push((cl.to_string(), n.to_string(), "not-an-ip".to_string()));
        }
    }
    let rows = span_rows(&corpus);
    insert_spans(&db, &rows).unwrap();
    let want = expected_rows(&c, &rows);
    let got = raw_rows_dedup(&db);
    compare_rows(&want, &got);
    // The domains make a difference here (else this test could not fail).
    let services = |cl: &str| got.values().filter(|r| r.k8s_cluster_name == cl && r.kind == "service").count();
    assert!(services("a") > services("c") && services("b") > services("c"), "{} {} {}", services("a"), services("b"), services("c"));

    // classify --clickhouse reads the same domains.
    let kind = |cluster: &str, name: &str| {
        let out = db.netmap(&["classify", "--clickhouse", "--cluster", cluster, "-o", "csv", name], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().split(',').nth(2).unwrap().to_string()
    };
    assert_eq!(kind("a", "db.ns.svc.corp.internal"), "service");
    assert_eq!(kind("c", "db.ns.svc.corp.internal"), "world");
    assert_eq!(kind("a", "db.ns.svc.cluster.local"), "world");

    // An explicit CLUSTER=DOMAIN beats the stored domain.
    let o = db.netmap(&["classify", "--clickhouse", "--cluster", "a", "--cluster-domain", "a=cluster.local", "-o", "csv", "x.cluster.local"], None);
    assert!(String::from_utf8_lossy(&o.stdout).contains("x.cluster.local,a,service,0"), "{}", String::from_utf8_lossy(&o.stdout));

    // The user's path: the same rows as a dump, replayed into a database with the
    // domains pushed, then classified offline with the same domains as flags: diff
    // says equal (exit 0); without the flags the same dump differs (exit 1).
    let Some(db2) = Db::fresh("domains_replay") else { return };
    db2.apply_schema(&[]);
    db2.push(&csv(&["a", "b", "c"]), &[]);
    db2.push(&csv(&["a"]), &["--cluster-domain", "corp.internal"]);
    db2.push(&csv(&["b"]), &["--cluster-domain", "k8s.example"]);
    let dir = std::env::temp_dir().join(format!("netmap-domains-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (dump, cidrs, edges) = (dir.join("spans.csv"), dir.join("cidrs.csv"), dir.join("edges.csv"));
    std::fs::write(&cidrs, csv(&["a", "b", "c"])).unwrap();
    let mut w = ::csv::WriterBuilder::new().quote_style(::csv::QuoteStyle::Always).from_path(&dump).unwrap();
    w.write_record(netmap::input::SPAN_COLUMNS).unwrap();
    for r in &rows {
        let (ts, dur, err) = (r.timestamp.to_string(), r.duration_ns.to_string(), r.is_error.to_string());
        w.write_record([&ts, &r.k8s_cluster_name, &r.src, &r.dest, &r.dest_ip, &r.protocol, &dur, &err]).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let (dump_s, cidrs_s, edges_s) = (dump.to_str().unwrap(), cidrs.to_str().unwrap(), edges.to_str().unwrap());
    let o = db2.netmap(&["replay", "--input", dump_s], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (flags, want) in [(&["--cluster-domain", "a=corp.internal", "--cluster-domain", "b=k8s.example"][..], 0), (&[][..], 1)] {
        let mut args = vec!["classify", "--cidrs", cidrs_s, "--input", dump_s, "-o", "csv"];
        args.extend_from_slice(flags);
        let o = db2.netmap(&args, None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::write(&edges, &o.stdout).unwrap();
        let o = db2.netmap(&["diff", edges_s, "clickhouse"], None);
        assert_eq!(o.status.code(), Some(want), "flags {flags:?}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    let _ = std::fs::remove_dir_all(&dir);

    // A changed domain reaches the views at once (push reloads the dictionary).
    db.push(&csv(&["a"]), &["--cluster-domain", "cluster.local"]);
    db.exec("INSERT INTO spans (timestamp, k8s_cluster_name, src, dest, dest_ip) VALUES (now64(9), 'a', 'after', 'db.ns.svc.corp.internal', '')");
    assert_eq!(db.count("SELECT count() FROM network_raw WHERE src = 'after' AND kind = 'world' AND hint = 'hostname'"), 1);
    assert_eq!(kind("a", "db.ns.svc.cluster.local"), "service");
}

/// sql/0021's addr_text / addr_family state 0007's ip_text / ip_family with
/// other functions: on tens of thousands of strings built from the pieces
/// of the address forms (brackets, `%`, `:`, ports around 65535, digits,
/// addresses, newlines, spaces), both give the same text and family.
#[test]
fn address_forms_equal_0007() {
    let Some(db) = Db::fresh("forms") else { return };
    db.apply_schema(&[]);
    let atoms = [
        "[", "]", "%", ":", "::", "1", "0", "65535", "65536", "99999", "00080", "80", "fe80", "::1", "1.2.3.4", "10.0.0.1",
        "256.1.1.1", "a", "eth0", ".", "\n", " ", "ffff", "::ffff:1.2.3.4", "x", "%%", "]:", "[:", "0000", "123456", "é",
    ];
    let mut r = Rng::new(0x0066_6f72_6d73);
    let mut strs: Vec<String> = (0..40_000).map(|_| (0..1 + r.below(6)).map(|_| *r.pick(&atoms)).collect()).collect();
    strs.extend(PEERS.iter().flat_map(|(d, ip)| [d.to_string(), ip.to_string()]));
    db.exec("CREATE TABLE forms_input (s String) ENGINE = Memory");
    db.rt
        .block_on(async {
            let mut ins = db.ch.client().insert::<OneString>("forms_input").await?;
            for s in &strs {
                ins.write(&OneString { s: s.clone() }).await?;
            }
            ins.end().await
        })
        .unwrap();
    let f = |name: &str| format!("{}_{name}", db.name);
    let bad = db.count(&format!(
        "SELECT count() FROM forms_input WHERE {}(s) != {}(s) OR {}(s) != {}(s)",
        f("addr_text"),
        f("ip_text"),
        f("addr_family"),
        f("ip_family")
    ));
    assert_eq!(bad, 0, "addr_text/addr_family differ from 0007 on {bad} strings");
    // The set reaches every form (else agreement would prove little).
    for fam in ["6", "4", "a"] {
        let n = db.count(&format!("SELECT count() FROM forms_input WHERE {}(s) = '{fam}' AND {}(s) != ''", f("addr_family"), f("addr_text")));
        assert!(n > 100, "family {fam}: only {n} strings with a text");
    }
}

#[derive(clickhouse::Row, Serialize)]
struct OneString {
    s: String,
}
