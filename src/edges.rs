//! Edges: the network map's unit. One edge per
//! `(k8s_cluster_name, src, dest, protocol, kind, is_external)` with
//! `calls`, `errors`, `duration_sum_ns`.
//!
//! Owns: `Edge`, the streaming `EdgeAggregator` (memory grows with distinct
//! edges, never with rows; lookups borrow the row's strings and allocate only
//! for a new edge), and reading edge files back (for `diff`).
//! Invariant: `is_external` is derived from `kind`, never stored apart.

use std::hash::{BuildHasher, Hash, Hasher};
use std::path::Path;

use hashbrown::{Equivalent, HashMap};
use serde::{Deserialize, Serialize};

use crate::error::{display_path, Error, Origin, Result};
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
#[derive(Debug, Default)]
pub struct EdgeAggregator {
    map: HashMap<EdgeKey, Counts>,
}

impl EdgeAggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Count one call on the edge `key`.
    pub fn add(&mut self, key: EdgeKeyRef<'_>, duration_ns: u64, is_error: bool) {
        let hash = self.map.hasher().hash_one(key);
        let c = self
            .map
            .raw_entry_mut()
            .from_hash(hash, |k| key.equivalent(k))
            .or_insert_with(|| (key.to_owned_key(), Counts::default()))
            .1;
        c.calls += 1;
        c.errors += u64::from(is_error);
        c.duration_sum_ns = c.duration_sum_ns.saturating_add(duration_ns);
    }

    /// Add whole counters to `key` (merging partial aggregates).
    pub fn add_counts(&mut self, key: EdgeKey, counts: &Counts) {
        self.map.entry(key).or_default().add(counts);
    }

    /// Merge another aggregator into this one.
    pub fn merge(&mut self, other: EdgeAggregator) {
        for (k, c) in other.map {
            self.add_counts(k, &c);
        }
    }

    /// Number of distinct edges so far.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no call was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Total calls over all edges.
    pub fn calls(&self) -> u64 {
        self.map.values().map(|c| c.calls).sum()
    }

    /// The edges, sorted by key.
    pub fn into_sorted(self) -> Vec<Edge> {
        let mut v: Vec<Edge> = self.map.into_iter().map(|(key, counts)| Edge { key, counts }).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
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
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers = rdr.headers().map_err(|e| Error::input(Origin::new(&name, 1), format!("invalid CSV header: {e}")))?.clone();
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(Error::input(Origin::new(&name, line), format!("invalid CSV: {e}")));
                }
            }
            let origin = Origin::new(&name, rec.position().map_or(0, |p| p.line()));
            let r: EdgeRecord = rec
                .deserialize(Some(&headers))
                .map_err(|e| Error::input(origin.clone(), format!("not an edge row ({}): {e}", EDGE_COLUMNS.join(","))))?;
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
}
