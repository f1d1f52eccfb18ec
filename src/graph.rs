//! Drawing edges: the graph outputs `-o dot`, `-o mermaid`, `-o svg` and
//! `-o html`.
//!
//! Owns: turning edges into a picture model ([`render`] for `diff`, which
//! passes a [`Mark`] per edge; [`write_graph`] for everything else), the
//! `--top N` cap and `--collapse` merging ([`GraphOpts`]), the styles (node per
//! place and kind, edge per kind, error-heavy edges, diff marks) with their
//! legend, and the escaping that keeps any name — quotes, backslashes,
//! newlines, `<&>`, very long strings, unicode — a safe label.
//! Leaves reading and aggregating edges to `edges.rs`, choosing the format to
//! `output.rs`.
//!
//! The picture: one box per source cluster holding its services and in-cluster
//! destinations, and beside it one "outside the cluster" box holding that
//! cluster's `world` destinations (orange hexagons). Node identity is
//! `(source cluster, inside/outside, name)`, so the same name seen from two
//! clusters is two nodes. Arrows are labelled `protocol: calls, errors`; their
//! colour and line style say the kind (legend), and an edge with
//! errors/calls >= 5% is red and thick. Under `diff`, added edges are green,
//! removed ones red and dashed, changed ones amber and thick.
//!
//! Node ids are generated (`n1`, `n2`, ... in sorted order), never derived from
//! names; names only ever appear inside quoted, escaped labels.
//!
//! Layout for `-o svg`/`-o html`: Graphviz's `dot` program (Debian package
//! `graphviz`), fed the same DOT text `-o dot` prints, run as `dot -Tsvg` with
//! the text on stdin. We evaluated the pure-Rust `layout-rs` crate (0.1.3)
//! first, to avoid a runtime dependency: it lays out and renders SVG in-process
//! and fast (300 nodes in ~0.1 s), but it has no subgraphs (its docs: "lacks
//! ... nested graphs"), so neither the per-cluster box nor the "outside the
//! cluster" box — the point of this picture — can be drawn; it flattens them.
//! Its edge labels sit on top of other edges, thick edges get oversized
//! arrowheads, it has a single maintainer and few releases. `dot` is the
//! reference implementation of this layout, packaged by every distribution,
//! and draws the clusters. The cost: `-o svg`/`-o html` need `dot` on `PATH`
//! (or in `NETMAP_DOT`), and say so clearly when it is missing; `-o dot` and
//! `-o mermaid` need nothing. The output is self-contained: no scripts, no
//! fonts or styles fetched from anywhere.
//!
//! Invariant: every edge given is either drawn or counted in the "dropped by
//! --top" note that the picture shows; nothing is dropped silently.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::edges::{Counts, Edge};
use crate::error::{Error, Result};
use crate::output::OutputFormat;
use crate::rule::Kind;

/// How an edge compares with the other side of a `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// Present on both sides with the same counters (or not a diff at all).
    Same,
    /// Only on the new side.
    Added,
    /// Only on the old side.
    Removed,
    /// On both sides with different counters.
    Changed,
}

impl Mark {
    fn merge(self, o: Mark) -> Mark {
        if self == o {
            self
        } else {
            Mark::Changed
        }
    }
}

/// `--collapse`: which nodes to merge so a big map stays readable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Collapse {
    /// Every name is its own node.
    #[default]
    None,
    /// In-cluster names become their namespace: `ns/pod-abc` and `svc.ns.svc.cluster.local` → `ns/*`.
    Namespace,
    /// All of a source cluster's outside (`world`) destinations become one node.
    Cluster,
}

/// Options of the graph outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphOpts {
    /// Keep only the N edges with the most calls (after collapsing); the rest are counted in the picture.
    pub top: Option<usize>,
    /// Which nodes to merge.
    pub collapse: Collapse,
    /// Shown as the picture's title (e.g. the input file); `netmap` when absent.
    pub title: Option<String>,
}

/// Write `edges` as a graph in `format` (dot, mermaid, svg or html), every edge unmarked.
pub fn write_graph(format: OutputFormat, edges: &[Edge], opts: &GraphOpts, out: &mut dyn Write) -> Result<()> {
    let marked: Vec<(Edge, Mark)> = edges.iter().map(|e| (e.clone(), Mark::Same)).collect();
    render(format, &marked, opts, out)
}

/// Write `edges`, each with its diff [`Mark`], as a graph in `format`.
/// This is what `diff` calls: marks other than `Same` get their own styles and
/// legend entries.
pub fn render(format: OutputFormat, edges: &[(Edge, Mark)], opts: &GraphOpts, out: &mut dyn Write) -> Result<()> {
    let model = Model::build(edges, opts, format);
    let text = match format {
        OutputFormat::Dot => to_dot(&model, true),
        OutputFormat::Mermaid => to_mermaid(&model),
        OutputFormat::Svg => dot_to_svg(&to_dot(&model, true))?,
        OutputFormat::Html => to_html(&model, &dot_to_svg(&to_dot(&model, false))?),
        other => {
            return Err(Error::Usage(format!(
                "-o {}: not a graph format (dot, mermaid, svg, html)",
                clap::ValueEnum::to_possible_value(&other).map(|v| v.get_name().to_string()).unwrap_or_default()
            )))
        }
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------- the model

/// Where a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Place {
    Inside,
    Outside,
}

/// How a node looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// A service or in-cluster destination (pod, service).
    Workload,
    /// A node or remote node address.
    Host,
    /// Loopback: never left the pod.
    Loopback,
    /// Outside the cluster.
    External,
}

#[derive(Debug)]
struct Node {
    id: usize,
    cluster: usize,
    label: String,
    /// The full name, for tooltips (control characters escaped).
    full: String,
    place: Place,
    look: Look,
}

#[derive(Debug)]
struct GEdge {
    from: usize,
    to: usize,
    protocol: String,
    kind: Kind,
    counts: Counts,
    mark: Mark,
}

