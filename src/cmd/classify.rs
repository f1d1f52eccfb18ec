//! `netmap classify`: the rule, offline.
//!
//! Two modes. Addresses on the command line (`--cluster C ADDR...`, with
//! `--explain` for every check in order), or a trace dump (`--input FILE|-`)
//! aggregated into edges (default) or echoed per row (`--per-row`).
//! Bad rows are counted, shown (first few) and written to `--rejects`;
//! `--strict` stops at the first with exit status 1. The invariant printed in
//! the summary: calls in the output + rejected rows = rows read.
//! With two CPUs or more, edges are counted on a second thread: this one
//! parses (most of the work) and hands rows over in batches (`aggregate`).

use std::path::PathBuf;
use std::time::Instant;

use crate::cidr::{load_cidr_config, CidrConfig};
use crate::clickhouse::{runtime, Ch};
use crate::cmd::{ChArgs, DomainArgs, GraphArgs, Messages, OutputArgs, EXIT_STATUS};
use crate::edges::{EdgeAggregator, EdgeKeyRef, RowKey, RowMemo};
use crate::error::{Error, Result};
use crate::input::{display_dest, Event, Format, Input, SPAN_COLUMNS};
use crate::output::{self, opt_cell, Cell, OutputFormat, Rejects, RowWriter};
use crate::rule::{Classifier, Verdict};

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

    /// Cluster domains.
    #[command(flatten)]
    pub domains: DomainArgs,

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

/// The classifier: the CIDR tables from `--cidrs FILE` (streamed straight
/// into the tables: at 200,000 CIDRs the records would be most of the
/// memory) or `--clickhouse` (with the clusters' own domains, as the views
/// use them).
fn load_classifier(args: &Args) -> Result<Classifier> {
    match &args.cidrs {
        Some(p) => args.domains.classifier(load_cidr_config(p)?, Vec::new()),
        None => {
            let ch = Ch::new(&args.ch.config()?)?;
            let (records, domains) = runtime()?.block_on(async {
                ch.ping().await?;
                let records = crate::clickhouse::cidrs::active_records(&ch).await?;
                let domains = if ch.table_exists("cluster_domains").await? {
                    crate::clickhouse::domains::current(&ch).await?
                } else {
                    Default::default()
                };
                Ok::<_, crate::error::Error>((records, domains))
            })?;
            args.domains.classifier(CidrConfig::from_records(&records), domains.into_iter().collect())
        }
    }
}

/// Columns of address mode.
pub const ADDRESS_COLUMNS: [&str; 7] = ["input", "cluster", "kind", "is_external", "matched_type", "matched_cidr", "hint"];

/// The verdict columns appended to each row in `--per-row` mode.
pub const VERDICT_COLUMNS: [&str; 5] = ["kind", "is_external", "matched_type", "matched_cidr", "hint"];

/// Run `netmap classify`.
pub fn run(args: Args) -> Result<()> {
    let classifier = load_classifier(&args)?;
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

use std::collections::BTreeSet;
use std::io::Write;

/// Classify a row of the dump, remembering (up to 100) clusters that have no
/// CIDRs, for a warning.
fn classify_row(c: &Classifier, cluster: &str, dest: &str, dest_ip: &str, unknown: &mut BTreeSet<String>) -> Verdict {
    if !c.config().knows(cluster) && unknown.len() < 100 {
        unknown.insert(cluster.to_string());
    }
    c.classify_span(cluster, dest, dest_ip).expect("readers refuse rows with no peer (ReadOpts::finish)")
}

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
    let mut rows = 0u64;
    let strict = args.strict;
    // Rejects and skips are handled where the rows are read, whichever the mode.
    let mut other = |ev: Event<'_>| -> Result<()> {
        match ev {
            Event::Reject(r) => {
                if strict {
                    return Err(Error::No(format!("{} (--strict)", rejects.message(&r))));
                }
                rejects.add(&r)?;
            }
            Event::Skip(why) => rejects.skip(why),
            Event::Row(_) => unreachable!("rows are handled by the caller"),
        }
        Ok(())
    };
    let (used, agg, unknown_clusters) = match &mut per_row {
        Some(w) => {
            let mut unknown: BTreeSet<String> = Default::default();
            let used = input.read(&mut |ev| match ev {
                Event::Row(r) => {
                    rows += 1;
                    let v = classify_row(c, r.cluster, r.dest, r.dest_ip, &mut unknown);
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
                    ])
                }
                ev => other(ev),
            });
            (used, EdgeAggregator::new(), unknown)
        }
        // On one CPU (e.g. under taskset) the hand-over between threads would only cost.
        None => aggregate(c, &input, &mut rows, &mut other, std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)),
    };
    let used = used?;
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
        rows + rejects.total() + rejects.skipped(),
        if args.per_row { String::new() } else { format!(" in {edges} edges") },
        rejects.summary_phrase(),
    );
    summary.push_str(&format!(" in {:.2}s", started.elapsed().as_secs_f64()));
    Messages::say(summary);
    debug_assert_eq!(calls, rows);
    Ok(())
}

