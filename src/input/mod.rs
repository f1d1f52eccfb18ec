//! Trace dumps in, canonical span rows out: the one input builder every
//! command that reads spans uses (`classify`, `replay`, `diff --input`).
//!
//! Owns: `Format` and its detection (`--format`, else the extension, else the
//! first bytes), `SpanRef` (one canonical row, borrowed from the reader's
//! buffer), `Event` (a row, a rejected row with its reason and raw bytes, or a
//! skipped record such as a server span), and timestamp parsing.
//! Each format lives in its own file. Readers never print and never stop on a
//! bad row: they hand it to the sink as a `Reject`; only I/O errors are fatal.
//! Invariant: every input record produces exactly one event, so
//! rows + rejects + skips = records read.

pub mod csv;
pub mod hubble;
pub mod jsonl;
pub mod kubectl;
pub(crate) mod lines;
pub mod otlp;
pub mod vpcflow;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{display_path, Error, Result};

/// The trace-dump formats netmap reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Canonical span rows, CSV with a header.
    Csv,
    /// Canonical span rows, one JSON object per line.
    Jsonl,
    /// OTLP/JSON `ExportTraceServiceRequest`, one per file or one per line.
    Otlp,
    /// Hubble jsonpb flows (`{"flow":{...}}` per line).
    Hubble,
    /// AWS VPC Flow Logs records (space-separated, with or without the header line).
    Vpcflow,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Otlp => "otlp",
            Format::Hubble => "hubble",
            Format::Vpcflow => "vpcflow",
        })
    }
}

/// The canonical column names, in order.
pub const SPAN_COLUMNS: [&str; 8] = [
    "timestamp",
    "k8s_cluster_name",
    "src",
    "dest",
    "dest_ip",
    "protocol",
    "duration_ns",
    "is_error",
];

/// One canonical span row, borrowed from the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpanRef<'a> {
    /// 1-based line (or record) the row came from.
    pub line: u64,
    /// The timestamp as written in the input.
    pub timestamp: &'a str,
    /// The timestamp in nanoseconds since the Unix epoch (UTC).
    pub timestamp_ns: i64,
    /// The source cluster; may be empty (then `--cluster` applies).
    pub cluster: &'a str,
    /// The calling service.
    pub src: &'a str,
    /// The destination as named (service, host, URL); may be empty.
    pub dest: &'a str,
    /// The destination's socket address; may be empty.
    pub dest_ip: &'a str,
    /// Protocol (http, grpc, postgresql, TCP, ...); may be empty.
    pub protocol: &'a str,
    /// Duration in nanoseconds.
    pub duration_ns: u64,
    /// True for a failed call.
    pub is_error: bool,
}

/// The destination shown on an edge: `dest` if non-empty, else `dest_ip`.
pub fn display_dest<'a>(dest: &'a str, dest_ip: &'a str) -> &'a str {
    if dest.is_empty() {
        dest_ip
    } else {
        dest
    }
}

impl SpanRef<'_> {
    /// The destination shown on an edge ([`display_dest`]).
    pub fn display_dest(&self) -> &str {
        display_dest(self.dest, self.dest_ip)
    }

    /// An owned copy.
    pub fn to_owned_row(&self) -> SpanRow {
        SpanRow {
            line: self.line,
            timestamp: self.timestamp.to_string(),
            timestamp_ns: self.timestamp_ns,
            cluster: self.cluster.to_string(),
            src: self.src.to_string(),
            dest: self.dest.to_string(),
            dest_ip: self.dest_ip.to_string(),
            protocol: self.protocol.to_string(),
            duration_ns: self.duration_ns,
            is_error: self.is_error,
        }
    }
}

/// An owned canonical span row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanRow {
    /// See [`SpanRef::line`].
    pub line: u64,
    /// See [`SpanRef::timestamp`].
    pub timestamp: String,
    /// See [`SpanRef::timestamp_ns`].
    pub timestamp_ns: i64,
    /// See [`SpanRef::cluster`].
    pub cluster: String,
    /// See [`SpanRef::src`].
    pub src: String,
    /// See [`SpanRef::dest`].
    pub dest: String,
    /// See [`SpanRef::dest_ip`].
    pub dest_ip: String,
    /// See [`SpanRef::protocol`].
    pub protocol: String,
    /// See [`SpanRef::duration_ns`].
    pub duration_ns: u64,
    /// See [`SpanRef::is_error`].
    pub is_error: bool,
}