impl GEdge {
    fn error_heavy(&self) -> bool {
        self.counts.errors > 0 && self.counts.errors.saturating_mul(100) >= self.counts.calls.saturating_mul(ERROR_PERCENT)
    }
}

/// The most edges `-o svg`/`-o html` draw when `--top` is not given: Graphviz
/// takes minutes and the picture is unreadable beyond a few hundred.
pub const PICTURE_TOP: usize = 300;

/// Edges with errors/calls at or above this percentage are highlighted.
pub const ERROR_PERCENT: u64 = 5;

#[derive(Debug, Default)]
struct Summary {
    /// Edges and calls per kind, over every edge given.
    by_kind: BTreeMap<Kind, (u64, u64)>,
    /// `(calls, errors, cluster, dest)` of outside destinations, most calls first.
    external: Vec<(u64, u64, String, String)>,
}

#[derive(Debug)]
struct Model {
    title: String,
    clusters: Vec<String>,
    nodes: Vec<Node>,
    edges: Vec<GEdge>,
    /// Edges given, before collapsing.
    given: usize,
    /// Edges after collapsing, before `--top`.
    collapsed: usize,
    /// Edges and calls dropped by `--top`.
    dropped: (usize, u64),
    /// `--top` was not given and [`PICTURE_TOP`] applied.
    default_top: bool,
    collapse: Collapse,
    summary: Summary,
    diff: bool,
}

/// The namespace a name shows, if any: `ns/name` → `ns`, `name.ns.svc...` → `ns`.
fn namespace_of(name: &str) -> Option<&str> {
    if let Some((ns, rest)) = name.split_once('/') {
        if !ns.is_empty() && !rest.is_empty() && !ns.contains(':') {
            return Some(ns);
        }
    }
    let mut labels = name.split('.');
    let (_, ns, svc) = (labels.next(), labels.next()?, labels.next()?);
    (svc == "svc" && !ns.is_empty()).then_some(ns)
}

type NodeKey = (String, Place, String);
type EdgeKey2 = (NodeKey, NodeKey, String, Kind);
/// A merged edge's counters, mark and protocols.
type Merged<'a> = (Counts, Mark, BTreeSet<&'a str>);

