//! Each cluster's DNS domain in ClickHouse: `netmap push --cluster-domain`
//! writes it, the views' name step reads it (through `cluster_domain_dict`,
//! sql/0019 and sql/0020), and `netmap classify --clickhouse` reads it back
//! so the Rust rule uses the same domain per cluster.
//!
//! Owns the rows of `cluster_domains`: one row per change, the newest row of
//! a cluster wins; a cluster without a row has `cluster.local`
//! ([`crate::rule::DEFAULT_CLUSTER_DOMAIN`]). Values travel as RowBinary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cidrs::{insert_rows, now_ms};
use super::Ch;
use crate::error::Result;

/// A row of `cluster_domains`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
struct DomainRow {
    cluster_name: String,
    cluster_domain: String,
    updated_at: i64,
}

/// One cluster's domain before and after a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainChange {
    /// The cluster.
    pub cluster: String,
    /// Its current domain (`cluster.local` when it has none set).
    pub old: String,
    /// The domain pushed.
    pub new: String,
}

impl DomainChange {
    /// Whether the push leaves it as it is.
    pub fn is_unchanged(&self) -> bool {
        self.old == self.new
    }
}

/// An error unless the database has `cluster_domains` (sql/0019).
pub async fn check_schema(ch: &Ch) -> Result<()> {
    ch.require_table("cluster_domains", "no table cluster_domains (sql/0019)").await
}

/// The domain set for each cluster that has one (the table must exist: [`check_schema`]).
pub async fn current(ch: &Ch) -> Result<BTreeMap<String, String>> {
    let rows: Vec<DomainRow> = ch
        .run(
            "reading cluster_domains",
            ch.client()
                .query_raw(
                    "SELECT d.cluster_name AS cluster_name, argMax(d.cluster_domain, d.updated_at) AS cluster_domain, \
                     max(d.updated_at) AS updated_at FROM cluster_domains AS d GROUP BY d.cluster_name",
                )
                .fetch_all::<DomainRow>(),
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.cluster_name, r.cluster_domain)).collect())
}

/// Set `domain` (already normalised: [`crate::rule::normalize_cluster_domain`];
/// the table checked with [`check_schema`])
/// for every cluster in `clusters` whose domain differs or was never stored
/// (or, with `dry_run`, only say which would change), then reload the dictionary.
pub async fn push(ch: &Ch, clusters: &[String], domain: &str, dry_run: bool) -> Result<Vec<DomainChange>> {
    let now = current(ch).await?;
    let changes: Vec<DomainChange> = clusters
        .iter()
        .map(|c| DomainChange {
            cluster: c.clone(),
            old: now.get(c).cloned().unwrap_or_else(|| crate::rule::DEFAULT_CLUSTER_DOMAIN.to_string()),
            new: domain.to_string(),
        })
        .collect();
    if dry_run {
        return Ok(changes);
    }
    let updated_at = now_ms();
    let rows: Vec<DomainRow> = changes
        .iter()
        .filter(|c| !c.is_unchanged() || !now.contains_key(&c.cluster))
        .map(|c| DomainRow { cluster_name: c.cluster.clone(), cluster_domain: c.new.clone(), updated_at })
        .collect();
    if !rows.is_empty() {
        insert_rows(ch, "cluster_domains", &rows).await?;
    }
    // What the dictionary loads: each cluster's newest domain, as text.
    let served: Vec<String> = current(ch).await?.iter().map(|(c, d)| format!("{c:?}={d:?}")).collect();
    super::memo::refresh_dictionary(ch, "cluster_domain_dict", &served.join(",")).await?;
    Ok(changes)
}