impl SpanRow {
    /// Borrow as a `SpanRef`.
    pub fn as_ref(&self) -> SpanRef<'_> {
        SpanRef {
            line: self.line,
            timestamp: &self.timestamp,
            timestamp_ns: self.timestamp_ns,
            cluster: &self.cluster,
            src: &self.src,
            dest: &self.dest,
            dest_ip: &self.dest_ip,
            protocol: &self.protocol,
            duration_ns: self.duration_ns,
            is_error: self.is_error,
        }
    }
}

/// A record that could not be used.
#[derive(Debug, Clone)]
pub struct Reject<'a> {
    /// 1-based line of the record.
    pub line: u64,
    /// Short reason class, used to count rejects (`timestamp`, `json`, `utf8`, ...).
    pub class: &'static str,
    /// What is wrong, naming the column and value.
    pub reason: String,
    /// The record as read, for `--rejects` (one line, no terminator).
    pub raw: Cow<'a, [u8]>,
}

/// What a reader hands to its sink for each record.
#[derive(Debug)]
pub enum Event<'a> {
    /// A usable row.
    Row(SpanRef<'a>),
    /// A record that could not be used.
    Reject(Reject<'a>),
    /// A record that is not a call to classify (a server span, a reply flow):
    /// counted, not an error. The reason is a short class.
    Skip(&'static str),
}

/// The sink readers call for each event; an `Err` stops reading (e.g. `--strict`).
pub type Sink<'s> = dyn FnMut(Event<'_>) -> Result<()> + 's;

/// What every reader needs besides the bytes.
#[derive(Debug, Clone, Default)]
pub struct ReadOpts {
    /// The input's name for messages (`<stdin>` for `-`).
    pub name: String,
    /// The cluster of rows that name none (`--cluster`).
    pub default_cluster: Option<String>,
}

impl ReadOpts {
    /// The last check every reader applies to a row it built: fill in the
    /// default cluster and refuse rows with no cluster or no peer. The error
    /// is (reason class, message).
    pub fn finish<'a>(&'a self, mut row: SpanRef<'a>) -> std::result::Result<SpanRef<'a>, (&'static str, String)> {
        if row.cluster.is_empty() {
            match self.default_cluster.as_deref() {
                Some(c) => row.cluster = c,
                None => return Err(("cluster", "no cluster: k8s_cluster_name is empty and no --cluster was given".to_string())),
            }
        }
        if !crate::rule::has_peer(row.dest, row.dest_ip) {
            return Err(("peer", "no peer: dest and dest_ip are both empty".to_string()));
        }
        Ok(row)
    }
}

impl ReadOpts {
    /// The event for a row a line-oriented reader built from the line `raw`:
    /// the row after [`ReadOpts::finish`], or the reject it gives.
    pub fn event<'a>(&'a self, row: SpanRef<'a>, raw: &'a [u8]) -> Event<'a> {
        match self.finish(row) {
            Ok(row) => Event::Row(row),
            Err((class, reason)) => Event::Reject(Reject { line: row.line, class, reason, raw: Cow::Borrowed(raw) }),
        }
    }
}

