//! `netmap diff`: compare two edge sets, like diff(1) for network maps.
//!
//! Sides are edge files written by `classify` (CSV, JSON, JSON lines) or the
//! word `clickhouse` (the `network_connections` table). `--cidrs OLD --cidrs NEW
//! --input DUMP` instead classifies one dump under two CIDR configurations:
//! which edges would change kind if the new CIDRs were pushed.
//! Edges match on (cluster, src, dest, protocol); the report lists edges on one
//! side only, edges whose kind/is_external differ, and edges whose counts
//! differ. Exit status 0 when equal, 1 when different, 2 on error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cidr::load_cidr_config;
use crate::clickhouse::{runtime, Ch};
use crate::cmd::{ChArgs, DomainArgs, GraphArgs, Messages, OutputArgs, EXIT_STATUS};
use crate::edges::{read_edge_file, Counts, Edge, EdgeAggregator, EdgeKey, EdgeKeyRef};
use crate::graph::{self, Mark};
use crate::error::{display_path, Error, Result};
use crate::input::{Event, Format, Input};
use crate::output::{self, Cell, RowWriter};
use crate::rule::{Classifier, Kind};

/// Compare two edge sets (files or ClickHouse), or one dump under two CIDR sets.
///
/// Examples:
///   netmap diff offline.csv clickhouse --cluster prod
///   netmap diff --cidrs cidrs-old.csv --cidrs cidrs-new.csv --input spans.csv
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// Left side: an edge file (`-` = stdin) or `clickhouse`.
    #[arg(value_name = "LEFT", required_unless_present = "cidrs")]
    pub left: Option<String>,

    /// Right side: an edge file or `clickhouse`.
    #[arg(value_name = "RIGHT", required_unless_present = "cidrs")]
    pub right: Option<String>,

    /// Two CIDR configurations, OLD then NEW (with --input).
    #[arg(long, value_name = "FILE", num_args = 1, action = clap::ArgAction::Append, requires = "input", conflicts_with_all = ["left", "right"])]
    pub cidrs: Vec<PathBuf>,

    /// The trace dump to classify under both CIDR sets (`-` = stdin).
    #[arg(short = 'i', long, value_name = "FILE", requires = "cidrs")]
    pub input: Option<PathBuf>,

    /// Format of --input [default: from the extension, else the content].
    #[arg(long, value_enum, value_name = "FORMAT", requires = "input")]
    pub format: Option<Format>,

    /// Compare only this cluster (and, with --input, the cluster of rows that name none).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Cluster domains (with --cidrs).
    #[command(flatten)]
    pub domains: DomainArgs,

    /// Compare kinds only; ignore calls/errors/durations.
    #[arg(long)]
    pub ignore_counts: bool,

    /// Print edges that are equal too.
    #[arg(long)]
    pub all: bool,

    /// Shared output options.
    #[command(flatten)]
    pub output: OutputArgs,

    /// With a `clickhouse` side: only edges at or after this time (RFC 3339 or Unix time).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// With a `clickhouse` side: only edges before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Connection (for a `clickhouse` side).
    #[command(flatten)]
    pub ch: ChArgs,

    /// Graph options (with -o dot|mermaid|svg|html: changed edges are marked).
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// Report columns.
pub const DIFF_COLUMNS: [&str; 12] = [
    "change", "k8s_cluster_name", "src", "dest", "protocol", "left_kind", "right_kind", "left_is_external",
    "right_is_external", "left_calls", "right_calls", "right_minus_left_errors",
];

/// How an edge differs between the sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Same kinds and counts.
    Equal,
    /// Only on the left.
    OnlyLeft,
    /// Only on the right.
    OnlyRight,
    /// Kind (and so maybe is_external) differs.
    KindChanged,
    /// Same kinds, different counts.
    CountsDiffer,
}

impl Change {
    /// Name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Equal => "equal",
            Change::OnlyLeft => "only-left",
            Change::OnlyRight => "only-right",
            Change::KindChanged => "kind-changed",
            Change::CountsDiffer => "counts-differ",
        }
    }
}

type MatchKey = (String, String, String, String);
/// Per side: kind → counts, for one match key.
type Side = BTreeMap<Kind, Counts>;

/// One compared edge.
#[derive(Debug, Clone)]
pub struct DiffRow {
    /// (cluster, src, dest, protocol).
    pub key: MatchKey,
    /// Left side's kinds and counts (empty when absent).
    pub left: Side,
    /// Right side's kinds and counts.
    pub right: Side,
    /// The verdict.
    pub change: Change,
}