impl Model {
    fn build(input: &[(Edge, Mark)], opts: &GraphOpts, format: OutputFormat) -> Model {
        let diff = input.iter().any(|(_, m)| *m != Mark::Same);
        let mut summary = Summary::default();
        let mut external: HashMap<(&str, &str), (u64, u64)> = HashMap::new();
        for (e, _) in input {
            let s = summary.by_kind.entry(e.key.kind).or_default();
            s.0 += 1;
            s.1 += e.counts.calls;
            if e.key.kind == Kind::World {
                let x = external.entry((&e.key.k8s_cluster_name, &e.key.dest)).or_default();
                x.0 += e.counts.calls;
                x.1 += e.counts.errors;
            }
        }
        summary.external =
            external.into_iter().map(|((c, d), (calls, errs))| (calls, errs, c.to_string(), d.to_string())).collect();
        summary.external.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.2, &a.3).cmp(&(&b.2, &b.3))));
        summary.external.truncate(10);

        // Collapse: map every endpoint to its node key, merging edges that meet.
        let mut world_members: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        if opts.collapse == Collapse::Cluster {
            for (e, _) in input {
                if e.key.kind == Kind::World {
                    world_members.entry(&e.key.k8s_cluster_name).or_default().insert(&e.key.dest);
                }
            }
        }
        let inside_name = |n: &str| -> String {
            match (opts.collapse, namespace_of(n)) {
                (Collapse::Namespace, Some(ns)) => format!("{ns}/*"),
                _ => n.to_string(),
            }
        };
        // Collapsing also merges parallel edges of different protocols (listed `http+grpc`).
        let mut merged: BTreeMap<EdgeKey2, Merged> = BTreeMap::new();
        for (e, m) in input {
            let k = &e.key;
            let c = &k.k8s_cluster_name;
            let src = (c.clone(), Place::Inside, inside_name(&k.src));
            let dest = if k.kind == Kind::World {
                let name = match world_members.get(c.as_str()) {
                    Some(set) => format!("world: {} destination{}", set.len(), if set.len() == 1 { "" } else { "s" }),
                    None => k.dest.clone(),
                };
                (c.clone(), Place::Outside, name)
            } else {
                (c.clone(), Place::Inside, inside_name(&k.dest))
            };
            let protocol = if opts.collapse == Collapse::None { k.protocol.clone() } else { String::new() };
            let slot = merged.entry((src, dest, protocol, k.kind)).or_insert((Counts::default(), *m, BTreeSet::new()));
            slot.0.add(&e.counts);
            slot.1 = slot.1.merge(*m);
            slot.2.insert(&k.protocol);
        }
        let collapsed = merged.len();

        // --top: keep the N with the most calls; ties go to the smaller key.
        let mut keep: Vec<(EdgeKey2, Merged)> = merged.into_iter().collect();
        let mut dropped = (0usize, 0u64);
        let top = match (opts.top, matches!(format, OutputFormat::Svg | OutputFormat::Html)) {
            (Some(n), _) => Some(n),
            (None, true) if keep.len() > PICTURE_TOP => Some(PICTURE_TOP),
            (None, _) => None,
        };
        if let Some(n) = top {
            if keep.len() > n {
                let mut order: Vec<usize> = (0..keep.len()).collect();
                order.sort_by(|&a, &b| keep[b].1 .0.calls.cmp(&keep[a].1 .0.calls).then(a.cmp(&b)));
                let mut wanted = vec![false; keep.len()];
                for &i in &order[..n] {
                    wanted[i] = true;
                }
                let mut i = 0;
                keep.retain(|(_, (c, _, _))| {
                    let w = wanted[i];
                    i += 1;
                    if !w {
                        dropped.0 += 1;
                        dropped.1 += c.calls;
                    }
                    w
                });
            }
        }

        // Nodes, sorted by (cluster, place, name); ids in that order.
        let mut node_keys: BTreeMap<NodeKey, (bool, Option<Kind>)> = BTreeMap::new();
        for ((s, d, _, kind), _) in &keep {
            node_keys.entry(s.clone()).or_default().0 = true;
            let dk = node_keys.entry(d.clone()).or_default();
            dk.1 = match dk.1 {
                None => Some(*kind),
                Some(k) if k == *kind => Some(k),
                Some(_) => Some(Kind::Service),
            };
        }
        let mut clusters: Vec<String> = node_keys.keys().map(|k| k.0.clone()).collect();
        clusters.dedup();
        let cluster_ix: HashMap<&str, usize> = clusters.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let mut ids: HashMap<&NodeKey, usize> = HashMap::new();
        let mut nodes = Vec::with_capacity(node_keys.len());
        for (i, (key, (is_src, dest_kind))) in node_keys.iter().enumerate() {
            let look = match (key.1, is_src, dest_kind) {
                (Place::Outside, _, _) => Look::External,
                (_, true, _) => Look::Workload,
                (_, _, Some(Kind::Node | Kind::RemoteNode)) => Look::Host,
                (_, _, Some(Kind::Loopback)) => Look::Loopback,
                _ => Look::Workload,
            };
            ids.insert(key, i);
            nodes.push(Node {
                id: i + 1,
                cluster: cluster_ix[key.0.as_str()],
                label: display_label(&key.2),
                full: escape_controls(&key.2),
                place: key.1,
                look,
            });
        }
        let edges = keep
            .iter()
            .map(|((s, d, _, kind), (counts, mark, protocols))| GEdge {
                from: ids[s],
                to: ids[d],
                protocol: protocols.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("+"),
                kind: *kind,
                counts: *counts,
                mark: *mark,
            })
            .collect();
        Model {
            title: opts.title.clone().unwrap_or_else(|| "netmap".to_string()),
            clusters,
            nodes,
            edges,
            given: input.len(),
            collapsed,
            dropped,
            default_top: opts.top.is_none() && top.is_some(),
            collapse: opts.collapse,
            summary,
            diff,
        }
    }

    /// The caption lines under the title: what is drawn, what was merged or dropped.
    fn caption(&self) -> Vec<String> {
        let calls: u64 = self.edges.iter().map(|e| e.counts.calls).sum();
        let mut v = vec![format!(
            "{} edge{}, {} call{}, {} cluster{}",
            self.edges.len(),
            plural(self.edges.len() as u64),
            calls,
            plural(calls),
            self.clusters.len(),
            plural(self.clusters.len() as u64)
        )];
        if self.collapse != Collapse::None {
            let by = match self.collapse {
                Collapse::Namespace => "namespace",
                _ => "cluster (outside destinations)",
            };
            v.push(format!("collapsed by {by}: {} edges given, {} after merging", self.given, self.collapsed));
        }
        if self.dropped.0 > 0 {
            v.push(format!(
                "--top {}{}: {} more edge{} with {} call{} not drawn",
                self.edges.len(),
                if self.default_top { " (the default for svg and html; --top N to change)" } else { "" },
                self.dropped.0,
                plural(self.dropped.0 as u64),
                self.dropped.1,
                plural(self.dropped.1)
            ));
        }
        v
    }

    fn edge_label(e: &GEdge) -> String {
        let mut s = String::new();
        match e.mark {
            Mark::Added => s.push_str("+ "),
            Mark::Removed => s.push_str("- "),
            Mark::Changed => s.push_str("~ "),
            Mark::Same => {}
        }
        if !e.protocol.is_empty() {
            s.push_str(&display_label(&e.protocol));
            s.push_str(": ");
        }
        let _ = write!(s, "{} call{}", e.counts.calls, plural(e.counts.calls));
        if e.counts.errors > 0 {
            let _ = write!(s, ", {} err", e.counts.errors);
        }
        s
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// ---------------------------------------------------------------- styles

/// A line style: colour, width, dash pattern (SVG `stroke-dasharray`, empty = solid).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line {
    color: &'static str,
    width: f32,
    dash: &'static str,
}

impl Line {
    fn dot_style(self) -> &'static str {
        match self.dash {
            "" => "solid",
            "2,3" => "dotted",
            _ => "dashed",
        }
    }
}

fn kind_line(k: Kind) -> Line {
    match k {
        Kind::Pod => Line { color: "#1971c2", width: 1.2, dash: "" },
        Kind::Service => Line { color: "#7048e8", width: 1.2, dash: "" },
        Kind::Node => Line { color: "#0c8599", width: 1.2, dash: "6,4" },
        Kind::RemoteNode => Line { color: "#9c36b5", width: 1.2, dash: "6,4" },
        Kind::Loopback => Line { color: "#868e96", width: 1.2, dash: "2,3" },
        Kind::World => Line { color: "#e8590c", width: 2.0, dash: "" },
    }
}

const ERROR_LINE: Line = Line { color: "#e03131", width: 3.0, dash: "" };

fn mark_line(m: Mark) -> Option<Line> {
    match m {
        Mark::Same => None,
        Mark::Added => Some(Line { color: "#2f9e44", width: 2.5, dash: "" }),
        Mark::Removed => Some(Line { color: "#c92a2a", width: 2.0, dash: "6,4" }),
        Mark::Changed => Some(Line { color: "#f08c00", width: 2.5, dash: "" }),
    }
}

/// The line an edge is drawn with: its diff mark wins, then error-heavy, then its kind.
fn edge_line(e: &GEdge) -> Line {
    if let Some(l) = mark_line(e.mark) {
        if e.error_heavy() {
            return Line { width: l.width.max(ERROR_LINE.width), ..l };
        }
        return l;
    }
    if e.error_heavy() {
        return ERROR_LINE;
    }
    kind_line(e.kind)
}