/// Rows on their way from the reading thread to the aggregating one: the five
/// fields of the memo key of each row, one after the other in `text`, with
/// each row's field ends, duration and error flag.
#[derive(Default)]
struct Batch {
    text: String,
    rows: Vec<([usize; 5], u64, bool)>,
}

impl Batch {
    /// Rows per batch, and bytes of fields after which a batch goes early (huge rows).
    const ROWS: usize = 1024;
    const BYTES: usize = 1 << 20;
    /// Full batches waiting for the counting thread, at most.
    const QUEUE: usize = 8;

    fn push(&mut self, fields: RowKey<'_>, duration_ns: u64, is_error: bool) {
        let mut ends = [0; 5];
        for (end, f) in ends.iter_mut().zip(fields) {
            self.text.push_str(f);
            *end = self.text.len();
        }
        self.rows.push((ends, duration_ns, is_error));
    }

    fn is_full(&self) -> bool {
        self.rows.len() >= Self::ROWS || self.text.len() >= Self::BYTES
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }
}

/// Classifies rows and counts them into edges (through the memo).
struct Counter<'c> {
    c: &'c Classifier,
    agg: EdgeAggregator,
    memo: RowMemo,
    unknown: BTreeSet<String>,
}

impl<'c> Counter<'c> {
    fn new(c: &'c Classifier) -> Self {
        Counter { c, agg: EdgeAggregator::new(), memo: RowMemo::new(), unknown: BTreeSet::new() }
    }

    /// Count one row given by its memo key (cluster, src, dest, dest_ip, protocol).
    fn count(&mut self, key: &RowKey<'_>, duration_ns: u64, is_error: bool) {
        // A row equal to an earlier one on these five fields falls on the same edge.
        if self.memo.count(key, duration_ns, is_error) {
            return;
        }
        let [cluster, src, dest, dest_ip, protocol] = *key;
        let v = classify_row(self.c, cluster, dest, dest_ip, &mut self.unknown);
        let dest = display_dest(dest, dest_ip);
        let slot = self.agg.slot(EdgeKeyRef { cluster, src, dest, protocol, kind: v.kind });
        self.memo.insert(&mut self.agg, key, slot, duration_ns, is_error);
    }

    fn finish(mut self) -> (EdgeAggregator, BTreeSet<String>) {
        self.memo.flush(&mut self.agg);
        (self.agg, self.unknown)
    }
}

