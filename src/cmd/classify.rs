//! `netmap classify`: the rule, offline.
//!
//! Two modes. Addresses on the command line (`--cluster C ADDR...`, with
//! `--explain` for every check in order), or a trace dump (`--input FILE|-`)
//! aggregated into edges (default) or echoed per row (`--per-row`).
//! Bad rows are counted, shown (first few) and written to `--rejects`;
//! `--strict` stops at the first with exit status 1. The invariant printed in
//! the summary: calls in the output + rejected rows = rows read.

use std::path::PathBuf;
use std::time::Instant;

use crate::cidr::{load_cidr_config, CidrConfig};
use crate::clickhouse::{runtime, Ch};
use crate::cmd::{ChArgs, GraphArgs, Messages, OutputArgs, EXIT_STATUS};
use crate::edges::{EdgeAggregator, EdgeKeyRef, RowMemo};
use crate::error::{Error, Result};
use crate::input::{Event, Format, Input, SPAN_COLUMNS};
use crate::output::{self, opt_cell, Cell, OutputFormat, Rejects, RowWriter};
use crate::rule::{Classifier, Verdict, DEFAULT_CLUSTER_DOMAIN};

/// Classify addresses, or whole trace dumps into edges, offline.
///
/// Examples:
///   netmap classify --cidrs cidrs.csv --cluster prod 192.168.254.80 --explain
///   netmap classify --cidrs cidrs.csv --input spans.csv -o table
///   netmap classify --clickhouse --cluster prod 10.244.1.5
///   kubectl ... | netmap classify --cidrs cidrs.csv --cluster prod --input - --per-row
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// CIDR configuration: CSV with the columns cluster_name, network_type, cidr_block and optional is_active, JSON array or JSON lines.
    #[arg(long, value_name = "FILE", required_unless_present = "clickhouse", conflicts_with = "clickhouse")]
    pub cidrs: Option<PathBuf>,

    /// Load the CIDR configuration from ClickHouse (the active sets `netmap push` published).
    #[arg(long)]
    pub clickhouse: bool,

    /// Source cluster of the addresses; for a dump, the cluster of rows with an empty k8s_cluster_name.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Kubernetes cluster domain: names under it are services.
    #[arg(long, value_name = "DOMAIN", default_value = DEFAULT_CLUSTER_DOMAIN)]
    pub cluster_domain: String,

    /// Print, per address, each check in order and why it did or did not match.
    #[arg(long, conflicts_with = "input")]
    pub explain: bool,

    /// A trace dump to classify (`-` = stdin).
    #[arg(short = 'i', long, value_name = "FILE", conflicts_with = "addresses")]
    pub input: Option<PathBuf>,

    /// Format of --input [default: from the extension, else the content].
    #[arg(long, value_enum, value_name = "FORMAT", requires = "input")]
    pub format: Option<Format>,

    /// Print every row with its verdict instead of aggregated edges.
    #[arg(long, requires = "input")]
    pub per_row: bool,

    /// Write every rejected input record, whole, to FILE.
    #[arg(long, value_name = "FILE", requires = "input")]
    pub rejects: Option<PathBuf>,

    /// Stop at the first bad row with exit status 1.
    #[arg(long, requires = "input")]
    pub strict: bool,

    /// Shared output options.
    #[command(flatten)]
    pub output: OutputArgs,

    /// Graph output options (edges only).
    #[command(flatten)]
    pub graph: GraphArgs,

    /// Addresses or names to classify (IP, ip:port, bracketed IPv6 with port, URL, hostname).
    #[arg(value_name = "ADDR")]
    pub addresses: Vec<String>,

    /// Connection (with --clickhouse).
    #[command(flatten)]
    pub ch: ChArgs,
}

impl Args {
    /// Where the CIDRs came from, for messages.
    fn cidr_source(&self) -> String {
        match &self.cidrs {
            Some(p) => p.display().to_string(),
            None => format!("clickhouse database {}", self.ch.database),
        }
    }
}