fn group(edges: Vec<Edge>, cluster: Option<&str>) -> BTreeMap<MatchKey, Side> {
    let mut m: BTreeMap<MatchKey, Side> = BTreeMap::new();
    for e in edges {
        if cluster.is_some_and(|c| c != e.key.k8s_cluster_name) {
            continue;
        }
        let k = (e.key.k8s_cluster_name, e.key.src, e.key.dest, e.key.protocol);
        m.entry(k).or_default().entry(e.key.kind).or_default().add(&e.counts);
    }
    m
}

/// Compare two edge sets.
pub fn compare(left: Vec<Edge>, right: Vec<Edge>, cluster: Option<&str>, ignore_counts: bool) -> Vec<DiffRow> {
    let mut l = group(left, cluster);
    let mut r = group(right, cluster);
    let keys: std::collections::BTreeSet<MatchKey> = l.keys().chain(r.keys()).cloned().collect();
    keys.into_iter()
        .map(|k| {
            let left = l.remove(&k).unwrap_or_default();
            let right = r.remove(&k).unwrap_or_default();
            let change = if left.is_empty() {
                Change::OnlyRight
            } else if right.is_empty() {
                Change::OnlyLeft
            } else if !left.keys().eq(right.keys()) {
                Change::KindChanged
            } else if !ignore_counts && left != right {
                Change::CountsDiffer
            } else {
                Change::Equal
            };
            DiffRow { key: k, left, right, change }
        })
        .collect()
}

fn kinds(s: &Side) -> String {
    s.keys().map(|k| k.as_str()).collect::<Vec<_>>().join("+")
}

fn external(s: &Side) -> Cell<'static> {
    if s.is_empty() {
        Cell::Null
    } else {
        Cell::Int(u64::from(s.keys().any(|k| k.is_external() == 1)))
    }
}

fn total(s: &Side) -> Counts {
    let mut c = Counts::default();
    for v in s.values() {
        c.add(v);
    }
    c
}

/// Classify one dump under two configurations, in one pass.
fn edges_under_two_configs(args: &Args, old: &Classifier, new: &Classifier, path: PathBuf) -> Result<(Vec<Edge>, Vec<Edge>)> {
    let input = Input::new(path, args.format).default_cluster(args.cluster.clone());
    let (mut a, mut b) = (EdgeAggregator::new(), EdgeAggregator::new());
    let mut rejected = 0u64;
    input.read(&mut |ev| {
        match ev {
            Event::Row(r) => {
                for (c, agg) in [(old, &mut a), (new, &mut b)] {
                    let v = c.classify_span(r.cluster, r.dest, r.dest_ip).expect("readers refuse rows with no peer");
                    agg.add(EdgeKeyRef { cluster: r.cluster, src: r.src, dest: r.display_dest(), protocol: r.protocol, kind: v.kind }, r.duration_ns, r.is_error);
                }
            }
            Event::Reject(_) => rejected += 1,
            Event::Skip(_) => {}
        }
        Ok(())
    })?;
    if rejected > 0 {
        Messages::warn(format!("{}: {rejected} rows rejected (see `netmap classify --rejects`)", input.name()));
    }
    Ok((a.into_sorted(), b.into_sorted()))
}

/// Load one side: an edge file, or `clickhouse`.
fn load_side(side: &str, args: &Args) -> Result<Vec<Edge>> {
    if side == "clickhouse" {
        let time = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_deref()
                .map(|t| crate::input::parse_timestamp(t).map_err(|m| Error::Usage(format!("--{flag}: {m}"))))
                .transpose()
        };
        let (since, until) = (time("since", &args.since)?, time("until", &args.until)?);
        let ch = Ch::new(&args.ch.config()?)?;
        return runtime()?.block_on(crate::clickhouse::edges::read_edges(&ch, args.cluster.as_deref(), since, until));
    }
    if args.since.is_some() || args.until.is_some() {
        return Err(Error::Usage(format!("{side}: --since/--until filter a clickhouse side only")));
    }
    read_edge_file(std::path::Path::new(side))
}

/// The report as rows.
fn write_rows(rows: &[DiffRow], args: &Args, format: crate::output::OutputFormat) -> Result<()> {
    let mut w = RowWriter::new(format, &DIFF_COLUMNS, output::stdout())?;
    for r in rows.iter().filter(|r| args.all || r.change != Change::Equal) {
        let (lt, rt) = (total(&r.left), total(&r.right));
        w.row(&[
            Cell::Str(r.change.as_str()),
            Cell::Str(&r.key.0),
            Cell::Str(&r.key.1),
            Cell::Str(&r.key.2),
            Cell::Str(&r.key.3),
            Cell::String(kinds(&r.left)),
            Cell::String(kinds(&r.right)),
            external(&r.left),
            external(&r.right),
            Cell::Int(lt.calls),
            Cell::Int(rt.calls),
            Cell::Signed(rt.errors as i64 - lt.errors as i64),
        ])?;
    }
    w.finish()?;
    Ok(())
}

