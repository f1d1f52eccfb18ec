//! Reading the network map back from ClickHouse: `network_connections`
//! summed into [`Edge`]s, the same shape `classify` prints (for `diff`).
//!
//! Owns: the query (sum over minutes, optional cluster and time range).
//! Invariant: a SummingMergeTree merges eventually, so rows are always
//! summed here; an unknown `kind` value is an error, never dropped.

use serde::Deserialize;

use super::Ch;
use crate::edges::{Counts, Edge, EdgeKey};
use crate::error::{Error, Origin, Result};
use crate::rule::Kind;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct EdgeRow {
    k8s_cluster_name: String,
    src: String,
    dest: String,
    protocol: String,
    kind: String,
    calls: u64,
    errors: u64,
    duration_sum_ns: u64,
}

/// The edges of `network_connections`, summed over the minutes in
/// `[since_ns, until_ns)` (nanoseconds since the epoch; a minute bucket is in
/// the range when its start is), for one cluster or all; sorted by key.
pub async fn read_edges(ch: &Ch, cluster: Option<&str>, since_ns: Option<i64>, until_ns: Option<i64>) -> Result<Vec<Edge>> {
    let mut sql = String::from(
        "SELECT toString(k8s_cluster_name) AS k8s_cluster_name, toString(src) AS src, dest, toString(protocol) AS protocol, \
         toString(kind) AS kind, sum(calls) AS calls, sum(errors) AS errors, sum(duration_sum_ns) AS duration_sum_ns \
         FROM network_connections WHERE 1",
    );
    if cluster.is_some() {
        sql.push_str(" AND k8s_cluster_name = {cluster:String}");
    }
    if since_ns.is_some() {
        sql.push_str(" AND minute >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')");
    }
    if until_ns.is_some() {
        sql.push_str(" AND minute < fromUnixTimestamp64Nano({until:Int64}, 'UTC')");
    }
    sql.push_str(" GROUP BY k8s_cluster_name, src, dest, protocol, kind");
    let mut q = ch.client().query_raw(&sql);
    if let Some(c) = cluster {
        q = q.param("cluster", c);
    }
    if let Some(s) = since_ns {
        q = q.param("since", s);
    }
    if let Some(u) = until_ns {
        q = q.param("until", u);
    }
    let rows: Vec<EdgeRow> = ch.run("reading network_connections", q.fetch_all::<EdgeRow>()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        let kind: Kind = r.kind.parse().map_err(|m: String| {
            Error::input(Origin::new(format!("{}.network_connections", ch.database()), i as u64 + 1), format!("column kind: {m}"))
        })?;
        out.push(Edge {
            key: EdgeKey { k8s_cluster_name: r.k8s_cluster_name, src: r.src, dest: r.dest, protocol: r.protocol, kind },
            counts: Counts { calls: r.calls, errors: r.errors, duration_sum_ns: r.duration_sum_ns },
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