/// Read the dump and count its rows into edges. With `threads`, reading
/// (parsing is most of the work) stays on this thread and counting goes to
/// another, batches of rows going between them; without, both happen here.
/// `other` gets the rejects and skips. Returns the reader's result, the edges
/// and the clusters without CIDRs; `rows` counts the rows read.
fn aggregate(
    c: &Classifier,
    input: &Input,
    rows: &mut u64,
    other: &mut dyn FnMut(Event<'_>) -> Result<()>,
    threads: bool,
) -> (Result<Format>, EdgeAggregator, BTreeSet<String>) {
    if !threads {
        let mut counter = Counter::new(c);
        let used = input.read(&mut |ev| match ev {
            Event::Row(r) => {
                *rows += 1;
                counter.count(&[r.cluster, r.src, r.dest, r.dest_ip, r.protocol], r.duration_ns, r.is_error);
                Ok(())
            }
            ev => other(ev),
        });
        let (agg, unknown) = counter.finish();
        return (used, agg, unknown);
    }
    // Full batches go one way (a few waiting at most), emptied ones come back for reuse.
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(Batch::QUEUE);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let counting = scope.spawn(move || {
            let mut counter = Counter::new(c);
            for batch in full_rx {
                let mut start = 0;
                for &(ends, duration_ns, is_error) in &batch.rows {
                    let key: RowKey<'_> = ends.map(|end| {
                        let f = &batch.text[start..end];
                        start = end;
                        f
                    });
                    counter.count(&key, duration_ns, is_error);
                }
                // The reader may be gone already (it stopped at an error): then the batch is dropped.
                let _ = empty_tx.send(batch);
            }
            counter.finish()
        });
        let mut batch = Batch::default();
        let used = input.read(&mut |ev| match ev {
            Event::Row(r) => {
                *rows += 1;
                batch.push([r.cluster, r.src, r.dest, r.dest_ip, r.protocol], r.duration_ns, r.is_error);
                if batch.is_full() {
                    let mut next = empty_rx.try_recv().unwrap_or_default();
                    next.clear();
                    // Fails only when the counting thread is gone, i.e. panicked: join below says so.
                    let _ = full_tx.send(std::mem::replace(&mut batch, next));
                }
                Ok(())
            }
            ev => other(ev),
        });
        if !batch.rows.is_empty() {
            let _ = full_tx.send(batch);
        }
        drop(full_tx);
        let (agg, unknown) = counting.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (used, agg, unknown)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::load_cidr_config;
    use crate::gen::{write_cidrs_csv, write_spans_csv, GenSpec};
    use crate::rule::DEFAULT_CLUSTER_DOMAIN;

    /// Generated dump, garbage rows included, in a fresh directory.
    fn fixture(tag: &str, rows: u64) -> (std::path::PathBuf, Classifier, Input) {
        let dir = std::env::temp_dir().join(format!("netmap-classify-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = GenSpec { rows, clusters: 3, cidrs_per_cluster: 40, ..GenSpec::default() };
        let (cidrs, spans) = (dir.join("c.csv"), dir.join("s.csv"));
        write_cidrs_csv(&spec, &mut std::fs::File::create(&cidrs).unwrap()).unwrap();
        write_spans_csv(&spec, &mut std::fs::File::create(&spans).unwrap()).unwrap();
        let c = Classifier::new(load_cidr_config(&cidrs).unwrap(), DEFAULT_CLUSTER_DOMAIN);
        (dir, c, Input::new(spans, None))
    }

    /// Many batches, rejects along the way: the aggregation, on two threads
    /// and on one, gives the edges of classifying and counting every row
    /// without the memo.
    #[test]
    fn aggregation_equals_row_by_row() {
        let (dir, c, input) = fixture("agg", 30_000);
        let mut want = EdgeAggregator::new();
        let mut n = 0u64;
        input
            .read(&mut |ev| {
                if let Event::Row(r) = ev {
                    n += 1;
                    let v = c.classify_span(r.cluster, r.dest, r.dest_ip).unwrap();
                    let key = EdgeKeyRef { cluster: r.cluster, src: r.src, dest: r.display_dest(), protocol: r.protocol, kind: v.kind };
                    let slot = want.slot(key);
                    want.bump(slot, r.duration_ns, r.is_error);
                }
                Ok(())
            })
            .unwrap();
        let want = want.into_sorted();
        for threads in [true, false] {
            let (mut rows, mut rejected) = (0u64, 0u64);
            let (used, agg, _) = aggregate(
                &c,
                &input,
                &mut rows,
                &mut |ev| {
                    if let Event::Reject(_) = ev {
                        rejected += 1;
                    }
                    Ok(())
                },
                threads,
            );
            assert_eq!(used.unwrap(), Format::Csv);
            assert_eq!(rows, n);
            assert!(rows > (Batch::QUEUE * Batch::ROWS) as u64, "{rows} rows: too few to fill the channel");
            assert!(rejected > 0, "the generator's garbage rows are rejected");
            assert_eq!(agg.calls(), rows);
            assert_eq!(agg.into_sorted(), want, "threads: {threads}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An error of the reading side (here --strict's first reject) comes back
    /// and stops the read; the counting thread, if any, ends with it.
    #[test]
    fn reader_error_stops_both_threads() {
        let (dir, c, input) = fixture("err", 20_000);
        for threads in [true, false] {
            let mut rows = 0u64;
            let mut stop = |ev: Event<'_>| match ev {
                Event::Reject(r) => Err(Error::No(format!("line {}", r.line))),
                _ => Ok(()),
            };
            let (used, agg, _) = aggregate(&c, &input, &mut rows, &mut stop, threads);
            assert!(matches!(used, Err(Error::No(_))), "{used:?}");
            assert!(rows < 20_000);
            assert!(agg.calls() <= rows);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn batches_go_early_with_huge_rows() {
        let mut b = Batch::default();
        let big = "x".repeat(Batch::BYTES / 3);
        for _ in 0..3 {
            assert!(!b.is_full());
            b.push(["c", &big, "d", "", "http"], 1, false);
        }
        assert!(b.is_full());
        assert_eq!(&b.text[b.rows[1].0[0]..b.rows[1].0[1]], big);
        b.clear();
        assert!(b.rows.is_empty() && b.text.is_empty());
    }
}
