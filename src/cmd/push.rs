//! `netmap push`: replace clusters' CIDR sets in ClickHouse atomically.
//!
//! Reads CIDR records (the formats of `classify --cidrs`, with the optional
//! `source` column), and for each cluster in them publishes the new set as a
//! new version — or says "unchanged" when it equals the current one. Then the
//! trie table is rebuilt and the dictionary reloaded, each only when not
//! already current (a push that changes nothing keeps the verdict memo:
//! sql/0023). `--cluster-domain` also
//! sets those clusters' DNS domain (the views' name step; sql/0019).
//! `--dry-run` prints the added/removed records per cluster (stdout) and
//! changes nothing.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use crate::cidr::read_cidr_file;
use crate::clickhouse::memo::Refresh;
use crate::clickhouse::{cidrs, domains, runtime, Ch};
use crate::cmd::{ChArgs, Messages, EXIT_STATUS};
use crate::error::{Error, Result};
use crate::rule::normalize_cluster_domain;

/// Replace clusters' CIDR sets in ClickHouse atomically.
///
/// Every cluster named in the input gets exactly the input's records as its
/// new set (clusters not in the input are left alone). Readers — the
/// dictionary, `classify --clickhouse` — see the old set or the new one,
/// never a mix or nothing. Pushing an identical set changes nothing.
///
/// Examples:
///   netmap push --input cidrs.csv
///   netmap collect-cidrs | netmap push
///   netmap push --input cidrs.csv --dry-run
///   netmap push --input cidrs.csv --cluster-domain corp.internal
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// CIDR records: CSV with the columns cluster_name, network_type, cidr_block and optional is_active, source, JSON array or JSON lines (`-` = stdin).
    #[arg(short = 'i', long, value_name = "FILE", default_value = "-")]
    pub input: PathBuf,

    /// Print what would change per cluster; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also set the DNS domain of every cluster in the input (names under it are its services; a cluster never given one has cluster.local).
    #[arg(long, value_name = "DOMAIN", env = "NETMAP_CLUSTER_DOMAIN")]
    pub cluster_domain: Option<String>,

    /// Connection.
    #[command(flatten)]
    pub ch: ChArgs,
}

/// Run `netmap push`.
pub fn run(args: Args) -> Result<()> {
    let records = read_cidr_file(&args.input)?;
    if records.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no CIDR records: nothing to push (a cluster's set is replaced only by a non-empty one)",
            crate::error::display_path(&args.input)
        )));
    }
    let domain = match &args.cluster_domain {
        Some(d) => Some(normalize_cluster_domain(d).map_err(|m| Error::Usage(format!("--cluster-domain: {m}")))?),
        None => None,
    };
    let clusters: Vec<String> = records.iter().map(|r| r.cluster_name.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let ch = Ch::new(&args.ch.config()?)?;
    let (report, domain_changes) = runtime()?.block_on(async {
        ch.ping().await?;
        if domain.is_some() {
            // Before any CIDR is written: a schema too old for domains changes nothing.
            domains::check_schema(&ch).await?;
        }
        let report = cidrs::push(&ch, &records, args.dry_run).await?;
        let changes = match &domain {
            Some(d) => domains::push(&ch, &clusters, d, args.dry_run).await?,
            None => Vec::new(),
        };
        Ok::<_, Error>((report, changes))
    })?;
    if args.dry_run {
        let mut out = crate::output::stdout();
        for c in &report.changes {
            if c.is_unchanged() {
                writeln!(out, "cluster {:?}: unchanged ({} records)", c.cluster, c.records)?;
                continue;
            }
            let what = if c.old_version == 0 { "new cluster" } else { "would replace" };
            writeln!(out, "cluster {:?}: {what}: +{} -{}", c.cluster, c.added.len(), c.removed.len())?;
            for a in &c.added {
                writeln!(out, "  + {a}")?;
            }
            for r in &c.removed {
                writeln!(out, "  - {r}")?;
            }
        }
        for d in &domain_changes {
            if d.is_unchanged() {
                writeln!(out, "cluster {:?}: cluster domain unchanged ({})", d.cluster, d.new)?;
            } else {
                writeln!(out, "cluster {:?}: cluster domain would change: {} -> {}", d.cluster, d.old, d.new)?;
            }
        }
        out.flush()?;
        Messages::say("--dry-run: nothing changed");
        return Ok(());
    }
    for c in &report.changes {
        if c.is_unchanged() {
            Messages::say(format!("cluster {:?}: unchanged ({} records)", c.cluster, c.records));
        } else {
            Messages::say(format!(
                "cluster {:?}: {} records, +{} -{} (version {})",
                c.cluster,
                c.records,
                c.added.len(),
                c.removed.len(),
                report.version.unwrap_or(0)
            ));
        }
    }
    for d in &domain_changes {
        if d.is_unchanged() {
            Messages::say(format!("cluster {:?}: cluster domain unchanged ({})", d.cluster, d.new));
        } else {
            Messages::say(format!("cluster {:?}: cluster domain {} -> {}", d.cluster, d.old, d.new));
        }
    }
    let dictionary = match report.dictionary {
        Refresh::Reloaded(_) => "dictionary reloaded",
        Refresh::Current => "dictionary already serves it (verdict memo kept)",
    };
    match report.trie_version {
        Some(v) => Messages::say(format!("trie rebuilt: {} prefixes (version {v}); {dictionary}", report.trie_rows)),
        None => Messages::say(format!("trie already current; {dictionary}")),
    }
    Ok(())
}