/// The loop of the line-oriented readers (JSON lines, Hubble, VPC flow logs):
/// `f(line, text, sink)` for each line's text, a UTF-8 BOM dropped from line 1
/// and blank lines skipped; a line that is not UTF-8 is a reject naming the
/// byte. A read error names the input.
pub(crate) fn for_each_text_line(
    r: &mut dyn BufRead,
    opts: &ReadOpts,
    sink: &mut Sink<'_>,
    mut f: impl FnMut(u64, &str, &mut Sink<'_>) -> Result<()>,
) -> Result<()> {
    for_each_line(r, |line, bytes| match line_text(line, bytes) {
        None => Ok(()),
        Some(Ok(text)) => f(line, text, sink),
        Some(Err(rej)) => sink(Event::Reject(rej)),
    })
    .map_err(|e| Error::io(&opts.name, e))?
}

/// The reject of line `line`, whose text is `text`, for a line-oriented reader.
pub(crate) fn text_reject<'a>(line: u64, text: &'a str, class: &'static str, reason: String) -> Event<'a> {
    Event::Reject(Reject { line, class, reason, raw: Cow::Borrowed(text.as_bytes()) })
}

/// A line's text: a UTF-8 BOM dropped from line 1, a blank line skipped
/// (`None`), the text checked as UTF-8 (else a reject naming the byte).
fn line_text(line: u64, bytes: &[u8]) -> Option<std::result::Result<&str, Reject<'_>>> {
    let bytes = if line == 1 { bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes) } else { bytes };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(std::str::from_utf8(bytes).map_err(|e| Reject {
        line,
        class: "utf8",
        reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        raw: Cow::Borrowed(bytes),
    }))
}

/// An input named on the command line: a path or `-` for stdin.
#[derive(Debug, Clone)]
pub struct Input {
    path: PathBuf,
    format: Option<Format>,
    default_cluster: Option<String>,
    progress: Option<Arc<AtomicU64>>,
}

impl Input {
    /// An input at `path` (`-` = stdin) with an explicit format or `None` to detect it.
    pub fn new(path: impl Into<PathBuf>, format: Option<Format>) -> Input {
        Input { path: path.into(), format, default_cluster: None, progress: None }
    }

    /// Count the bytes read from the input into `counter` as reading goes
    /// (for progress bars: compare with the file's length).
    pub fn progress(mut self, counter: Arc<AtomicU64>) -> Input {
        self.progress = Some(counter);
        self
    }

    /// Rows with an empty cluster belong to `cluster` (`--cluster`).
    pub fn default_cluster(mut self, cluster: Option<String>) -> Input {
        self.default_cluster = cluster.filter(|c| !c.is_empty());
        self
    }

    /// The name used in messages (`<stdin>` for `-`).
    pub fn name(&self) -> String {
        display_path(&self.path)
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> Result<Box<dyn BufRead>> {
        const CAP: usize = 1 << 16;
        let raw: Box<dyn Read> = if self.path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(&self.path).map_err(|e| Error::io(&self.path, e))?)
        };
        Ok(match &self.progress {
            Some(c) => Box::new(BufReader::with_capacity(CAP, Counting { inner: raw, count: c.clone() })),
            None => Box::new(BufReader::with_capacity(CAP, raw)),
        })
    }

    /// Read every record, calling `sink` once per record. Returns the format used.
    pub fn read(&self, sink: &mut Sink<'_>) -> Result<Format> {
        let mut r = self.open()?;
        let opts = ReadOpts { name: self.name(), default_cluster: self.default_cluster.clone() };
        let format = match self.format {
            Some(f) => f,
            None => detect(&self.path, &mut r).map_err(|e| Error::io(&self.path, e))?,
        };
        let res = match format {
            Format::Csv => csv::read(&mut r, &opts, sink),
            Format::Jsonl => jsonl::read(&mut r, &opts, sink),
            Format::Otlp => otlp::read(&mut r, &opts, sink),
            Format::Hubble => hubble::read(&mut r, &opts, sink),
            Format::Vpcflow => vpcflow::read(&mut r, &opts, sink),
        };
        res.map(|()| format)
    }
}