/// Load the CIDR tables from `--cidrs FILE` (streamed straight into the
/// tables: at 200,000 CIDRs the records would be most of the memory) or
/// `--clickhouse`.
fn load_config(args: &Args) -> Result<CidrConfig> {
    match &args.cidrs {
        Some(p) => load_cidr_config(p),
        None => {
            let ch = Ch::new(&args.ch.config()?)?;
            let records = runtime()?.block_on(async {
                ch.ping().await?;
                crate::clickhouse::cidrs::active_records(&ch).await
            })?;
            Ok(CidrConfig::from_records(&records))
        }
    }
}

/// Columns of address mode.
pub const ADDRESS_COLUMNS: [&str; 7] = ["input", "cluster", "kind", "is_external", "matched_type", "matched_cidr", "hint"];

/// The verdict columns appended to each row in `--per-row` mode.
pub const VERDICT_COLUMNS: [&str; 5] = ["kind", "is_external", "matched_type", "matched_cidr", "hint"];

/// Run `netmap classify`.
pub fn run(args: Args) -> Result<()> {
    let classifier = Classifier::new(load_config(&args)?, &args.cluster_domain);
    match &args.input {
        Some(path) => classify_dump(&args, &classifier, path.clone()),
        None => classify_addresses(&args, &classifier),
    }
}

fn verdict_cells(v: &Verdict) -> [Cell<'static>; 5] {
    [
        Cell::Str(v.kind.as_str()),
        Cell::Int(u64::from(v.is_external())),
        v.matched_type().map_or(Cell::Null, |t| Cell::Str(t.as_str())),
        opt_cell(v.matched_cidr().map(|c| c.to_string())),
        v.hint.map_or(Cell::Null, |h| Cell::Str(h.as_str())),
    ]
}

fn classify_addresses(args: &Args, c: &Classifier) -> Result<()> {
    if args.addresses.is_empty() {
        return Err(Error::Usage("nothing to classify: give addresses (with --cluster) or --input FILE".into()));
    }
    let Some(cluster) = args.cluster.as_deref() else {
        return Err(Error::Usage("--cluster NAME is required to classify addresses: CIDRs are per cluster".into()));
    };
    if !c.config().knows(cluster) {
        let known: Vec<&str> = c.config().cluster_names().collect();
        Messages::warn(format!(
            "cluster {cluster:?} has no CIDRs in {} (clusters there: {}); every IP is world",
            args.cidr_source(),
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        ));
    }
    args.graph.opts(args.output.format(), None)?;
    let out = output::stdout();
    if args.explain {
        let mut out = out;
        for a in &args.addresses {
            let summary = match c.classify(cluster, a) {
                Some(v) => {
                    let mut s = format!("{} (is_external={})", v.kind, v.is_external());
                    if let Some(m) = v.matched {
                        s.push_str(&format!(", {} {}", m.network_type, m.cidr));
                    }
                    if let Some(h) = v.hint {
                        s.push_str(&format!(", hint {h}"));
                    }
                    s
                }
                None => "nothing to classify".to_string(),
            };
            writeln!(out, "{a} from cluster {cluster:?}: {summary}")?;
            for line in c.explain(cluster, a) {
                writeln!(out, "  {line}")?;
            }
        }
        out.flush()?;
        return Ok(());
    }
    let mut w = RowWriter::new(args.output.format(), &ADDRESS_COLUMNS, out)?;
    let mut empty = 0;
    for a in &args.addresses {
        match c.classify(cluster, a) {
            Some(v) => {
                let [k, e, t, m, h] = verdict_cells(&v);
                w.row(&[Cell::Str(a), Cell::Str(cluster), k, e, t, m, h])?;
            }
            None => empty += 1,
        }
    }
    w.finish()?;
    if empty > 0 {
        return Err(Error::Usage(format!("{empty} empty address(es) given: nothing to classify")));
    }
    Ok(())
}

use std::io::Write;

