//! Edges: the network map's unit. One edge per
//! `(k8s_cluster_name, src, dest, protocol, kind, is_external)` with
//! `calls`, `errors`, `duration_sum_ns`.
//!
//! Owns: `Edge`, the streaming `EdgeAggregator` (memory grows with distinct
//! edges, never with rows; lookups borrow the row's strings and allocate only
//! for a new edge), `RowMemo` (a bounded memo from a row's five deciding
//! fields to its edge, so `classify` does the rule once per distinct peer
//! row, not once per row), and reading edge files back (for `diff`).
//! Invariant: `is_external` is derived from `kind`, never stored apart.

use std::hash::{BuildHasher, Hash, Hasher};
use std::path::Path;

use hashbrown::{DefaultHashBuilder, Equivalent, HashTable};
use serde::{Deserialize, Serialize};

use crate::error::{display_path, Error, Origin, Result};
use crate::input::lines::{describe, record_line, LineCounter};
use crate::rule::Kind;

/// The edge output's column names, in order.
pub const EDGE_COLUMNS: [&str; 9] =
    ["k8s_cluster_name", "src", "dest", "protocol", "kind", "is_external", "calls", "errors", "duration_sum_ns"];

/// What identifies an edge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EdgeKey {
    /// Source cluster.
    pub k8s_cluster_name: String,
    /// Calling service.
    pub src: String,
    /// Destination as displayed (`dest`, else `dest_ip`).
    pub dest: String,
    /// Protocol.
    pub protocol: String,
    /// The verdict's kind.
    pub kind: Kind,
}

impl Hash for EdgeKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        EdgeKeyRef {
            cluster: &self.k8s_cluster_name,
            src: &self.src,
            dest: &self.dest,
            protocol: &self.protocol,
            kind: self.kind,
        }
        .hash(h)
    }
}

/// A borrowed edge key, for lookups that allocate nothing.
#[derive(Debug, Clone, Copy)]
pub struct EdgeKeyRef<'a> {
    /// Source cluster.
    pub cluster: &'a str,
    /// Calling service.
    pub src: &'a str,
    /// Destination as displayed.
    pub dest: &'a str,
    /// Protocol.
    pub protocol: &'a str,
    /// The verdict's kind.
    pub kind: Kind,
}

impl Hash for EdgeKeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.cluster.hash(h);
        self.src.hash(h);
        self.dest.hash(h);
        self.protocol.hash(h);
        (self.kind as u8).hash(h);
    }
}

impl Equivalent<EdgeKey> for EdgeKeyRef<'_> {
    fn equivalent(&self, k: &EdgeKey) -> bool {
        self.kind == k.kind
            && self.dest == k.dest
            && self.src == k.src
            && self.cluster == k.k8s_cluster_name
            && self.protocol == k.protocol
    }
}

impl EdgeKeyRef<'_> {
    fn to_owned_key(self) -> EdgeKey {
        EdgeKey {
            k8s_cluster_name: self.cluster.to_string(),
            src: self.src.to_string(),
            dest: self.dest.to_string(),
            protocol: self.protocol.to_string(),
            kind: self.kind,
        }
    }
}

/// The counters of an edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Number of calls.
    pub calls: u64,
    /// Number of failed calls.
    pub errors: u64,
    /// Sum of durations in nanoseconds (wrapping is impossible below 584 years of calls).
    pub duration_sum_ns: u64,
}

impl Counts {
    /// Add another edge's counters.
    pub fn add(&mut self, o: &Counts) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.duration_sum_ns = self.duration_sum_ns.saturating_add(o.duration_sum_ns);
    }
}

/// One edge of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// What identifies it.
    pub key: EdgeKey,
    /// Its counters.
    pub counts: Counts,
}

/// Aggregates rows into edges, streaming.
///
/// Edges live in a vector in first-seen order; a hash table of indices finds
/// them by key. [`slot`](Self::slot) + [`bump`](Self::bump) let a caller that
/// remembers a row's edge ([`RowMemo`]) skip the key hash on repeated rows.
#[derive(Debug, Default)]
pub struct EdgeAggregator {
    edges: Vec<(EdgeKey, Counts)>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl EdgeAggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot of the edge `key`, created (with zero counts) if new.
    pub fn slot(&mut self, key: EdgeKeyRef<'_>) -> usize {
        let hash = self.hasher.hash_one(key);
        let (edges, hasher) = (&mut self.edges, &self.hasher);
        let entry = self
            .index
            .entry(hash, |&i| key.equivalent(&edges[i as usize].0), |&i| hasher.hash_one(&edges[i as usize].0));
        match entry {
            hashbrown::hash_table::Entry::Occupied(o) => *o.get() as usize,
            hashbrown::hash_table::Entry::Vacant(v) => {
                let i = edges.len();
                v.insert(u32::try_from(i).expect("fewer than 2^32 distinct edges"));
                edges.push((key.to_owned_key(), Counts::default()));
                i
            }
        }
    }