/// A reader that adds the bytes it reads to a shared counter.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Detect the format: extension first (`.csv`, `.jsonl`/`.ndjson`), then the
/// first bytes (`resourceSpans` → OTLP, `"flow"` → Hubble, `{` → JSON lines,
/// a VPC flow log header (`version account-id ... srcaddr dstaddr ...`) →
/// VPC flow log, anything else → CSV).
pub fn detect(path: &Path, r: &mut dyn BufRead) -> std::io::Result<Format> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if ext.as_deref() == Some("csv") {
        return Ok(Format::Csv);
    }
    let head = r.fill_buf()?;
    let head = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let t = head.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if t.contains("\"resourceSpans\"") || t.contains("\"resource_spans\"") {
            return Ok(Format::Otlp);
        }
        if t.starts_with("{\"flow\"") || t.contains("\"flow\":{") || t.contains("\"flow\": {") {
            return Ok(Format::Hubble);
        }
        return Ok(Format::Jsonl);
    }
    if vpcflow::is_header(t.lines().next().unwrap_or("")) {
        return Ok(Format::Vpcflow);
    }
    Ok(match ext.as_deref() {
        Some("jsonl") | Some("ndjson") => Format::Jsonl,
        _ => Format::Csv,
    })
}

/// Parse a timestamp into nanoseconds since the epoch (UTC).
///
/// Accepts RFC 3339 / ISO 8601 (`2024-05-01T12:00:00.123456789Z`, `T` or a
/// space, optional fraction, `Z`, `±HH:MM` or no zone = UTC) and integers
/// (seconds, milliseconds, microseconds or nanoseconds, told apart by size).
pub fn parse_timestamp(s: &str) -> std::result::Result<i64, String> {
    let t = s.trim();
    let bad = || format!("timestamp {s:?} is not a date-time (expected e.g. 2024-05-01T12:00:00Z or Unix nanoseconds)");
    if t.is_empty() {
        return Err("timestamp is empty".to_string());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let n = i64::from_str(t).map_err(|_| bad())?;
        let ns = if n >= 100_000_000_000_000_000 {
            Some(n)
        } else if n >= 100_000_000_000_000 {
            n.checked_mul(1_000)
        } else if n >= 100_000_000_000 {
            n.checked_mul(1_000_000)
        } else {
            n.checked_mul(1_000_000_000)
        };
        return ns.ok_or_else(bad);
    }
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let parse = || -> Option<i64> {
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ' || b[10] == b't') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut frac: i64 = 0;
        if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    frac = frac * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                frac *= 10;
            }
        }
        let rest = &t[i..];
        let offset_s: i64 = match rest {
            "" | "Z" | "z" => 0,
            _ => {
                let rb = rest.as_bytes();
                let sign = match rb[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let (hh, mm) = match rb.len() {
                    6 if rb[3] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                    5 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                    3 => (num(i + 1..i + 3)?, 0),
                    _ => return None,
                };
                if hh > 23 || mm > 59 {
                    return None;
                }
                sign * (hh * 3600 + mm * 60)
            }
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
        secs.checked_mul(1_000_000_000)?.checked_add(frac)
    };
    parse().ok_or_else(bad)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Format nanoseconds since the epoch as RFC 3339 UTC with nanoseconds.
pub fn format_timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parse `is_error`: `0/1`, `true/false` (any case), empty = false.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "" | "0" => Some(false),
        "1" => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        t if t.eq_ignore_ascii_case("true") => Some(true),
        _ => None,
    }
}

/// Parse `duration_ns`: a non-negative integer, empty = 0.
pub fn parse_duration(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() {
        Some(0)
    } else {
        u64::from_str(t).ok()
    }
}

/// Read lines (without the terminator, `\r\n` tolerated) and call `f(line_no, bytes)`.
/// Lines longer than `MAX_LINE` are still delivered whole; the caller decides.
pub(crate) fn for_each_line(
    r: &mut dyn BufRead,
    mut f: impl FnMut(u64, &[u8]) -> Result<()>,
) -> std::io::Result<std::result::Result<(), Error>> {
    let mut buf = Vec::with_capacity(1024);
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(Ok(()));
        }
        line += 1;
        let mut s: &[u8] = &buf;
        if s.last() == Some(&b'\n') {
            s = &s[..s.len() - 1];
        }
        if s.last() == Some(&b'\r') {
            s = &s[..s.len() - 1];
        }
        if let Err(e) = f(line, s) {
            return Ok(Err(e));
        }
    }
}