/// Fill and border of a node look (exact colours: the browser test looks for them).
fn look_colors(l: Look) -> (&'static str, &'static str) {
    match l {
        Look::Workload => (INSIDE_FILL, "#1864ab"),
        Look::Host => ("#c5f6fa", "#0b7285"),
        Look::Loopback => ("#f1f3f5", "#868e96"),
        Look::External => (EXTERNAL_FILL, "#d9480f"),
    }
}

/// Fill colour of outside (`world`) destination nodes.
pub const EXTERNAL_FILL: &str = "#ffa94d";
/// Fill colour of services and in-cluster destinations.
pub const INSIDE_FILL: &str = "#d0ebff";

fn look_name(l: Look) -> &'static str {
    match l {
        Look::Workload => "service / pod",
        Look::Host => "node / remote node",
        Look::Loopback => "loopback",
        Look::External => "outside the cluster (world)",
    }
}

/// The node looks the picture uses, in legend order.
fn looks_present(m: &Model) -> Vec<Look> {
    [Look::Workload, Look::Host, Look::Loopback, Look::External]
        .into_iter()
        .filter(|l| m.nodes.iter().any(|n| n.look == *l))
        .collect()
}

/// Legend rows: `(text, line)` for each kind present, error-heavy and marks when present.
fn legend(m: &Model) -> Vec<(String, Line)> {
    let mut kinds: Vec<Kind> = m.edges.iter().map(|e| e.kind).collect();
    kinds.sort();
    kinds.dedup();
    let mut v: Vec<(String, Line)> = kinds.iter().map(|k| (format!("{k} call"), kind_line(*k))).collect();
    if m.edges.iter().any(|e| e.error_heavy()) {
        v.push((format!("errors >= {ERROR_PERCENT}% of calls"), ERROR_LINE));
    }
    if m.diff {
        for (mk, name) in [(Mark::Added, "added"), (Mark::Removed, "removed"), (Mark::Changed, "changed")] {
            if m.edges.iter().any(|e| e.mark == mk) {
                v.push((name.to_string(), mark_line(mk).expect("only marks other than Same are listed")));
            }
        }
    }
    v
}

// ---------------------------------------------------------------- escaping

/// Longest label drawn; longer names keep their start and end around `…`.
pub const MAX_LABEL: usize = 48;

/// Control characters (newline, tab, ESC, ...) as visible escapes: `a\nb` → `a\\nb`.
fn escape_controls(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            o.extend(c.escape_default());
        } else {
            o.push(c);
        }
    }
    o
}

/// A name as drawn: control characters escaped, shortened to [`MAX_LABEL`] characters.
fn display_label(s: &str) -> String {
    let s = escape_controls(s);
    let n = s.chars().count();
    if n <= MAX_LABEL {
        return s;
    }
    let head = (MAX_LABEL - 1) / 2;
    let tail = MAX_LABEL - 1 - head;
    let mut o: String = s.chars().take(head).collect();
    o.push('…');
    o.extend(s.chars().skip(n - tail));
    o
}

