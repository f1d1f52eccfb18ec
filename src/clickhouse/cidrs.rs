//! CIDR sets in ClickHouse: `netmap push` (replace clusters' sets
//! atomically, rebuild the trie, reload the dictionary) and reading the
//! active set back (`netmap classify --clickhouse`).
//!
//! Owns: the rows of `cluster_network_config`, `cluster_config_versions`,
//! `cidr_trie` and `cidr_trie_versions` (sql/0001..0006), the comparison of
//! an input set with the current one, and the trie's `entries` encoding.
//! Leaves the flattening itself to `cidr.rs` ([`CidrConfig::trie_rows`]) so
//! the Rust lookup and the SQL dictionary are built by the same code.
//!
//! Invariants: a new version's rows are written before its marker, so a
//! reader (a view, a dictionary reload) sees a cluster's old set or its new
//! set, never a mix or nothing; the same holds for trie versions. Every value
//! travels as RowBinary; no value is ever put into SQL text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::Ch;
use crate::cidr::{parse_cidr, CidrConfig, CidrRecord, NetworkType, TrieRow};
use crate::error::{Error, Origin, Result};

/// A row of `cluster_network_config`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
struct ConfigRow {
    cluster_name: String,
    network_type: String,
    cidr_block: String,
    is_active: u8,
    source: String,
    version: u64,
    pushed_at: i64,
}

/// A row of `cluster_config_versions`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
struct VersionMarker {
    cluster_name: String,
    version: u64,
    pushed_at: i64,
    row_count: u64,
}

/// A row of `cidr_trie`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
struct TrieDbRow {
    version: u64,
    prefix: String,
    entries: String,
}

/// A row of `cidr_trie_versions`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
struct TrieVersion {
    version: u64,
    built_at: i64,
    prefixes: u64,
    config_versions: String,
}

/// One record of a cluster's set, as compared between pushes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SetItem {
    /// The type.
    pub network_type: NetworkType,
    /// The prefix.
    pub cidr: IpNet,
    /// Inactive records are stored but ignored by the rule.
    pub is_active: bool,
    /// Where it came from.
    pub source: String,
}

impl std::fmt::Display for SetItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.network_type, self.cidr)?;
        if !self.is_active {
            f.write_str(" (inactive)")?;
        }
        if !self.source.is_empty() {
            write!(f, " [{}]", self.source)?;
        }
        Ok(())
    }
}

/// A cluster's current set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSet {
    /// Its published version (0: none yet).
    pub version: u64,
    /// Its records.
    pub items: BTreeSet<SetItem>,
}

/// What a push does (or would do) to one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterChange {
    /// The cluster.
    pub cluster: String,
    /// Records in the input, not in the current set.
    pub added: Vec<SetItem>,
    /// Records in the current set, not in the input.
    pub removed: Vec<SetItem>,
    /// The version before the push (0: the cluster is new).
    pub old_version: u64,
    /// Records in the new set.
    pub records: usize,
}

impl ClusterChange {
    /// True when the input equals the current set.
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.old_version > 0
    }
}

/// The outcome of a push.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// Per cluster in the input, sorted by name.
    pub changes: Vec<ClusterChange>,
    /// The version written (`None`: nothing written).
    pub version: Option<u64>,
    /// The trie version built (`None`: the trie was current).
    pub trie_version: Option<u64>,
    /// Rows in the trie built.
    pub trie_rows: usize,
    /// Whether the dictionary was reloaded (and the verdict memo started a new
    /// generation) or already served the trie.
    pub dictionary: super::memo::Refresh,
}

fn item(r: &CidrRecord) -> SetItem {
    SetItem { network_type: r.network_type, cidr: r.cidr, is_active: r.is_active, source: r.source.clone() }
}