/// Test support shared by the readers' tests: run a reader over bytes and
/// collect its events, owned.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Event, ReadOpts, Sink, SpanRow};
    use crate::error::Result;
    use std::io::BufRead;

    /// An event, owned.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Got {
        /// A row.
        Row(SpanRow),
        /// A reject.
        Reject { line: u64, class: &'static str, reason: String, raw: Vec<u8> },
        /// A skip.
        Skip(&'static str),
    }

    /// Run `read` over `input` named `name` with `cluster` as the default cluster.
    pub fn collect(
        read: fn(&mut dyn BufRead, &ReadOpts, &mut Sink<'_>) -> Result<()>,
        input: &[u8],
        name: &str,
        cluster: Option<&str>,
    ) -> Vec<Got> {
        let opts = ReadOpts { name: name.into(), default_cluster: cluster.map(str::to_string) };
        let mut got = Vec::new();
        read(&mut &input[..], &opts, &mut |ev| {
            got.push(match ev {
                Event::Row(r) => Got::Row(r.to_owned_row()),
                Event::Reject(r) => Got::Reject { line: r.line, class: r.class, reason: r.reason, raw: r.raw.into_owned() },
                Event::Skip(s) => Got::Skip(s),
            });
            Ok(())
        })
        .expect("reading from memory does not fail");
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_timestamp("2024-05-01T12:00:00.5Z"), Ok(1_714_564_800_500_000_000));
        assert_eq!(parse_timestamp("2024-05-01 14:00:00+02:00"), Ok(1_714_564_800_000_000_000));
        assert_eq!(parse_timestamp("1714564800"), Ok(1_714_564_800_000_000_000));
        assert_eq!(parse_timestamp("1714564800123"), Ok(1_714_564_800_123_000_000));
        assert_eq!(parse_timestamp("1714564800123456789"), Ok(1_714_564_800_123_456_789));
        assert!(parse_timestamp("2024-02-30T00:00:00Z").is_err());
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("").is_err());
        assert!(parse_timestamp("2024-05-01T12:00:00.Z").is_err());
        assert_eq!(format_timestamp(1_714_564_800_500_000_000), "2024-05-01T12:00:00.500000000Z");
        for ns in [0i64, 951_782_400_000_000_001, 4_102_444_800_000_000_000] {
            assert_eq!(parse_timestamp(&format_timestamp(ns)), Ok(ns));
        }
    }

    #[test]
    fn finish_refuses_rows_the_rule_cannot_classify() {
        let opts = ReadOpts { name: "t".into(), default_cluster: Some("prod".into()) };
        let row = |dest, dest_ip| SpanRef { dest, dest_ip, ..SpanRef::default() };
        assert!(opts.finish(row("", "10.0.0.1:80")).is_ok());
        assert!(opts.finish(row("redis", "")).is_ok());
        assert!(opts.finish(row("redis", "not-an-ip")).is_ok());
        // A blank dest falls back to dest_ip as any peer (classified invalid/world, not lost).
        assert!(opts.finish(row("", "not-an-ip")).is_ok());
        assert_eq!(opts.finish(row("  ", " ")).unwrap_err().0, "peer");
        assert_eq!(opts.finish(row(" ", "")).unwrap_err().0, "peer");
    }

    #[test]
    fn detection() {
        let det = |name: &str, text: &str| detect(Path::new(name), &mut text.as_bytes()).unwrap();
        assert_eq!(det("a.csv", "{"), Format::Csv);
        assert_eq!(det("a", "timestamp,src\n"), Format::Csv);
        assert_eq!(det("a.json", "{\"resourceSpans\":[]}"), Format::Otlp);
        assert_eq!(det("a.json", "{\"flow\":{\"time\":1}}"), Format::Hubble);
        assert_eq!(det("flows.log", "version account-id interface-id srcaddr dstaddr srcport\n2 1 eni-1 10.0.0.1 10.0.0.2 1\n"), Format::Vpcflow);
        assert_eq!(det("x", "srcaddr,dstaddr\n"), Format::Csv);
        assert_eq!(det("a.json", "{\"src\":\"x\"}"), Format::Jsonl);
        assert_eq!(det("a.jsonl", ""), Format::Jsonl);
    }
}