    /// Count one call on the edge in `slot` (from [`slot`](Self::slot)).
    pub fn bump(&mut self, slot: usize, duration_ns: u64, is_error: bool) {
        let c = &mut self.edges[slot].1;
        c.calls += 1;
        c.errors += u64::from(is_error);
        c.duration_sum_ns = c.duration_sum_ns.saturating_add(duration_ns);
    }

    /// Count one call on the edge `key`.
    pub fn add(&mut self, key: EdgeKeyRef<'_>, duration_ns: u64, is_error: bool) {
        let slot = self.slot(key);
        self.bump(slot, duration_ns, is_error);
    }

    /// Add whole counters to `key` (merging partial aggregates).
    pub fn add_counts(&mut self, key: EdgeKey, counts: &Counts) {
        let slot = self.slot(EdgeKeyRef {
            cluster: &key.k8s_cluster_name,
            src: &key.src,
            dest: &key.dest,
            protocol: &key.protocol,
            kind: key.kind,
        });
        self.edges[slot].1.add(counts);
    }

    /// Merge another aggregator into this one.
    pub fn merge(&mut self, other: EdgeAggregator) {
        for (k, c) in other.edges {
            self.add_counts(k, &c);
        }
    }

    /// Number of distinct edges so far.
    pub fn len(&self) -> usize {
        self.edges.len()
    }

    /// True when no call was counted.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Total calls over all edges.
    pub fn calls(&self) -> u64 {
        self.edges.iter().map(|(_, c)| c.calls).sum()
    }

    /// The edges, sorted by key.
    pub fn into_sorted(self) -> Vec<Edge> {
        let mut v: Vec<Edge> = self.edges.into_iter().map(|(key, counts)| Edge { key, counts }).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }
}

/// The fields of a row that decide its edge: the verdict depends only on
/// `(cluster, dest, dest_ip)` and the edge key on those plus `src` and
/// `protocol`, so two rows equal on these five fall on the same edge.
pub type RowKey<'a> = [&'a str; 5];

/// A bounded memo from a row's [`RowKey`] to its edge in an
/// [`EdgeAggregator`], counting calls itself: a repeated row costs one hash
/// of its five fields, one comparison and three additions, instead of a
/// classification, the edge-key hash and a visit to the edge.
///
/// Each entry holds its key inline (one length byte + bytes per field, at
/// most [`RowMemo::INLINE`] bytes) and its own counters, so a row touches one
/// bucket and nothing else: rows come in random order and the memo is larger
/// than the CPU caches, so every pointer followed would be a cache miss. Rows
/// with a longer key are not remembered ([`count`](Self::count) says so and
/// the caller counts them on the edge directly). The counters reach the
/// aggregator at [`flush`](Self::flush), and whenever the memo is full
/// ([`RowMemo::CAPACITY`] rows) it flushes and starts over, so memory stays
/// bounded; a restart only costs re-classifying, the answer never changes.
#[derive(Debug, Default)]
pub struct RowMemo {
    table: HashTable<MemoEntry>,
    hasher: DefaultHashBuilder,
}

/// One remembered row: 128 bytes, two cache lines.
#[derive(Debug, Clone)]
struct MemoEntry {
    hash: u64,
    counts: Counts,
    slot: u32,
    len: u8,
    key: [u8; RowMemo::INLINE],
}

impl RowMemo {
    /// Rows remembered before the memo flushes and starts over (8 MiB of entries).
    pub const CAPACITY: usize = 1 << 16;
    /// Longest encoded key remembered (five length bytes + the fields).
    pub const INLINE: usize = 128 - 8 - 24 - 4 - 1;

    /// An empty memo.
    pub fn new() -> RowMemo {
        RowMemo::default()
    }

