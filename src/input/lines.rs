//! Physical line numbers for CSV records, for every CSV reader in netmap.
//!
//! The csv crate's own positions are not line numbers a person can use: a
//! record's position is taken *before* the blank lines and `#` comment lines
//! that precede it are skipped, and after a CRLF record it points at the `\n`
//! (so both name an earlier line). This module owns the fix, used by the span
//! reader (`input::csv`), the CIDR readers (`cidr`) and the edge reader
//! (`edges`):
//!
//! - [`LineCounter`] wraps the bytes under a `csv::Reader` and notes what the
//!   parser cannot tell: where the `\r` bytes are (none in most files) and
//!   the last byte read. Offsets are forgotten as the parser moves past them,
//!   so memory is bounded by the parser's read-ahead buffer, never by the
//!   file's length.
//! - [`record_line`] turns the reader's position after a record (the byte after
//!   its terminator, and the parser's count of `\n` bytes up to there, which
//!   the csv crate documents as exact) into the 1-based line on which the
//!   record *starts*: the line of its last byte, less the newlines inside its
//!   quoted fields. Only records with newlines between them and the previous
//!   record have their bytes looked at, so the cost on the hot path is a few
//!   integer operations per record.
//! - [`describe`] prints a `csv::Error` without the crate's (wrong) position,
//!   for messages that name the line themselves.

use std::collections::VecDeque;
use std::io::Read;

/// A reader that notes what a `csv::Reader` above it cannot tell: whether
/// the last byte of a record is a `\n` (the parser counts every `\n` it
/// reads, but a record may end in the `\r` of a CRLF, or at the end of the
/// file with no line end at all).
///
/// It keeps the offsets of the `\r` bytes it hands out (none in most files)
/// and the last byte handed out. Made for a consumer that, like
/// `csv::Reader`'s buffer, consumes everything it was given before it reads
/// again: at each read, `\r` offsets before the last byte handed out are
/// dropped, so memory is bounded by one read, never by the file.
#[derive(Debug)]
pub struct LineCounter<R> {
    inner: R,
    /// Bytes handed out so far.
    delivered: u64,
    /// The last byte handed out.
    last_byte: Option<u8>,
    /// Offsets of `\r` bytes handed out and not yet passed by a query, ascending.
    returns: VecDeque<u64>,
    /// The line of the last byte of the previous record ([`record_line`]), 1 before any.
    prev_line: u64,
    /// Whether that byte is a `\n`.
    prev_newline: bool,
}

impl<R> LineCounter<R> {
    /// Watch the bytes of `inner` from its current position (byte 0).
    pub fn new(inner: R) -> LineCounter<R> {
        LineCounter { inner, delivered: 0, last_byte: None, returns: VecDeque::new(), prev_line: 1, prev_newline: false }
    }

    /// The wrapped reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Whether the byte at `offset` ends a record with `\n`, given that it is
    /// the last byte of a record: at the end of what was handed out it is that
    /// byte; before it, the parser ended the record on a line end, `\r` or `\n`.
    /// Queries must not go backwards, nor below the last byte handed out
    /// before the latest read.
    fn ends_with_newline(&mut self, offset: u64) -> bool {
        if offset + 1 >= self.delivered {
            return self.last_byte == Some(b'\n');
        }
        while self.returns.front().is_some_and(|&o| o < offset) {
            self.returns.pop_front();
        }
        self.returns.front() != Some(&offset)
    }

    /// For a record whose last byte is at `last`, after which the parser has
    /// counted `lines_after` (1 + the `\n` bytes before `last + 1`): the line
    /// of `last`, and how many newlines lie between the previous record's
    /// last byte and this one's, excluding both.
    fn record_end(&mut self, last: u64, lines_after: u64) -> (u64, u64) {
        let newline = self.ends_with_newline(last);
        let line = lines_after - u64::from(newline);
        let between = line.saturating_sub(self.prev_line + u64::from(self.prev_newline));
        self.prev_line = line;
        self.prev_newline = newline;
        (line, between)
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Everything handed out so far has been consumed: no query will ask
        // about a byte before the last one.
        let floor = self.delivered.saturating_sub(1);
        while self.returns.front().is_some_and(|&o| o < floor) {
            self.returns.pop_front();
        }
        let n = self.inner.read(buf)?;
        let base = self.delivered;
        self.returns.extend(memchr::memchr_iter(b'\r', &buf[..n]).map(|i| base + i as u64));
        if n > 0 {
            self.last_byte = Some(buf[n - 1]);
        }
        self.delivered += n as u64;
        Ok(n)
    }
}

