//! `netmap push`: replace clusters' CIDR sets in ClickHouse atomically.
//!
//! Reads CIDR records (the formats of `classify --cidrs`, with the optional
//! `source` column), and for each cluster in them publishes the new set as a
//! new version — or says "unchanged" when it equals the current one. Then the
//! trie table is rebuilt and the dictionary reloaded. `--dry-run` prints the
//! added/removed records per cluster (stdout) and changes nothing.

use std::io::Write;
use std::path::PathBuf;

use crate::cidr::read_cidr_file;
use crate::clickhouse::{cidrs, runtime, Ch};
use crate::cmd::{ChArgs, Messages, EXIT_STATUS};
use crate::error::{Error, Result};

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
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// CIDR records: CSV with the columns cluster_name, network_type, cidr_block and optional is_active, source, JSON array or JSON lines (`-` = stdin).
    #[arg(short = 'i', long, value_name = "FILE", default_value = "-")]
    pub input: PathBuf,

    /// Print what would change per cluster; change nothing.
    #[arg(long)]
    pub dry_run: bool,

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
    let ch = Ch::new(&args.ch.config()?)?;
    let report = runtime()?.block_on(async {
        ch.ping().await?;
        cidrs::push(&ch, &records, args.dry_run).await
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
    match report.trie_version {
        Some(v) => Messages::say(format!("trie rebuilt: {} prefixes (version {v}); dictionary reloaded", report.trie_rows)),
        None => Messages::say("trie already current; dictionary reloaded"),
    }
    Ok(())
}