/// A DOT quoted string: `"` and `\` escaped (so `\n`, `\l`, `\N` in a name stay
/// text), `&` as `&amp;` (Graphviz decodes entities in labels).
pub fn dot_quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '&' => o.push_str("&amp;"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Text for inside a Mermaid `"..."` label: characters Mermaid or HTML would
/// read (`" # < > & | \` \\ ;`; Mermaid turns `\n` into a line break) become
/// `#name;`/`#code;` entities.
pub fn mermaid_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '#' => o.push_str("#35;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '&' => o.push_str("#amp;"),
            '|' => o.push_str("#124;"),
            '`' => o.push_str("#96;"),
            '\\' => o.push_str("#92;"),
            ';' => o.push_str("#59;"),
            '\n' => o.push_str("<br>"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Text for HTML and SVG: `& < > " '` as entities.
fn html_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

// ---------------------------------------------------------------- DOT

/// DOT text; `standalone` adds the caption and the legend (the HTML page has its own).
fn to_dot(m: &Model, standalone: bool) -> String {
    let mut o = String::new();
    let mut caption = vec![escape_controls(&m.title)];
    caption.extend(m.caption());
    let _ = writeln!(o, "digraph netmap {{");
    // An HTML-like label: lines without backslash escapes.
    let lines: Vec<String> = caption.iter().map(|l| html_text(l)).collect();
    let label = if standalone { format!(", label=<{}>", lines.join("<br/>")) } else { String::new() };
    let _ = writeln!(
        o,
        "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, labelloc=t, labeljust=l, nodesep=0.25, ranksep=0.6{label}];"
    );
    let _ = writeln!(o, "  node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\", height=0.3];");
    let _ = writeln!(o, "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];");
    for (ci, cname) in m.clusters.iter().enumerate() {
        for place in [Place::Inside, Place::Outside] {
            let members: Vec<&Node> = m.nodes.iter().filter(|n| n.cluster == ci && n.place == place).collect();
            if members.is_empty() {
                continue;
            }
            let c = display_label(cname);
            let (id, label, style, color, bg) = match place {
                Place::Inside => (format!("cluster_c{}", ci + 1), format!("cluster {c}"), "rounded", "#1864ab", "#f8f9fa"),
                Place::Outside => {
                    (format!("cluster_c{}_outside", ci + 1), format!("{c}: outside the cluster"), "rounded,dashed", "#d9480f", "#fff4e6")
                }
            };
            let _ = writeln!(o, "  subgraph {id} {{");
            let _ = writeln!(
                o,
                "    graph [label={}, style={}, color=\"{color}\", bgcolor=\"{bg}\", fontcolor=\"{color}\"];",
                dot_quote(&label),
                dot_quote(style)
            );
            for n in members {
                let (fill, border) = look_colors(n.look);
                let shape = match n.look {
                    Look::External => ", shape=hexagon",
                    Look::Host => ", shape=box3d",
                    Look::Loopback => ", shape=ellipse, style=\"filled,dashed\"",
                    Look::Workload => "",
                };
                let _ = writeln!(
                    o,
                    "    n{} [label={}, tooltip={}, fillcolor=\"{fill}\", color=\"{border}\"{shape}];",
                    n.id,
                    dot_quote(&n.label),
                    dot_quote(&n.full)
                );
            }
            let _ = writeln!(o, "  }}");
        }
    }
    for e in &m.edges {
        let l = edge_line(e);
        // One rank further: the outside box sits right of its cluster.
        let minlen = if m.nodes[e.to].place == Place::Outside { ", minlen=2" } else { "" };
        let _ = writeln!(
            o,
            "  n{} -> n{} [label={}, color=\"{}\", fontcolor=\"{}\", penwidth={}, style={}{minlen}];",
            m.nodes[e.from].id,
            m.nodes[e.to].id,
            dot_quote(&Model::edge_label(e)),
            l.color,
            l.color,
            l.width,
            l.dot_style()
        );
    }
    if standalone && !m.edges.is_empty() {
        let _ = writeln!(o, "  subgraph cluster_legend {{");
        let _ = writeln!(o, "    graph [label=\"legend\", style=rounded, color=\"#adb5bd\", bgcolor=\"#ffffff\", fontcolor=\"#495057\"];");
        let _ = writeln!(o, "    node [shape=plaintext, style=\"\", fontsize=9, height=0.2, width=0.2];");
        for (i, l) in looks_present(m).iter().enumerate() {
            let (fill, border) = look_colors(*l);
            let shape = if *l == Look::External { "hexagon" } else { "box" };
            let _ = writeln!(
                o,
                "    legend_n{i} [label={}, shape={shape}, style=\"rounded,filled\", fillcolor=\"{fill}\", color=\"{border}\"];",
                dot_quote(look_name(*l))
            );
        }
        for (i, (text, l)) in legend(m).iter().enumerate() {
            let _ = writeln!(o, "    legend_a{i} [label=\"\"];");
            let _ = writeln!(o, "    legend_b{i} [label={}];", dot_quote(text));
            let _ = writeln!(
                o,
                "    legend_a{i} -> legend_b{i} [color=\"{}\", penwidth={}, style={}];",
                l.color,
                l.width,
                l.dot_style()
            );
        }
        let _ = writeln!(o, "  }}");
    }
    let _ = writeln!(o, "}}");
    o
}

// ---------------------------------------------------------------- Mermaid

fn to_mermaid(m: &Model) -> String {
    let mut o = String::new();
    let mut caption = vec![escape_controls(&m.title)];
    caption.extend(m.caption());
    // YAML single-quoted: only `'` needs escaping; controls are already escaped.
    let _ = writeln!(o, "---\ntitle: '{}'\n---", caption.join(" · ").replace('\'', "''"));
    let _ = writeln!(o, "flowchart LR");
    for (ci, cname) in m.clusters.iter().enumerate() {
        for place in [Place::Inside, Place::Outside] {
            let members: Vec<&Node> = m.nodes.iter().filter(|n| n.cluster == ci && n.place == place).collect();
            if members.is_empty() {
                continue;
            }
            let c = display_label(cname);
            let (id, label) = match place {
                Place::Inside => (format!("c{}", ci + 1), format!("cluster {c}")),
                Place::Outside => (format!("c{}_outside", ci + 1), format!("{c}: outside the cluster")),
            };
            let _ = writeln!(o, "  subgraph {id} [\"{}\"]", mermaid_text(&label));
            for n in members {
                let text = mermaid_text(&n.label);
                let _ = match n.look {
                    Look::External => writeln!(o, "    n{}{{{{\"{text}\"}}}}", n.id),
                    Look::Loopback => writeln!(o, "    n{}([\"{text}\"])", n.id),
                    Look::Host => writeln!(o, "    n{}[[\"{text}\"]]", n.id),
                    Look::Workload => writeln!(o, "    n{}[\"{text}\"]", n.id),
                };
            }
            let _ = writeln!(o, "  end");
            let class = if place == Place::Inside { "inside" } else { "outside" };
            let _ = writeln!(o, "  class {id} {class}");
        }
    }
    let mut link_styles = Vec::new();
    for e in &m.edges {
        let _ = writeln!(
            o,
            "  n{} -->|\"{}\"| n{}",
            m.nodes[e.from].id,
            mermaid_text(&Model::edge_label(e)),
            m.nodes[e.to].id
        );
        link_styles.push(edge_line(e));
    }
    let legend = legend(m);
    if !legend.is_empty() {
        let _ = writeln!(o, "  subgraph legend [\"legend\"]");
        for (i, (text, l)) in legend.iter().enumerate() {
            let _ = writeln!(o, "    legend_a{i}[\" \"] -->|\"{}\"| legend_b{i}[\" \"]", mermaid_text(text));
            link_styles.push(*l);
        }
        let _ = writeln!(o, "  end");
        let ids: Vec<String> = (0..legend.len()).flat_map(|i| [format!("legend_a{i}"), format!("legend_b{i}")]).collect();
        let _ = writeln!(o, "  classDef legendpoint fill:#ffffff,stroke:#ffffff");
        let _ = writeln!(o, "  class {} legendpoint", ids.join(","));
    }
    for (i, l) in link_styles.into_iter().enumerate() {
        let dash = if l.dash.is_empty() { String::new() } else { format!(",stroke-dasharray:{}", l.dash.replace(',', " ")) };
        let _ = writeln!(o, "  linkStyle {i} stroke:{},stroke-width:{}px{dash}", l.color, l.width);
    }
    for (look, class) in
        [(Look::Workload, "workload"), (Look::Host, "host"), (Look::Loopback, "loopback"), (Look::External, "external")]
    {
        let ids: Vec<String> = m.nodes.iter().filter(|n| n.look == look).map(|n| format!("n{}", n.id)).collect();
        let (fill, border) = look_colors(look);
        let dash = if look == Look::Loopback { ",stroke-dasharray:3 3" } else { "" };
        let _ = writeln!(o, "  classDef {class} fill:{fill},stroke:{border},color:#212529{dash}");
        if !ids.is_empty() {
            let _ = writeln!(o, "  class {} {class}", ids.join(","));
        }
    }
    let _ = writeln!(o, "  classDef inside fill:#f8f9fa,stroke:#1864ab");
    let _ = writeln!(o, "  classDef outside fill:#fff4e6,stroke:#d9480f,stroke-dasharray:5 5");
    o
}

// ---------------------------------------------------------------- SVG, HTML

/// The `dot` program: `NETMAP_DOT` if set, else `dot` on `PATH`.
fn dot_program() -> String {
    std::env::var("NETMAP_DOT").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "dot".to_string())
}

/// Lay out and render DOT text as SVG with Graphviz's `dot`.
fn dot_to_svg(dot: &str) -> Result<String> {
    dot_to_svg_with(&dot_program(), dot)
}

fn dot_to_svg_with(prog: &str, dot: &str) -> Result<String> {
    let mut child = Command::new(prog)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::Other(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "-o svg and -o html lay out the graph with Graphviz's `dot`, which is not installed ({prog:?} not found; \
                     Debian: apt-get install graphviz, or set NETMAP_DOT); -o dot and -o mermaid need nothing"
                )
            } else {
                format!("cannot run {prog:?}: {e}")
            })
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = dot.to_string();
    // Write on a thread: dot may fill stdout before it has read all of stdin.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut svg = String::new();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let read = stdout.read_to_string(&mut svg);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().map_err(|e| Error::Other(format!("cannot run {prog:?}: {e}")))?;
    let wrote = writer.join().map_err(|_| Error::Other(format!("writing to {prog:?} panicked")))?;
    if !status.success() {
        return Err(Error::Other(format!("{prog} -Tsvg failed ({status}): {}", err.trim().replace('\n', "; "))));
    }
    wrote.map_err(|e| Error::Other(format!("cannot write to {prog:?}: {e}")))?;
    read.map_err(|e| Error::Other(format!("cannot read the output of {prog:?}: {e}")))?;
    Ok(svg)
}

