//! Writing results: one row writer for every command and every format, the
//! rejects file, and the summary line.
//!
//! Owns: `OutputFormat` (`table` on a terminal, `csv` otherwise, `json`,
//! `jsonl`), `RowWriter` (CSV and JSON lines stream; table and JSON buffer,
//! since they need every row first), and `Rejects` (counting by reason,
//! showing the first few, writing all to `--rejects FILE`).
//! Leaves graph formats (dot, mermaid, svg, html) to `graph.rs`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::input::Reject;

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned table (default on a terminal).
    Table,
    /// CSV with a header (default otherwise).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Graphviz DOT (edges only).
    Dot,
    /// Mermaid flowchart (edges only).
    Mermaid,
    /// A self-contained SVG picture (edges only).
    Svg,
    /// A self-contained HTML page with the picture (edges only).
    Html,
}

impl OutputFormat {
    /// The format to use when `-o` is not given.
    pub fn default_for_stdout() -> OutputFormat {
        if io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Csv
        }
    }

    /// True for the graph formats.
    pub fn is_graph(self) -> bool {
        matches!(self, OutputFormat::Dot | OutputFormat::Mermaid | OutputFormat::Svg | OutputFormat::Html)
    }
}

/// One cell of an output row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Text (a JSON string).
    Str(&'a str),
    /// Owned text.
    String(String),
    /// An unsigned number (a JSON number).
    Int(u64),
    /// A signed number.
    Signed(i64),
    /// Missing (empty in CSV/table, `null` in JSON).
    Null,
}

impl Cell<'_> {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Str(s) => (*s).into(),
            Cell::String(s) => s.as_str().into(),
            Cell::Int(n) => n.to_string().into(),
            Cell::Signed(n) => n.to_string().into(),
            Cell::Null => "".into(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Str(s) => serde_json::Value::from(*s),
            Cell::String(s) => serde_json::Value::from(s.as_str()),
            Cell::Int(n) => serde_json::Value::from(*n),
            Cell::Signed(n) => serde_json::Value::from(*n),
            Cell::Null => serde_json::Value::Null,
        }
    }
}

/// `Some(s)` → `Str`, `None` → `Null`.
pub fn opt_cell(s: Option<String>) -> Cell<'static> {
    s.map_or(Cell::Null, Cell::String)
}

enum Sink {
    Csv(csv::Writer<Box<dyn Write>>),
    Jsonl(Box<dyn Write>),
    Json(Box<dyn Write>, bool),
    Table(Box<dyn Write>, comfy_table::Table),
}

/// Writes rows with fixed columns in one format.
pub struct RowWriter {
    headers: Vec<String>,
    sink: Sink,
}

impl RowWriter {
    /// A writer of `headers`-shaped rows to `out`. Graph formats are refused here.
    pub fn new(format: OutputFormat, headers: &[&str], out: Box<dyn Write>) -> Result<RowWriter> {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let sink = match format {
            OutputFormat::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(out);
                w.write_record(&headers).map_err(csv_err)?;
                Sink::Csv(w)
            }
            OutputFormat::Jsonl => Sink::Jsonl(out),
            OutputFormat::Json => Sink::Json(out, true),
            OutputFormat::Table => {
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
                t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
                t.set_header(&headers);
                Sink::Table(out, t)
            }
            other => {
                return Err(Error::Usage(format!(
                    "-o {} draws edges; this output is not a set of edges (use table, csv, json or jsonl)",
                    clap::ValueEnum::to_possible_value(&other).map(|v| v.get_name().to_string()).unwrap_or_default()
                )))
            }
        };
        Ok(RowWriter { headers, sink })
    }

    /// Write one row (as many cells as headers).
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        debug_assert_eq!(cells.len(), self.headers.len());
        match &mut self.sink {
            Sink::Csv(w) => {
                for c in cells {
                    w.write_field(c.text().as_bytes()).map_err(csv_err)?;
                }
                w.write_record(None::<&[u8]>).map_err(csv_err)?;
            }
            Sink::Jsonl(w) => {
                write_json_object(w, &self.headers, cells)?;
                w.write_all(b"\n")?;
            }
            Sink::Json(w, first) => {
                w.write_all(if *first { b"[\n" } else { b",\n" })?;
                *first = false;
                write_json_object(w, &self.headers, cells)?;
            }
            Sink::Table(_, t) => {
                t.add_row(cells.iter().map(|c| c.text().into_owned()).collect::<Vec<_>>());
            }
        }
        Ok(())
    }

    /// Flush; tables and JSON arrays are written here.
    pub fn finish(self) -> Result<()> {
        match self.sink {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Jsonl(mut w) => w.flush()?,
            Sink::Json(mut w, first) => {
                w.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
                w.flush()?;
            }
            Sink::Table(mut w, t) => {
                writeln!(w, "{t}")?;
                w.flush()?;
            }
        }
        Ok(())
    }
}

fn write_json_object(w: &mut dyn Write, headers: &[String], cells: &[Cell<'_>]) -> Result<()> {
    let mut m = serde_json::Map::with_capacity(headers.len());
    for (h, c) in headers.iter().zip(cells) {
        m.insert(h.clone(), c.json());
    }
    serde_json::to_writer(&mut *w, &m).map_err(|e| Error::Io { path: "<stdout>".into(), source: e.into() })?;
    Ok(())
}

fn csv_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::from(io),
        other => Error::Other(format!("cannot write CSV: {other:?}")),
    }
}