    /// The key's inline encoding and its length, or `None` when it does not fit.
    fn encode(k: &RowKey<'_>) -> Option<([u8; RowMemo::INLINE], u8)> {
        let mut out = [0u8; Self::INLINE];
        let mut n = 0;
        for f in k {
            let len = u8::try_from(f.len()).ok()?;
            let end = n + 1 + f.len();
            if end > Self::INLINE {
                return None;
            }
            out[n] = len;
            out[n + 1..end].copy_from_slice(f.as_bytes());
            n = end;
        }
        Some((out, u8::try_from(n).ok()?))
    }

    /// Count one call of a row seen before; false when `k` is not remembered
    /// (new, or too long to keep): then [`insert`](Self::insert) it, or count it on the edge.
    pub fn count(&mut self, k: &RowKey<'_>, duration_ns: u64, is_error: bool) -> bool {
        let Some((enc, len)) = Self::encode(k) else { return false };
        let n = len as usize;
        let hash = self.hasher.hash_one(&enc[..n]);
        match self.table.find_mut(hash, |e| e.hash == hash && e.len == len && e.key[..n] == enc[..n]) {
            Some(e) => {
                e.counts.calls += 1;
                e.counts.errors += u64::from(is_error);
                e.counts.duration_sum_ns = e.counts.duration_sum_ns.saturating_add(duration_ns);
                true
            }
            None => false,
        }
    }

    /// Remember that rows like `k` fall on the edge `slot` of `agg`, and count
    /// this one. A key too long to keep inline is counted on the edge directly.
    pub fn insert(&mut self, agg: &mut EdgeAggregator, k: &RowKey<'_>, slot: usize, duration_ns: u64, is_error: bool) {
        let Some((key, len)) = Self::encode(k) else {
            agg.bump(slot, duration_ns, is_error);
            return;
        };
        if self.table.len() >= Self::CAPACITY {
            self.flush(agg);
        }
        let hash = self.hasher.hash_one(&key[..len as usize]);
        let slot = u32::try_from(slot).expect("fewer than 2^32 distinct edges");
        let counts = Counts { calls: 1, errors: u64::from(is_error), duration_sum_ns: duration_ns };
        self.table.insert_unique(hash, MemoEntry { hash, counts, slot, len, key }, |e| e.hash);
    }

    /// Add every remembered row's counts to its edge in `agg` and forget them all.
    pub fn flush(&mut self, agg: &mut EdgeAggregator) {
        for e in self.table.drain() {
            agg.edges[e.slot as usize].1.add(&e.counts);
        }
    }
}

/// An edge as written by `classify` (CSV/JSON/JSON lines), for reading back.
#[derive(Debug, Deserialize)]
struct EdgeRecord {
    k8s_cluster_name: String,
    src: String,
    dest: String,
    #[serde(default)]
    protocol: String,
    kind: String,
    #[serde(default)]
    is_external: Option<serde_json::Value>,
    calls: u64,
    #[serde(default)]
    errors: u64,
    #[serde(default)]
    duration_sum_ns: u64,
}

impl EdgeRecord {
    fn into_edge(self, origin: &Origin) -> Result<Edge> {
        let kind: Kind = self.kind.parse().map_err(|m: String| Error::input(origin.clone(), format!("column kind: {m}")))?;
        if let Some(v) = &self.is_external {
            let ext = match v {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.parse().ok(),
                serde_json::Value::Bool(b) => Some(u64::from(*b)),
                _ => None,
            };
            if ext != Some(u64::from(kind.is_external())) {
                return Err(Error::input(
                    origin.clone(),
                    format!("column is_external: {v} contradicts kind {kind}"),
                ));
            }
        }
        Ok(Edge {
            key: EdgeKey { k8s_cluster_name: self.k8s_cluster_name, src: self.src, dest: self.dest, protocol: self.protocol, kind },
            counts: Counts { calls: self.calls, errors: self.errors, duration_sum_ns: self.duration_sum_ns },
        })
    }
}

