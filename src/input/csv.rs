//! Canonical span rows as CSV with a header.
//!
//! Columns are found by name (any order, extra columns ignored). `src` and at
//! least one of `dest`/`dest_ip` are required; the others are optional and
//! default to empty/0. A record with the wrong number of fields, invalid
//! UTF-8 or an unparsable value is rejected with its line, never fatal.

use std::borrow::Cow;
use std::io::BufRead;

use super::lines::{describe, record_line, LineCounter};
use super::{parse_bool, parse_duration, parse_timestamp, Event, ReadOpts, Reject, Sink, SpanRef, SPAN_COLUMNS};
use crate::error::{Error, Origin, Result};

/// Column positions of the canonical columns in this file's header.
struct Columns {
    idx: [Option<usize>; 8],
    width: usize,
}

impl Columns {
    fn from_header(h: &csv::ByteRecord, name: &str, line: u64) -> Result<Columns> {
        let mut idx = [None; 8];
        for (i, f) in h.iter().enumerate() {
            let f = String::from_utf8_lossy(f);
            let f = f.trim().trim_start_matches('\u{feff}');
            if let Some(c) = SPAN_COLUMNS.iter().position(|c| *c == f) {
                idx[c] = Some(i);
            }
        }
        let has = |c: &str| idx[SPAN_COLUMNS.iter().position(|x| *x == c).expect("known column")].is_some();
        if !has("src") || !(has("dest") || has("dest_ip")) {
            let found: Vec<String> = h.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
            return Err(Error::input(
                Origin::new(name, line),
                format!(
                    "CSV header needs src and dest or dest_ip (canonical columns: {}), found {:?}",
                    SPAN_COLUMNS.join(","),
                    found.join(",")
                ),
            ));
        }
        Ok(Columns { idx, width: h.len() })
    }
}

/// Read canonical CSV rows from `r`.
pub fn read(r: &mut dyn BufRead, opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    let name = opts.name.as_str();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(LineCounter::new(r));
    let mut rec = csv::ByteRecord::new();
    let io = |e: csv::Error, line: u64| -> Error { Error::input(Origin::new(name, line), format!("cannot read CSV: {}", describe(&e))) };
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => return Ok(()), // empty file: no rows
        Err(e) => return Err(io(e, record_line(&mut rdr, &rec))),
    }
    let cols = Columns::from_header(&rec, name, record_line(&mut rdr, &rec))?;
    let mut raw = Vec::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                // A broken record (e.g. invalid UTF-8 is fine for ByteRecord; this is I/O or a bad quote at EOF).
                let line = record_line(&mut rdr, &rec);
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(io(e, line));
                }
                sink(Event::Reject(Reject { line, class: "csv", reason: describe(&e), raw: Cow::Borrowed(b"") }))?;
                continue;
            }
        }
        let line = record_line(&mut rdr, &rec);
        match row(&rec, &cols, line).and_then(|r| opts.finish(r)) {
            Ok(span) => sink(Event::Row(span))?,
            Err((class, reason)) => {
                raw.clear();
                raw_record(&rec, &mut raw);
                sink(Event::Reject(Reject { line, class, reason, raw: Cow::Borrowed(&raw) }))?;
            }
        }
    }
}

fn row<'a>(rec: &'a csv::ByteRecord, cols: &Columns, line: u64) -> std::result::Result<SpanRef<'a>, (&'static str, String)> {
    if rec.len() != cols.width {
        return Err(("columns", format!("expected {} fields as in the header, found {}", cols.width, rec.len())));
    }
    let mut f: [&str; 8] = [""; 8];
    for (c, slot) in cols.idx.iter().enumerate() {
        if let Some(i) = slot {
            let bytes = rec.get(*i).unwrap_or_default();
            f[c] = std::str::from_utf8(bytes).map_err(|e| {
                ("utf8", format!("column {}: invalid UTF-8 at byte {}", SPAN_COLUMNS[c], e.valid_up_to()))
            })?;
        }
    }
    let timestamp_ns = if cols.idx[0].is_some() {
        parse_timestamp(f[0]).map_err(|m| ("timestamp", m))?
    } else {
        0
    };
    let duration_ns = parse_duration(f[6])
        .ok_or_else(|| ("duration", format!("column duration_ns: {:?} is not a non-negative integer", f[6])))?;
    let is_error = parse_bool(f[7]).ok_or_else(|| ("is_error", format!("column is_error: {:?} is not 0, 1, true or false", f[7])))?;
    Ok(SpanRef {
        line,
        timestamp: f[0],
        timestamp_ns,
        cluster: f[1].trim(),
        src: f[2].trim(),
        dest: f[3].trim(),
        dest_ip: f[4].trim(),
        protocol: f[5].trim(),
        duration_ns,
        is_error,
    })
}

/// Re-serialise a record as one CSV line (for `--rejects`).
fn raw_record(rec: &csv::ByteRecord, out: &mut Vec<u8>) {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    if w.write_byte_record(rec).is_ok() {
        if let Ok(mut v) = w.into_inner() {
            if v.last() == Some(&b'\n') {
                v.pop();
            }
            out.extend_from_slice(&v);
        }
    }
}
