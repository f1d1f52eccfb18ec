//! Physical line numbers for CSV records, for every CSV reader in netmap.
//!
//! The csv crate's own positions are not line numbers a person can use: a
//! record's position is taken *before* the blank lines and `#` comment lines
//! that precede it are skipped, and after a CRLF record it points at the `\n`
//! (so both name an earlier line). This module owns the fix, used by the span
//! reader (`input::csv`), the CIDR readers (`cidr`) and the edge reader
//! (`edges`):
//!
//! - [`LineCounter`] wraps the bytes under a `csv::Reader` and notes the offset
//!   of each `\n` as it passes. Offsets are forgotten as the parser moves past
//!   them, so memory is bounded by the parser's read-ahead buffer, never by the
//!   file's length.
//! - [`record_line`] turns the reader's position after a record (the byte after
//!   its terminator) into the 1-based line on which the record *starts*: the
//!   line of its last byte, less the newlines inside its quoted fields.
//! - [`describe`] prints a `csv::Error` without the crate's (wrong) position,
//!   for messages that name the line themselves.

use std::collections::VecDeque;
use std::io::Read;

/// A reader that notes where each `\n` it hands out is, to answer "which line
/// is byte N on" for offsets at or after what its consumer has read.
///
/// Made for a consumer that, like `csv::Reader`'s buffer, consumes everything
/// it was given before it reads again: at each read, newlines before the last
/// byte handed out are folded into a count. Queries ([`LineCounter::line_of`])
/// must not go backwards, nor below the last byte handed out before the
/// latest read.
#[derive(Debug)]
pub struct LineCounter<R> {
    inner: R,
    /// Bytes handed out so far.
    delivered: u64,
    /// Newlines before the first pending one.
    passed: u64,
    /// Offsets of newlines handed out and not yet passed by a query, ascending.
    pending: VecDeque<u64>,
    /// The line of the last byte of the previous record ([`record_line`]), 1 before any.
    prev_line: u64,
    /// Whether that byte is a `\n`.
    prev_newline: bool,
}

impl<R> LineCounter<R> {
    /// Count the lines of `inner`, from its current position (byte 0, line 1).
    pub fn new(inner: R) -> LineCounter<R> {
        LineCounter { inner, delivered: 0, passed: 0, pending: VecDeque::new(), prev_line: 1, prev_newline: false }
    }

    /// The wrapped reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The 1-based line of the byte at `offset` (a `\n` belongs to the line it ends).
    pub fn line_of(&mut self, offset: u64) -> u64 {
        while let Some(&o) = self.pending.front() {
            if o >= offset {
                break;
            }
            self.pending.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }

    /// For a record whose last byte is at `last` (the previous one's was the
    /// last byte asked about here): the line of `last`, and how many newlines
    /// lie between the two records' ends, excluding both end bytes.
    fn record_end(&mut self, last: u64) -> (u64, u64) {
        let line = self.line_of(last);
        let between = line - self.prev_line - u64::from(self.prev_newline);
        self.prev_line = line;
        self.prev_newline = self.pending.front() == Some(&last);
        (line, between)
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Everything handed out so far has been consumed: no query will ask
        // about a byte before the last one, so fold the newlines before it.
        self.line_of(self.delivered.saturating_sub(1));
        let n = self.inner.read(buf)?;
        let base = self.delivered;
        self.pending.extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
        self.delivered += n as u64;
        Ok(n)
    }
}

/// The 1-based line on which the record `rdr` has just read (or just failed
/// on, for an error that keeps the record, such as unequal lengths) starts.
///
/// Blank lines, `#` comment lines and CRLF line ends before it are not part of
/// it; a record whose quoted fields hold newlines starts on its first line.
/// (One case is beyond this: a quote left open at the end of the file whose
/// last byte is a newline names the line before.)
pub fn record_line<R: Read>(rdr: &mut csv::Reader<LineCounter<R>>, record: &csv::ByteRecord) -> u64 {
    let end = rdr.position().byte();
    let Some(last) = end.checked_sub(1) else {
        return 1;
    };
    // The record ends on the line of the last byte read: its terminator (`\n`,
    // or the `\r` of a CRLF, whose `\n` the parser skips with the next
    // record), or its last byte at the end of the file. Newlines before that
    // and after the previous record are blank or comment lines (which do not
    // matter) or inside the record's quoted fields (which do); most records
    // have none at all, and need no look at their bytes.
    let (line, between) = rdr.get_mut().record_end(last);
    if between == 0 {
        return line;
    }
    let inside = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
    line.saturating_sub(inside).max(1)
}

/// A `csv::Error` without the position the csv crate puts in its text (that
/// position has the crate's line, which skips blank and comment lines).
pub fn describe(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields as in the header, found {len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => err.to_string(),
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}