/// Read an edge file written by `classify` (CSV with header, JSON array, or JSON lines).
pub fn read_edge_file(path: &Path) -> Result<Vec<Edge>> {
    let name = display_path(path);
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Error::io(path, e))?
    } else {
        std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?
    };
    let t = text.trim_start();
    let mut out = Vec::new();
    if t.starts_with('[') {
        let recs: Vec<EdgeRecord> = serde_json::from_str(t)
            .map_err(|e| Error::input(Origin::new(&name, e.line() as u64), format!("invalid edge JSON: {e}")))?;
        for (i, r) in recs.into_iter().enumerate() {
            out.push(r.into_edge(&Origin::new(format!("{name}[{i}]"), 0))?);
        }
    } else if t.starts_with('{') {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let origin = Origin::new(&name, i as u64 + 1);
            let r: EdgeRecord = serde_json::from_str(line)
                .map_err(|e| Error::input(origin.clone(), format!("invalid edge JSON: {e}")))?;
            out.push(r.into_edge(&origin)?);
        }
    } else {
        let mut rdr = csv::Reader::from_reader(LineCounter::new(text.as_bytes()));
        let headers = rdr
            .headers()
            .map_err(|e| Error::input(Origin::new(&name, 1), format!("invalid CSV header: {}", describe(&e))))?
            .clone();
        record_line(&mut rdr, headers.as_byte_record());
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = record_line(&mut rdr, rec.as_byte_record());
                    return Err(Error::input(Origin::new(&name, line), format!("invalid CSV: {}", describe(&e))));
                }
            }
            let origin = Origin::new(&name, record_line(&mut rdr, rec.as_byte_record()));
            let r: EdgeRecord = rec
                .deserialize(Some(&headers))
                .map_err(|e| Error::input(origin.clone(), format!("not an edge row ({}): {}", EDGE_COLUMNS.join(","), describe(&e))))?;
            out.push(r.into_edge(&origin)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_by_borrowed_key() {
        let mut a = EdgeAggregator::new();
        let k = |d| EdgeKeyRef { cluster: "c", src: "s", dest: d, protocol: "http", kind: Kind::World };
        a.add(k("x"), 5, true);
        a.add(k("x"), 7, false);
        a.add(k("y"), 1, false);
        let e = a.into_sorted();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].counts, Counts { calls: 2, errors: 1, duration_sum_ns: 12 });
    }

    #[test]
    fn memo_counts_exact_rows_and_stays_bounded() {
        let mut agg = EdgeAggregator::new();
        let mut m = RowMemo::new();
        let e = |d| EdgeKeyRef { cluster: "c", src: "s", dest: d, protocol: "http", kind: Kind::World };
        let slot = agg.slot(e("d"));
        let k = ["c", "s", "d", "1.2.3.4", "http"];
        assert!(!m.count(&k, 1, false));
        m.insert(&mut agg, &k, slot, 1, false);
        assert!(m.count(&k, 2, true));
        // Field boundaries matter: "cs" + "" is not "c" + "s".
        assert!(!m.count(&["cs", "", "d", "1.2.3.4", "http"], 1, false));
        assert!(!m.count(&["c", "s", "d", "1.2.3.4", "grpc"], 1, false));
        let long = "x".repeat(200);
        m.insert(&mut agg, &["c", "s", &long, "", ""], slot, 4, false);
        assert!(!m.count(&["c", "s", &long, "", ""], 1, false), "too long to keep inline: counted on the edge");
        assert_eq!(agg.calls(), 1);
        m.flush(&mut agg);
        assert_eq!(agg.edges[slot].1, Counts { calls: 3, errors: 1, duration_sum_ns: 7 });
        // Bounded: past CAPACITY it flushes and starts over; nothing is lost.
        for i in 0..RowMemo::CAPACITY + 10 {
            let s = i.to_string();
            m.insert(&mut agg, &["c", &s, "", "", ""], slot, 0, false);
        }
        assert!(m.table.len() <= RowMemo::CAPACITY);
        m.flush(&mut agg);
        assert_eq!(agg.calls(), 3 + RowMemo::CAPACITY as u64 + 10);
    }

    #[test]
    fn slots_are_stable_and_merge_adds() {
        let mut a = EdgeAggregator::new();
        let k = |d| EdgeKeyRef { cluster: "c", src: "s", dest: d, protocol: "", kind: Kind::Pod };
        let x = a.slot(k("x"));
        assert_eq!(a.slot(k("y")), x + 1);
        assert_eq!(a.slot(k("x")), x);
        a.bump(x, 3, false);
        let mut b = EdgeAggregator::new();
        b.add(k("x"), 4, true);
        a.merge(b);
        assert_eq!(a.calls(), 2);
        assert_eq!(a.into_sorted()[0].counts, Counts { calls: 2, errors: 1, duration_sum_ns: 7 });
    }
}