/// Compare the input records, grouped by cluster, with the current sets.
pub fn plan(current: &BTreeMap<String, ClusterSet>, records: &[CidrRecord]) -> Vec<ClusterChange> {
    let mut input: BTreeMap<&str, BTreeSet<SetItem>> = BTreeMap::new();
    for r in records {
        input.entry(r.cluster_name.as_str()).or_default().insert(item(r));
    }
    input
        .into_iter()
        .map(|(cluster, new)| {
            let empty = ClusterSet::default();
            let cur = current.get(cluster).unwrap_or(&empty);
            ClusterChange {
                cluster: cluster.to_string(),
                added: new.difference(&cur.items).cloned().collect(),
                removed: cur.items.difference(&new).cloned().collect(),
                old_version: cur.version,
                records: new.len(),
            }
        })
        .collect()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The trie's `entries` for one row: `,HEX:R:CIDR,` per cluster (see sql/0004).
pub fn encode_entries(row: &TrieRow<'_>) -> String {
    let mut s = String::from(",");
    for (cluster, m) in &row.winners {
        for b in cluster.bytes() {
            let _ = write!(s, "{b:02X}");
        }
        let _ = write!(s, ":{}:{},", m.network_type.rank(), m.cidr);
    }
    s
}

async fn check_schema(ch: &Ch) -> Result<()> {
    ch.require_table("cluster_network_config", "no netmap schema (no table cluster_network_config)").await
}

/// Every cluster's current set (its latest published version, inactive records included).
pub async fn current_sets(ch: &Ch) -> Result<BTreeMap<String, ClusterSet>> {
    check_schema(ch).await?;
    let rows: Vec<ConfigRow> = ch
        .run(
            "reading the current CIDR sets",
            ch.client()
                .query_raw(
                    "SELECT c.cluster_name AS cluster_name, c.network_type AS network_type, c.cidr_block AS cidr_block, \
                     c.is_active AS is_active, c.source AS source, c.version AS version, c.pushed_at AS pushed_at \
                     FROM cluster_network_config AS c \
                     INNER JOIN (SELECT cluster_name, max(version) AS version FROM cluster_config_versions GROUP BY cluster_name) AS v \
                     ON c.cluster_name = v.cluster_name AND c.version = v.version",
                )
                .fetch_all::<ConfigRow>(),
        )
        .await?;
    let mut out: BTreeMap<String, ClusterSet> = BTreeMap::new();
    for (i, r) in rows.into_iter().enumerate() {
        let origin = Origin::new(format!("{}.cluster_network_config", ch.database()), i as u64 + 1);
        let network_type: NetworkType = r.network_type.parse().map_err(|m| Error::input(origin.clone(), m))?;
        let cidr = parse_cidr(&r.cidr_block).map_err(|m| Error::input(origin.clone(), format!("column cidr_block: {m}")))?;
        let set = out.entry(r.cluster_name).or_default();
        set.version = r.version;
        set.items.insert(SetItem { network_type, cidr, is_active: r.is_active != 0, source: r.source });
    }
    Ok(out)
}

/// The active records of every cluster, as `classify --clickhouse` uses them.
pub async fn active_records(ch: &Ch) -> Result<Vec<CidrRecord>> {
    let sets = current_sets(ch).await?;
    let name = format!("{}.active_cidrs", ch.database());
    let mut out = Vec::new();
    for (cluster, set) in sets {
        for it in set.items.into_iter().filter(|i| i.is_active) {
            out.push(CidrRecord {
                cluster_name: cluster.clone(),
                network_type: it.network_type,
                cidr: it.cidr,
                is_active: true,
                source: it.source,
                origin: Origin::new(name.clone(), out.len() as u64 + 1),
            });
        }
    }
    Ok(out)
}

fn fingerprint(sets: &BTreeMap<String, ClusterSet>) -> String {
    let mut s = String::new();
    for (c, set) in sets {
        for b in c.bytes() {
            let _ = write!(s, "{b:02X}");
        }
        let _ = write!(s, ":{},", set.version);
    }
    s
}

pub(crate) async fn insert_rows<T>(ch: &Ch, table: &str, rows: &[T]) -> Result<()>
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    let what = format!("inserting into {table}");
    let mut ins = ch.run(&what, ch.client().insert::<T>(table)).await?;
    for r in rows {
        ch.run(&what, ins.write(r)).await?;
    }
    ch.run(&what, ins.end()).await
}

/// Replace the sets of the clusters in `records` (or, with `dry_run`, only
/// say what would change), then make the trie and the dictionary current.
pub async fn push(ch: &Ch, records: &[CidrRecord], dry_run: bool) -> Result<PushReport> {
    let current = current_sets(ch).await?;
    let changes = plan(&current, records);
    let mut report = PushReport {
        changes,
        version: None,
        trie_version: None,
        trie_rows: 0,
        dictionary: super::memo::Refresh::Current,
    };
    if dry_run {
        return Ok(report);
    }
    let changed: Vec<&ClusterChange> = report.changes.iter().filter(|c| !c.is_unchanged()).collect();
    if !changed.is_empty() {
        let max_version = current.values().map(|s| s.version).max().unwrap_or(0);
        let version = u64::try_from(now_ms()).unwrap_or(0).max(max_version + 1);
        let pushed_at = now_ms();
        let mut rows = Vec::new();
        let mut markers = Vec::new();
        for c in &changed {
            let before = rows.len();
            let mut seen = BTreeSet::new();
            for r in records.iter().filter(|r| r.cluster_name == c.cluster) {
                if seen.insert(item(r)) {
                    rows.push(ConfigRow {
                        cluster_name: r.cluster_name.clone(),
                        network_type: r.network_type.as_str().to_string(),
                        cidr_block: r.cidr.to_string(),
                        is_active: u8::from(r.is_active),
                        source: r.source.clone(),
                        version,
                        pushed_at,
                    });
                }
            }
            markers.push(VersionMarker {
                cluster_name: c.cluster.clone(),
                version,
                pushed_at,
                row_count: (rows.len() - before) as u64,
            });
        }
        // Rows first, markers last: the markers publish the new sets.
        insert_rows(ch, "cluster_network_config", &rows).await?;
        insert_rows(ch, "cluster_config_versions", &markers).await?;
        report.version = Some(version);
    }
    let (trie_version, trie_rows, dictionary) = refresh_trie(ch).await?;
    report.trie_version = trie_version;
    report.trie_rows = trie_rows;
    report.dictionary = dictionary;
    Ok(report)
}