/// The 1-based line on which the record `rdr` has just read (or just failed
/// on, for an error that keeps the record, such as unequal lengths) starts.
///
/// Blank lines, `#` comment lines and CRLF line ends before it are not part of
/// it; a record whose quoted fields hold newlines starts on its first line.
/// The reader must use the default terminator (CRLF: `\r`, `\n` or both).
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
    let lines_after = rdr.position().line();
    let (line, between) = rdr.get_mut().record_end(last, lines_after);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, first field) of every record, read with a `cap`-byte buffer.
    fn lines(text: &[u8], comment: bool, cap: usize) -> Vec<(u64, String)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(comment.then_some(b'#'))
            .buffer_capacity(cap)
            .from_reader(LineCounter::new(text));
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let line = record_line(&mut rdr, &rec);
            out.push((line, String::from_utf8_lossy(rec.get(0).unwrap_or_default()).into_owned()));
        }
        out
    }

    /// The same, the slow way: from each record's csv position skip what the
    /// parser skips (line ends, comment lines), then count newlines before.
    fn slow(text: &[u8], comment: bool) -> Vec<(u64, String)> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).comment(comment.then_some(b'#')).from_reader(text);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let mut i = usize::try_from(rec.position().unwrap().byte()).unwrap();
            loop {
                match text.get(i) {
                    Some(b'\r' | b'\n') => i += 1,
                    Some(b'#') if comment => i += text[i..].iter().position(|&c| c == b'\n').map_or(text.len() - i, |n| n + 1),
                    _ => break,
                }
            }
            let line = 1 + text[..i].iter().filter(|&&c| c == b'\n').count() as u64;
            out.push((line, String::from_utf8_lossy(rec.get(0).unwrap_or_default()).into_owned()));
        }
        out
    }

    fn at(pairs: &[(u64, &str)]) -> Vec<(u64, String)> {
        pairs.iter().map(|(l, f)| (*l, f.to_string())).collect()
    }

    /// Every buffer size from 1 byte up, and the readers' 64 KiB.
    fn check(text: &str, comment: bool, want: &[(u64, &str)]) {
        for cap in (1..=12).chain([64, 1 << 16]) {
            assert_eq!(lines(text.as_bytes(), comment, cap), at(want), "buffer {cap}: {text:?}");
        }
        assert_eq!(slow(text.as_bytes(), comment), at(want), "slow: {text:?}");
    }

    #[test]
    fn blank_and_comment_lines_are_counted() {
        check("h\n# comment\n\nc1\n", true, &[(1, "h"), (4, "c1")]);
        check("h\n# c\n\nc1\n", false, &[(1, "h"), (2, "# c"), (4, "c1")]);
        check("\n\n\nh\n\n\n\na\nb\n\n", false, &[(4, "h"), (8, "a"), (9, "b")]);
        check("# only\n#\n", true, &[]);
        check("#a\n\n#b\nx", true, &[(4, "x")]);
    }

    #[test]
    fn crlf_is_one_line_end() {
        check("h\r\na\r\n\r\nb\r\n", false, &[(1, "h"), (2, "a"), (4, "b")]);
        check("h\r\n# x\r\n\r\na\r\nb", true, &[(1, "h"), (4, "a"), (5, "b")]);
        check("h\r\n\n\r\r\na\n", false, &[(1, "h"), (4, "a")]);
    }

    #[test]
    fn quoted_newlines_start_on_the_first_line() {
        check("h\n\n\n\"x\ny\",1\nnext\n", false, &[(1, "h"), (4, "x\ny"), (6, "next")]);
        check("h\r\n\"a\r\n\r\nb\"\r\nc\r\n", false, &[(1, "h"), (2, "a\r\n\r\nb"), (5, "c")]);
        check("\"1\n2\n3\",\"4\n5\"\n\n\"6\n7\"", false, &[(1, "1\n2\n3"), (6, "6\n7")]);
        // Only newlines in the record count: a field ending in one, then blank lines.
        check("a,\"b\n\"\n\n\nz\n", false, &[(1, "a"), (5, "z")]);
    }

    #[test]
    fn no_newline_at_the_end_and_bom() {
        check("a\nb", false, &[(1, "a"), (2, "b")]);
        // The parser drops a BOM (not with a buffer smaller than it, a csv quirk).
        let bom = "\u{feff}h\n\nx\n".as_bytes();
        assert_eq!(lines(bom, false, 1 << 16), at(&[(1, "h"), (3, "x")]));
        assert_eq!(slow(bom, false), at(&[(1, "h"), (3, "x")]));
        check("", false, &[]);
        check("\n", false, &[]);
    }

    #[test]
    fn records_across_the_64k_buffer() {
        // Blank lines and quoted newlines around every place the default
        // buffer is refilled; the slow count is the reference.
        let mut text = String::from("h,v\n");
        let mut i = 0u32;
        while text.len() < 300_000 {
            text.push_str(&format!("r{i},{}\n", "x".repeat((i % 97) as usize)));
            match i % 7 {
                0 => text.push('\n'),
                1 => text.push_str("# c\n"),
                2 => text.push_str(&format!("\"q{i}\n\n{}\",2\r\n", "y".repeat((i % 13) as usize))),
                _ => {}
            }
            i += 1;
        }
        for comment in [false, true] {
            let want = slow(text.as_bytes(), comment);
            assert!(want.len() > 4000);
            for cap in [1 << 16, 4096, 1000, 7] {
                assert_eq!(lines(text.as_bytes(), comment, cap), want, "buffer {cap}");
            }
        }
    }

    #[test]
    fn memory_does_not_grow_with_the_file() {
        // 500,000 blank CRLF lines before the only record: nothing asks for a
        // line until the end, yet the `\r` offsets noted stay within one buffer.
        let mut text = "\r\n".repeat(500_000);
        text.push_str("a,b\n");
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).buffer_capacity(1 << 16).from_reader(LineCounter::new(text.as_bytes()));
        let mut rec = csv::ByteRecord::new();
        assert!(rdr.read_byte_record(&mut rec).unwrap());
        assert_eq!(record_line(&mut rdr, &rec), 500_001);
        assert!(rdr.get_mut().returns.capacity() <= 2 << 16, "{}", rdr.get_mut().returns.capacity());
    }

    #[test]
    fn errors_lose_the_crates_position() {
        let mut rdr = csv::ReaderBuilder::new().from_reader(LineCounter::new(&b"a,b\n\n\n1,2,3\n"[..]));
        let mut rec = csv::ByteRecord::new();
        let e = rdr.read_byte_record(&mut rec).unwrap_err();
        assert_eq!(describe(&e), "expected 2 fields as in the header, found 3");
        assert_eq!(record_line(&mut rdr, &rec), 4);
    }
}