/// Standard output, buffered.
pub fn stdout() -> Box<dyn Write> {
    Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))
}

/// Open `path` for writing (`-` = stdout).
pub fn create(path: &Path) -> Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        return Ok(stdout());
    }
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(Box::new(BufWriter::new(f)))
}

/// How many rejected rows to show on stderr before summarising.
pub const SHOW_REJECTS: usize = 5;

/// Counts rejected rows by reason, keeps the first few messages, and writes
/// every rejected record to `--rejects FILE` when asked. Also counts the
/// records a reader skipped on purpose (a header, a server span, a reply
/// flow), by reason, for the same summary.
pub struct Rejects {
    input: String,
    total: u64,
    by_class: BTreeMap<&'static str, u64>,
    skipped: BTreeMap<&'static str, u64>,
    shown: Vec<String>,
    file: Option<(PathBuf, Box<dyn Write>)>,
}

impl Rejects {
    /// A counter for rejects of `input`; `path` is `--rejects`.
    pub fn new(input: &str, path: Option<&Path>) -> Result<Rejects> {
        let file = match path {
            Some(p) => Some((p.to_path_buf(), create(p)?)),
            None => None,
        };
        let (by_class, skipped) = (BTreeMap::new(), BTreeMap::new());
        Ok(Rejects { input: input.to_string(), total: 0, by_class, skipped, shown: Vec::new(), file })
    }

    /// The message for one reject: `file:line: reason`.
    pub fn message(&self, r: &Reject<'_>) -> String {
        format!("{}:{}: {}", self.input, r.line, r.reason)
    }

    /// Count one reject and write it out.
    pub fn add(&mut self, r: &Reject<'_>) -> Result<()> {
        self.total += 1;
        *self.by_class.entry(r.class).or_default() += 1;
        if self.shown.len() < SHOW_REJECTS {
            self.shown.push(self.message(r));
        }
        if let Some((p, w)) = &mut self.file {
            w.write_all(&r.raw).and_then(|()| w.write_all(b"\n")).map_err(|e| Error::io(p.as_path(), e))?;
        }
        Ok(())
    }

    /// Number of rejects so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Count one record skipped on purpose (`Event::Skip`'s reason).
    pub fn skip(&mut self, why: &'static str) {
        *self.skipped.entry(why).or_default() += 1;
    }

    /// Number of skipped records so far.
    pub fn skipped(&self) -> u64 {
        self.skipped.values().sum()
    }


    /// The summary phrase shared by every command that reads a dump:
    /// `N rejected`, the count per reason when any, and `, S skipped` with
    /// the count per reason (`header: 1, no flow data: 1`) when records were
    /// skipped.
    pub fn summary_phrase(&self) -> String {
        // Count per reason, e.g. `json: 1, timestamp: 2`.
        let per = |m: &BTreeMap<&str, u64>| m.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
        let mut s = format!("{} rejected", self.total);
        if self.total > 0 {
            s.push_str(&format!(" ({})", per(&self.by_class)));
        }
        if !self.skipped.is_empty() {
            s.push_str(&format!(", {} skipped ({})", self.skipped(), per(&self.skipped)));
        }
        s
    }

    /// Lines for stderr: the first few rejects, then how many more.
    pub fn report(&self) -> Vec<String> {
        let mut v: Vec<String> = self.shown.iter().map(|m| format!("rejected {m}")).collect();
        if self.total > self.shown.len() as u64 {
            let more = self.total - self.shown.len() as u64;
            v.push(match &self.file {
                Some((p, _)) => format!("... and {more} more rejected rows (all written to {})", p.display()),
                None => format!("... and {more} more rejected rows (write them all with --rejects FILE)"),
            });
        }
        v
    }

    /// Flush the rejects file.
    pub fn finish(&mut self) -> Result<()> {
        if let Some((p, w)) = &mut self.file {
            w.flush().map_err(|e| Error::io(p.as_path(), e))?;
        }
        Ok(())
    }
}

/// Write edges in `format`; graph formats go to [`crate::graph`] with `graph`'s options.
pub fn write_edges(
    format: OutputFormat,
    edges: &[crate::edges::Edge],
    graph: &crate::graph::GraphOpts,
    mut out: Box<dyn Write>,
) -> Result<()> {
    if format.is_graph() {
        return crate::graph::write_graph(format, edges, graph, &mut out);
    }
    let mut w = RowWriter::new(format, &crate::edges::EDGE_COLUMNS, out)?;
    for e in edges {
        let k = &e.key;
        w.row(&[
            Cell::Str(&k.k8s_cluster_name),
            Cell::Str(&k.src),
            Cell::Str(&k.dest),
            Cell::Str(&k.protocol),
            Cell::Str(k.kind.as_str()),
            Cell::Int(u64::from(k.kind.is_external())),
            Cell::Int(e.counts.calls),
            Cell::Int(e.counts.errors),
            Cell::Int(e.counts.duration_sum_ns),
        ])?;
    }
    w.finish()
}