/// Rebuild the trie when it was not built from the current sets, then make the
/// dictionary serve the newest trie (reloaded unless it already does:
/// [`super::memo::refresh_dictionary`]). Returns the new trie version (if
/// any), the trie's row count and what was done to the dictionary.
pub async fn refresh_trie(ch: &Ch) -> Result<(Option<u64>, usize, super::memo::Refresh)> {
    let sets = current_sets(ch).await?;
    let fp = fingerprint(&sets);
    let latest: Vec<TrieVersion> = ch
        .run(
            "reading cidr_trie_versions",
            ch.client()
                .query("SELECT ?fields FROM cidr_trie_versions ORDER BY version DESC LIMIT 1")
                .fetch_all::<TrieVersion>(),
        )
        .await?;
    let mut built = None;
    let mut n = latest.first().map_or(0, |t| t.prefixes as usize);
    if latest.first().is_none_or(|t| t.config_versions != fp) {
        let records: Vec<CidrRecord> = sets
            .iter()
            .flat_map(|(c, s)| {
                s.items.iter().filter(|i| i.is_active).map(move |i| CidrRecord {
                    cluster_name: c.clone(),
                    network_type: i.network_type,
                    cidr: i.cidr,
                    is_active: true,
                    source: String::new(),
                    origin: Origin::new("clickhouse", 0),
                })
            })
            .collect();
        let config = CidrConfig::from_records(&records);
        let version = u64::try_from(now_ms()).unwrap_or(0).max(latest.first().map_or(0, |t| t.version) + 1);
        let rows: Vec<TrieDbRow> = config
            .trie_rows()
            .iter()
            .map(|r| TrieDbRow { version, prefix: r.trie_prefix(), entries: encode_entries(r) })
            .collect();
        n = rows.len();
        insert_rows(ch, "cidr_trie", &rows).await?;
        let marker = TrieVersion { version, built_at: now_ms(), prefixes: n as u64, config_versions: fp };
        insert_rows(ch, "cidr_trie_versions", &[marker]).await?;
        built = Some(version);
    }
    // The dictionary's source reads the newest version.
    let newest = built.or(latest.first().map(|t| t.version)).unwrap_or(0);
    let dictionary = super::memo::refresh_dictionary(ch, "cidr_trie_dict", &newest.to_string()).await?;
    Ok((built, n, dictionary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::read_cidr_text;

    #[test]
    fn entries_encode_any_cluster_name() {
        let recs = read_cidr_text(
            "cluster_name,network_type,cidr_block\n\"a,b:c\",pod_cidr,10.0.0.0/8\nz,node_cidr,10.1.0.0/16\n",
            "x.csv",
        )
        .unwrap();
        let cfg = CidrConfig::from_records(&recs);
        let rows = cfg.trie_rows();
        let e: Vec<String> = rows.iter().map(encode_entries).collect();
        // hex("a,b:c") = 612C623A63
        assert_eq!(e, [",612C623A63:1:10.0.0.0/8,", ",612C623A63:1:10.0.0.0/8,7A:3:10.1.0.0/16,"]);
    }

    #[test]
    fn plan_finds_added_removed_unchanged() {
        let recs = read_cidr_text(
            "cluster_name,network_type,cidr_block,is_active\na,pod_cidr,10.0.0.0/8,1\na,pod_cidr,10.0.0.0/8,1\nb,node_cidr,1.2.3.4,0\n",
            "x.csv",
        )
        .unwrap();
        let mut cur = BTreeMap::new();
        cur.insert(
            "a".to_string(),
            ClusterSet { version: 7, items: [item(&recs[0])].into_iter().collect() },
        );
        let p = plan(&cur, &recs);
        assert!(p[0].is_unchanged());
        assert_eq!(p[0].records, 1);
        assert!(!p[1].is_unchanged());
        assert_eq!(p[1].added.len(), 1);
        assert_eq!(p[1].added[0].to_string(), "node_cidr 1.2.3.4/32 (inactive)");
    }
}