/// The edges of both sides for a picture: the right side's edges (the new
/// state), plus removed ones, each marked with how it changed.
fn marked_edges(rows: &[DiffRow]) -> Vec<(Edge, Mark)> {
    let mut out = Vec::new();
    for r in rows {
        let (side, mark) = match r.change {
            Change::Equal => (&r.right, Mark::Same),
            Change::OnlyLeft => (&r.left, Mark::Removed),
            Change::OnlyRight => (&r.right, Mark::Added),
            Change::KindChanged | Change::CountsDiffer => (&r.right, Mark::Changed),
        };
        for (kind, counts) in side {
            let key = EdgeKey { k8s_cluster_name: r.key.0.clone(), src: r.key.1.clone(), dest: r.key.2.clone(), protocol: r.key.3.clone(), kind: *kind };
            out.push((Edge { key, counts: *counts }, mark));
        }
    }
    out
}

/// Run `netmap diff`.
pub fn run(args: Args) -> Result<()> {
    let (left, right, lname, rname) = if !args.cidrs.is_empty() {
        if args.cidrs.len() != 2 {
            return Err(Error::Usage(format!("--cidrs takes exactly two files (OLD then NEW), {} given", args.cidrs.len())));
        }
        let load = |p: &PathBuf| -> Result<Classifier> {
            args.domains.classifier(load_cidr_config(p)?, Vec::new())
        };
        let (old, new) = (load(&args.cidrs[0])?, load(&args.cidrs[1])?);
        let input = args.input.clone().expect("clap: --cidrs requires --input");
        let (l, r) = edges_under_two_configs(&args, &old, &new, input)?;
        (l, r, display_path(&args.cidrs[0]), display_path(&args.cidrs[1]))
    } else {
        let (l, r) = (args.left.as_deref().expect("clap: LEFT required"), args.right.as_deref().expect("clap: RIGHT required"));
        if l == "-" && r == "-" {
            return Err(Error::Usage("only one side can be read from stdin".into()));
        }
        (load_side(l, &args)?, load_side(r, &args)?, display_path(l.as_ref()), display_path(r.as_ref()))
    };
    let rows = compare(left, right, args.cluster.as_deref(), args.ignore_counts);
    let mut counts: BTreeMap<Change, usize> = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.change).or_default() += 1;
    }
    let format = args.output.format();
    let gopts = args.graph.opts(format, Some(format!("{lname} vs {rname}")))?;
    if format.is_graph() {
        graph::render(format, &marked_edges(&rows), &gopts, &mut output::stdout())?;
    } else {
        write_rows(&rows, &args, format)?;
    }
    let n = |c| counts.get(&c).copied().unwrap_or(0);
    let summary = format!(
        "{lname} vs {rname}: {} equal, {} only in left, {} only in right, {} kind changed, {} counts differ",
        n(Change::Equal),
        n(Change::OnlyLeft),
        n(Change::OnlyRight),
        n(Change::KindChanged),
        n(Change::CountsDiffer)
    );
    if rows.iter().any(|r| r.change != Change::Equal) {
        Err(Error::No(summary))
    } else {
        Messages::say(summary);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edges::EdgeKey;

    fn e(dest: &str, kind: Kind, calls: u64) -> Edge {
        Edge {
            key: EdgeKey { k8s_cluster_name: "c".into(), src: "s".into(), dest: dest.into(), protocol: "http".into(), kind },
            counts: Counts { calls, errors: 0, duration_sum_ns: 0 },
        }
    }

    #[test]
    fn categories() {
        let l = vec![e("a", Kind::Pod, 1), e("b", Kind::World, 2), e("c", Kind::Pod, 3), e("d", Kind::Pod, 1)];
        let r = vec![e("a", Kind::Pod, 1), e("b", Kind::Node, 2), e("c", Kind::Pod, 4), e("x", Kind::Pod, 1)];
        let got: Vec<(String, Change)> = compare(l.clone(), r.clone(), None, false).into_iter().map(|d| (d.key.2, d.change)).collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), Change::Equal),
                ("b".into(), Change::KindChanged),
                ("c".into(), Change::CountsDiffer),
                ("d".into(), Change::OnlyLeft),
                ("x".into(), Change::OnlyRight)
            ]
        );
        assert_eq!(compare(l, r, None, true).iter().filter(|d| d.change == Change::CountsDiffer).count(), 0);
    }
}