fn classify_dump(args: &Args, c: &Classifier, path: PathBuf) -> Result<()> {
    let started = Instant::now();
    let input = Input::new(path, args.format).default_cluster(args.cluster.clone());
    let name = input.name();
    let mut rejects = Rejects::new(&name, args.rejects.as_deref())?;
    let format = args.output.format();
    let graph = args.graph.opts(format, Some(name.clone()))?;
    let mut per_row = if args.per_row {
        let headers: Vec<&str> = SPAN_COLUMNS.iter().chain(VERDICT_COLUMNS.iter()).copied().collect();
        Some(RowWriter::new(format, &headers, output::stdout())?)
    } else {
        if !matches!(format, OutputFormat::Table | OutputFormat::Csv | OutputFormat::Json | OutputFormat::Jsonl) && !format.is_graph() {
            unreachable!("every format is a row or graph format");
        }
        None
    };
    let mut agg = EdgeAggregator::new();
    let mut memo = RowMemo::new();
    let (mut rows, mut skipped) = (0u64, 0u64);
    let mut unknown_clusters: std::collections::BTreeSet<String> = Default::default();
    let strict = args.strict;
    let used = input.read(&mut |ev| {
        match ev {
            Event::Row(r) => {
                rows += 1;
                let classify = |unknown: &mut std::collections::BTreeSet<String>| {
                    if !c.config().knows(r.cluster) && unknown.len() < 100 {
                        unknown.insert(r.cluster.to_string());
                    }
                    c.classify_span(r.cluster, r.dest, r.dest_ip)
                        .expect("readers refuse rows with no peer (ReadOpts::finish)")
                };
                match &mut per_row {
                    Some(w) => {
                        let v = classify(&mut unknown_clusters);
                        let [k, e, t, m, h] = verdict_cells(&v);
                        w.row(&[
                            Cell::Str(r.timestamp),
                            Cell::Str(r.cluster),
                            Cell::Str(r.src),
                            Cell::Str(r.dest),
                            Cell::Str(r.dest_ip),
                            Cell::Str(r.protocol),
                            Cell::Int(r.duration_ns),
                            Cell::Int(u64::from(r.is_error)),
                            k,
                            e,
                            t,
                            m,
                            h,
                        ])?;
                    }
                    None => {
                        // A row equal to an earlier one on these five fields falls on the same edge.
                        let key = [r.cluster, r.src, r.dest, r.dest_ip, r.protocol];
                        if !memo.count(&key, r.duration_ns, r.is_error) {
                            let v = classify(&mut unknown_clusters);
                            let slot = agg.slot(EdgeKeyRef {
                                cluster: r.cluster,
                                src: r.src,
                                dest: r.display_dest(),
                                protocol: r.protocol,
                                kind: v.kind,
                            });
                            memo.insert(&mut agg, &key, slot, r.duration_ns, r.is_error);
                        }
                    }
                }
            }
            Event::Reject(r) => {
                if strict {
                    return Err(Error::No(format!("{} (--strict)", rejects.message(&r))));
                }
                rejects.add(&r)?;
            }
            Event::Skip(_) => skipped += 1,
        }
        Ok(())
    })?;
    memo.flush(&mut agg);
    rejects.finish()?;
    let edges = agg.len();
    let calls = if let Some(w) = per_row {
        w.finish()?;
        rows
    } else {
        let calls = agg.calls();
        output::write_edges(format, &agg.into_sorted(), &graph, output::stdout())?;
        calls
    };
    for line in rejects.report() {
        Messages::say(line);
    }
    for u in &unknown_clusters {
        Messages::warn(format!("cluster {u:?} has no CIDRs in {}: its IPs are all world", args.cidr_source()));
    }
    let mut summary = format!(
        "{name} ({used}): {} records, {calls} calls{}, {}",
        rows + rejects.total() + skipped,
        if args.per_row { String::new() } else { format!(" in {edges} edges") },
        rejects.summary_phrase(skipped),
    );
    summary.push_str(&format!(" in {:.2}s", started.elapsed().as_secs_f64()));
    Messages::say(summary);
    debug_assert_eq!(calls, rows);
    Ok(())
}