/// The `<svg ...>...</svg>` element of a whole SVG document (drops the XML prolog and doctype).
fn svg_element(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn legend_swatch(l: Line) -> String {
    let dash = if l.dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{}\"", l.dash) };
    format!(
        "<svg width=\"44\" height=\"10\" aria-hidden=\"true\"><line x1=\"2\" y1=\"5\" x2=\"42\" y2=\"5\" stroke=\"{}\" stroke-width=\"{}\"{dash}/></svg>",
        l.color, l.width
    )
}

fn to_html(m: &Model, svg: &str) -> String {
    let mut o = String::new();
    let title = html_text(&display_label(&m.title));
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title} · netmap</title>\n<style>\n\
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #212529; }}\n\
h1 {{ font-size: 20px; margin: 0 0 4px; }}\n\
.caption {{ color: #495057; margin: 0 0 12px; font-size: 13px; }}\n\
.top {{ display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; margin-bottom: 12px; font-size: 13px; }}\n\
table {{ border-collapse: collapse; }}\n\
th, td {{ border: 1px solid #dee2e6; padding: 2px 8px; text-align: left; }}\n\
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}\n\
.legend div {{ display: flex; align-items: center; gap: 6px; margin: 2px 0; }}\n\
.node {{ display: inline-block; width: 28px; height: 12px; border: 1px solid; border-radius: 3px; }}\n\
.map {{ overflow: auto; border: 1px solid #dee2e6; }}\n\
</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    for line in m.caption() {
        let _ = writeln!(o, "<p class=\"caption\">{}</p>", html_text(&line));
    }
    let _ = writeln!(o, "<div class=\"top\">\n<div class=\"legend\"><b>Legend</b>");
    for l in looks_present(m) {
        let (fill, border) = look_colors(l);
        let _ = writeln!(
            o,
            "<div><span class=\"node\" style=\"background:{fill};border-color:{border}\"></span>{}</div>",
            html_text(look_name(l))
        );
    }
    for (text, l) in legend(m) {
        let _ = writeln!(o, "<div>{}{}</div>", legend_swatch(l), html_text(&text));
    }
    let _ = writeln!(o, "</div>");
    let _ = writeln!(o, "<div><b>Edges by kind</b> (all {} edges given)\n<table><tr><th>kind</th><th>edges</th><th>calls</th></tr>", m.given);
    for (k, (edges, calls)) in &m.summary.by_kind {
        let _ = writeln!(o, "<tr><td>{k}</td><td class=\"n\">{edges}</td><td class=\"n\">{calls}</td></tr>");
    }
    let _ = writeln!(o, "</table></div>");
    let _ = writeln!(
        o,
        "<div><b>Top outside destinations</b>\n<table><tr><th>cluster</th><th>destination</th><th>calls</th><th>errors</th></tr>"
    );
    if m.summary.external.is_empty() {
        let _ = writeln!(o, "<tr><td colspan=\"4\">none: no call left a cluster</td></tr>");
    }
    for (calls, errors, c, d) in &m.summary.external {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td title=\"{}\">{}</td><td class=\"n\">{calls}</td><td class=\"n\">{errors}</td></tr>",
            html_text(&display_label(c)),
            html_text(&escape_controls(d)),
            html_text(&display_label(d))
        );
    }
    let _ = writeln!(o, "</table></div>\n</div>");
    let _ = writeln!(o, "<div class=\"map\">\n{}\n</div>\n</body>\n</html>", svg_element(svg).trim_end());
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edges::EdgeKey;

    fn edge(c: &str, s: &str, d: &str, kind: Kind, calls: u64, errors: u64) -> Edge {
        Edge {
            key: EdgeKey { k8s_cluster_name: c.into(), src: s.into(), dest: d.into(), protocol: "http".into(), kind },
            counts: Counts { calls, errors, duration_sum_ns: 0 },
        }
    }

    fn dot(edges: &[Edge], opts: &GraphOpts) -> String {
        let mut v = Vec::new();
        write_graph(OutputFormat::Dot, edges, opts, &mut v).expect("dot renders");
        String::from_utf8(v).expect("utf-8")
    }

    fn mermaid(edges: &[Edge], opts: &GraphOpts) -> String {
        let mut v = Vec::new();
        write_graph(OutputFormat::Mermaid, edges, opts, &mut v).expect("mermaid renders");
        String::from_utf8(v).expect("utf-8")
    }

    const HOSTILE: [&str; 9] = [
        "a\"b",
        "back\\slash\\n\\N",
        "new\nline\r\n",
        "<b>&amp;</b>",
        "semi;colon|pipe#hash`tick`",
        "end",
        "名前-サービス 🚀",
        "} -> n1 [label=x]; {",
        "\"]; click n1 call alert(1); n2[\"",
    ];

    /// Inside a DOT quoted string, every `"` must be escaped: find the end of the quote.
    fn dot_unquote(q: &str) -> (String, &str) {
        assert!(q.starts_with('"'), "{q}");
        let mut out = String::new();
        let mut it = q[1..].char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '\\' => {
                    let (_, n) = it.next().expect("escape is complete");
                    out.push('\\');
                    out.push(n);
                }
                '"' => return (out, &q[i + 2..]),
                '\n' => panic!("raw newline in a DOT string: {q:?}"),
                c => out.push(c),
            }
        }
        panic!("unterminated DOT string: {q:?}");
    }

    #[test]
    fn dot_quote_escapes_quotes_backslashes_and_entities() {
        assert_eq!(dot_quote(r#"a"b"#), r#""a\"b""#);
        assert_eq!(dot_quote(r"a\nb"), r#""a\\nb""#);
        assert_eq!(dot_quote("a&lt;b"), r#""a&amp;lt;b""#);
        for h in HOSTILE {
            let q = dot_quote(h);
            let (_, rest) = dot_unquote(&q);
            assert_eq!(rest, "", "{h:?} quoted as {q:?} ends early");
        }
    }

    #[test]
    fn hostile_names_stay_inside_dot_labels() {
        let edges: Vec<Edge> =
            HOSTILE.iter().enumerate().map(|(i, h)| edge("c\"1", h, HOSTILE[(i + 1) % HOSTILE.len()], Kind::World, 1, 0)).collect();
        let d = dot(&edges, &GraphOpts { title: Some("<title> & \"quotes\"\n>".into()), ..Default::default() });
        assert!(d.contains("label=<&lt;title&gt; &amp; &quot;quotes&quot;\\n&gt;<br/>"), "{d}");
        // Every line is a complete statement: ids are generated, names only in quoted labels.
        for line in d.lines() {
            let t = line.trim();
            assert!(
                t.is_empty()
                    || t.starts_with("digraph ")
                    || t.starts_with("graph [")
                    || t.starts_with("node [")
                    || t.starts_with("edge [")
                    || t.starts_with("subgraph cluster_")
                    || t == "}"
                    || t.starts_with('n')
                    || t.starts_with("legend_"),
                "unexpected DOT line {t:?}"
            );
            // The caption is an HTML-like label: only <br/> as markup, text entity-escaped.
            let t = match t.split_once("label=<") {
                Some((head, html)) => {
                    let html = html.strip_suffix(">];").expect("the HTML label ends the line");
                    let text = html.replace("<br/>", "");
                    assert!(!text.contains(['<', '>', '"']), "markup in the caption {html:?}");
                    head
                }
                None => t,
            };
            // Walk the line: outside quotes only ids, attributes and punctuation.
            let mut rest = t;
            let mut outside = String::new();
            while let Some(i) = rest.find('"') {
                outside.push_str(&rest[..i]);
                let (_, r) = dot_unquote(&rest[i..]);
                rest = r;
            }
            outside.push_str(rest);
            assert!(
                outside.chars().all(|c| c.is_ascii_alphanumeric() || " _-=[],;{}>.#".contains(c)),
                "text outside quotes in {t:?}: {outside:?}"
            );
        }
        // 9 sources + 9 outside destinations (the same names, but outside): 18 nodes.
        assert!(d.contains("n18 ["), "{d}");
        assert!(!d.contains("n19 ["), "{d}");
        assert!(d.contains(r#"label="new\\nline\\r\\n""#), "newlines shown escaped: {d}");
        assert!(d.contains("名前-サービス 🚀"), "unicode kept");
    }

    #[test]
    fn mermaid_text_uses_entities() {
        assert_eq!(mermaid_text(r#"a"b"#), "a#quot;b");
        assert_eq!(mermaid_text("#quot;"), "#35;quot#59;");
        assert_eq!(mermaid_text("<x>&|`"), "#lt;x#gt;#amp;#124;#96;");
        for h in HOSTILE {
            let t = mermaid_text(&display_label(h));
            assert!(!t.contains(['"', '\n', '\r', '<', '>', '|', '`']), "{h:?} → {t:?}");
        }
    }

    #[test]
    fn hostile_names_stay_inside_mermaid_labels() {
        let edges: Vec<Edge> =
            HOSTILE.iter().enumerate().map(|(i, h)| edge(h, h, HOSTILE[(i + 2) % HOSTILE.len()], Kind::Pod, 1, 0)).collect();
        let m = mermaid(&edges, &GraphOpts::default());
        for line in m.lines().skip(4) {
            let t = line.trim();
            // Outside "..." only generated ids, keywords and styles.
            let outside: String = t.split('"').step_by(2).collect();
            assert!(
                outside.chars().all(|c| c.is_ascii_alphanumeric() || " _-[](){}|>:#,.%=/".contains(c)),
                "text outside quotes in {t:?}: {outside:?}"
            );
            assert_eq!(t.matches('"').count() % 2, 0, "unbalanced quotes in {t:?}");
        }
    }

    #[test]
    fn long_names_are_shortened_in_the_middle() {
        let long = format!("{}.example.com", "x".repeat(500));
        let l = display_label(&long);
        assert_eq!(l.chars().count(), MAX_LABEL);
        assert!(l.ends_with(".example.com") && l.contains('…'), "{l}");
        let d = dot(&[edge("c", "s", &long, Kind::World, 1, 0)], &GraphOpts::default());
        assert!(d.contains(&format!("tooltip=\"{long}\"")), "full name kept as tooltip");
    }

    #[test]
    fn same_destination_in_two_clusters_is_two_nodes() {
        let e = [edge("a", "s", "api.example.com", Kind::World, 1, 0), edge("b", "s", "api.example.com", Kind::World, 1, 0)];
        let m = Model::build(
            &e.iter().map(|e| (e.clone(), Mark::Same)).collect::<Vec<_>>(),
            &GraphOpts::default(),
            OutputFormat::Dot,
        );
        assert_eq!(m.nodes.len(), 4);
        assert_eq!(m.nodes.iter().filter(|n| n.look == Look::External).count(), 2);
        let d = dot(&e, &GraphOpts::default());
        assert!(d.contains("subgraph cluster_c1_outside") && d.contains("subgraph cluster_c2_outside"), "{d}");
    }

    #[test]
    fn error_heavy_edges_are_red_and_thick() {
        let e = [edge("c", "s", "a", Kind::Pod, 100, 5), edge("c", "s", "b", Kind::Pod, 100, 4)];
        let d = dot(&e, &GraphOpts::default());
        let line_to = |id: &str| d.lines().find(|l| l.contains(&format!("-> {id} "))).expect("edge drawn").to_string();
        assert!(line_to("n1").contains(ERROR_LINE.color) && line_to("n1").contains("penwidth=3"), "{d}");
        assert!(line_to("n2").contains(kind_line(Kind::Pod).color), "{d}");
        assert!(d.contains("errors >= 5% of calls"), "legend entry: {d}");
    }

    #[test]
    fn top_keeps_the_busiest_and_says_what_it_dropped() {
        let e: Vec<Edge> = (1..=5).map(|i| edge("c", "s", &format!("d{i}"), Kind::Pod, i * 10, 0)).collect();
        let d = dot(&e, &GraphOpts { top: Some(2), ..Default::default() });
        assert!(d.contains("d5") && d.contains("d4") && !d.contains("\"d3\""), "{d}");
        assert!(d.contains("--top 2: 3 more edges with 60 calls not drawn"), "{d}");
        let m = mermaid(&e, &GraphOpts { top: Some(2), ..Default::default() });
        assert!(m.contains("3 more edges with 60 calls not drawn"), "{m}");
    }

    #[test]
    fn collapse_namespace_and_cluster() {
        let e = [
            edge("c", "shop/web-1", "shop/db-0", Kind::Pod, 1, 0),
            edge("c", "shop/web-2", "pay.billing.svc.cluster.local", Kind::Service, 2, 0),
            edge("c", "shop/web-2", "1.2.3.4", Kind::World, 3, 0),
            edge("c", "shop/web-1", "5.6.7.8", Kind::World, 4, 1),
        ];
        let d = dot(&e, &GraphOpts { collapse: Collapse::Namespace, ..Default::default() });
        assert!(d.contains("label=\"shop/*\"") && d.contains("label=\"billing/*\""), "{d}");
        assert!(!d.contains("web-1"), "{d}");
        assert!(d.contains("http: 1 call\""), "shop→shop pod edge kept: {d}");
        let d = dot(&e, &GraphOpts { collapse: Collapse::Cluster, ..Default::default() });
        assert!(d.contains("label=\"world: 2 destinations\""), "{d}");
        assert!(!d.contains("1.2.3.4\""), "{d}");
        assert!(d.contains("collapsed by cluster (outside destinations): 4 edges given, 4 after merging"), "{d}");
        assert_eq!(namespace_of("ns/pod-abc"), Some("ns"));
        assert_eq!(namespace_of("svc.ns.svc.cluster.local"), Some("ns"));
        assert_eq!(namespace_of("api.stripe.com"), None);
        assert_eq!(namespace_of("http://x/y"), None);
    }

    #[test]
    fn diff_marks_have_their_own_styles() {
        let e = [
            (edge("c", "s", "a", Kind::Pod, 1, 0), Mark::Added),
            (edge("c", "s", "b", Kind::Pod, 1, 0), Mark::Removed),
            (edge("c", "s", "d", Kind::Pod, 1, 0), Mark::Changed),
            (edge("c", "s", "e", Kind::Pod, 1, 0), Mark::Same),
        ];
        let mut v = Vec::new();
        render(OutputFormat::Dot, &e, &GraphOpts::default(), &mut v).expect("renders");
        let d = String::from_utf8(v).expect("utf-8");
        assert!(d.contains("label=\"+ http: 1 call\", color=\"#2f9e44\""), "{d}");
        assert!(d.contains("label=\"- http: 1 call\", color=\"#c92a2a\"") && d.contains("style=dashed"), "{d}");
        assert!(d.contains("label=\"~ http: 1 call\", color=\"#f08c00\""), "{d}");
        assert!(d.contains("label=\"http: 1 call\", color=\"#1971c2\""), "{d}");
        assert!(d.contains("legend_b5 [label=\"added\"]") || d.contains("[label=\"added\"]"), "{d}");
        // Merged edges with different marks are changed.
        assert_eq!(Mark::Added.merge(Mark::Removed), Mark::Changed);
    }

    #[test]
    fn svg_needs_dot_and_says_so() {
        let r = dot_to_svg_with("/nonexistent/dot-for-netmap-test", "digraph { a -> b }");
        let msg = r.expect_err("no dot, no svg").to_string();
        assert!(msg.contains("apt-get install graphviz"), "{msg}");
    }
}
