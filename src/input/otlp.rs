//! OTLP/JSON trace input: `ExportTraceServiceRequest` documents
//! (`{"resourceSpans":[{"resource":{...},"scopeSpans":[{"spans":[...]}]}]}`,
//! the older `instrumentationLibrarySpans` and the proto field names
//! `resource_spans`/`scope_spans`/... are accepted too).
//!
//! Owns: turning client and producer spans into canonical rows, and the
//! choice of the peer from span attributes (facts.md, "Naming the peer of a
//! client span"). Leaves the rule to `crate::rule` and the default cluster and
//! the no-peer check to [`ReadOpts::finish`].
//!
//! Layout. If the first non-blank line alone is a complete JSON value — or is
//! broken JSON that is not merely cut short — the input is JSON lines, one
//! document per line as the collector's file exporter writes it, streamed line
//! by line. Otherwise the whole input is read at once as one document (a
//! pretty-printed file) or several concatenated ones.
//!
//! Records. A record is a span: one event per span. Client (3) and producer
//! (4) spans are rows; every other kind is `Skip("not a client span")`; a
//! document with no span at all is `Skip("no spans")`. A document that is not
//! JSON, not UTF-8 or not shaped like a request is one reject at the line it
//! starts on (raw: the document; for a broken multi-line document, the rest of
//! the input; either put on one line, as `--rejects` writes one reject per
//! line). A span that cannot be used is a reject of its own (raw: the
//! span, compacted to one line). Rows carry the line their span starts on:
//! the document's line in JSON lines, the span's own line in a pretty file.
//!
//! Mapping. src = resource `service.name`; cluster = resource
//! `k8s.cluster.name`; timestamp = `startTimeUnixNano` as written (always
//! nanoseconds); duration = end − start (0 if either is missing or end <
//! start); is_error = status code 2 / `STATUS_CODE_ERROR`; protocol =
//! `rpc.system` > `db.system` > `messaging.system` > `http` (any `http.*` or
//! `url.*` attribute) > `network.protocol.name` > `network.transport` >
//! `net.transport`. dest_ip = the socket address `network.peer.address` >
//! `net.sock.peer.addr` > `net.peer.ip`, without a port (the port is not part
//! of what is classified and would split edges); dest = the most human name
//! `peer.service` > `server.address` > `net.peer.name` > host of `url.full` >
//! host of `http.url` > `db.name`. Empty attribute values count as absent.

use std::borrow::Cow;
use std::io::BufRead;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{for_each_line, Event, ReadOpts, Reject, Sink, SpanRef};
use crate::error::{Error, Result};

/// A JSON scalar where OTLP/JSON allows a string or a number (64-bit
/// integers are strings in proto3 JSON; enums are names or numbers).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Loose<'a> {
    /// A string.
    #[serde(borrow)]
    Str(Cow<'a, str>),
    /// A non-negative integer.
    U(u64),
    /// A negative integer.
    I(i64),
    /// A number with a fraction or exponent.
    F(f64),
    /// A boolean.
    B(bool),
    /// Anything else (object, array, null), kept for the message.
    Other(serde_json::Value),
}

impl Loose<'_> {
    /// The value as text: strings as written, others in JSON form.
    pub(super) fn text(&self) -> Cow<'_, str> {
        match self {
            Loose::Str(s) => Cow::Borrowed(s.as_ref()),
            Loose::U(n) => Cow::Owned(n.to_string()),
            Loose::I(n) => Cow::Owned(n.to_string()),
            Loose::F(f) => Cow::Owned(float_text(*f)),
            Loose::B(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Loose::Other(v) => Cow::Owned(v.to_string()),
        }
    }

    /// The value as a non-negative integer (a JSON number or a string of digits).
    pub(super) fn as_u64(&self) -> Option<u64> {
        match self {
            Loose::Str(s) => {
                let t = s.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    t.parse().ok()
                }
            }
            Loose::U(n) => Some(*n),
            Loose::F(f) if f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19 => Some(*f as u64),
            _ => None,
        }
    }
}

/// A JSON float as JSON writes it (`1.5e300`, not 300 digits), so a
/// message quotes it the way the input probably did.
pub(super) fn float_text(f: f64) -> String {
    serde_json::Number::from_f64(f).map_or_else(|| f.to_string(), |n| n.to_string())
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, rename = "resourceSpans", alias = "resource_spans")]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow)]
    resource: Option<Resource<'a>>,
    #[serde(borrow, rename = "scopeSpans", alias = "scope_spans")]
    scope_spans: Option<Vec<ScopeSpans<'a>>>,
    #[serde(borrow, rename = "instrumentationLibrarySpans", alias = "instrumentation_library_spans")]
    library_spans: Option<Vec<ScopeSpans<'a>>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow)]
    attributes: Option<Vec<KeyValue<'a>>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    /// Kept raw: each span is parsed on its own so one bad span is one reject.
    #[serde(borrow)]
    spans: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Span<'a> {
    #[serde(borrow)]
    kind: Option<Loose<'a>>,
    #[serde(borrow, rename = "startTimeUnixNano", alias = "start_time_unix_nano")]
    start: Option<Loose<'a>>,
    #[serde(borrow, rename = "endTimeUnixNano", alias = "end_time_unix_nano")]
    end: Option<Loose<'a>>,
    #[serde(borrow)]
    attributes: Option<Vec<KeyValue<'a>>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
}

#[derive(Deserialize)]
struct Status<'a> {
    #[serde(borrow)]
    code: Option<Loose<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<AnyValue<'a>>,
}

/// The scalar variants of `AnyValue`; arrays, kvlists and bytes are skipped
/// unparsed (no attribute netmap reads holds one).
#[derive(Deserialize)]
struct AnyValue<'a> {
    #[serde(borrow, rename = "stringValue", alias = "string_value")]
    string: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "intValue", alias = "int_value")]
    int: Option<Loose<'a>>,
    #[serde(borrow, rename = "boolValue", alias = "bool_value")]
    boolean: Option<Loose<'a>>,
    #[serde(borrow, rename = "doubleValue", alias = "double_value")]
    double: Option<Loose<'a>>,
}

impl<'a> AnyValue<'a> {
    /// The value as trimmed text; `None` when empty or not a scalar.
    fn text(&self) -> Option<Cow<'a, str>> {
        let t: Cow<'a, str> = if let Some(s) = &self.string {
            s.clone()
        } else if let Some(v) = self.int.as_ref().or(self.boolean.as_ref()).or(self.double.as_ref()) {
            Cow::Owned(v.text().into_owned())
        } else {
            return None;
        };
        let trimmed = t.trim();
        if trimmed.is_empty() {
            None
        } else if trimmed.len() == t.len() {
            Some(t)
        } else {
            Some(Cow::Owned(trimmed.to_string()))
        }
    }
}

/// The span attributes netmap reads, in [`Attrs`] slot order.
const SPAN_KEYS: [&str; 15] = [
    "network.peer.address",  // 0
    "net.sock.peer.addr",    // 1
    "net.peer.ip",           // 2
    "peer.service",          // 3
    "server.address",        // 4
    "net.peer.name",         // 5
    "url.full",              // 6
    "http.url",              // 7
    "db.name",               // 8
    "rpc.system",            // 9
    "db.system",             // 10
    "messaging.system",      // 11
    "network.protocol.name", // 12
    "network.transport",     // 13
    "net.transport",         // 14
];

/// The values of [`SPAN_KEYS`] found on one span (first occurrence wins).
struct Attrs<'a> {
    vals: [Option<Cow<'a, str>>; SPAN_KEYS.len()],
    any_http: bool,
}

impl<'a> Attrs<'a> {
    fn of(attrs: &[KeyValue<'a>]) -> Attrs<'a> {
        let mut a = Attrs { vals: Default::default(), any_http: false };
        for kv in attrs {
            let Some(key) = kv.key.as_deref() else { continue };
            if key.starts_with("http.") || key.starts_with("url.") {
                a.any_http = true;
            }
            if let Some(i) = SPAN_KEYS.iter().position(|k| *k == key) {
                if a.vals[i].is_none() {
                    a.vals[i] = kv.value.as_ref().and_then(AnyValue::text);
                }
            }
        }
        a
    }

    fn get(&self, i: usize) -> Option<&str> {
        self.vals[i].as_deref()
    }

    fn first(&self, slots: &[usize]) -> Option<&str> {
        slots.iter().find_map(|&i| self.get(i))
    }

    /// The socket address, as written (without any port attribute).
    fn dest_ip(&self) -> &str {
        self.first(&[0, 1, 2]).unwrap_or("")
    }

    /// The most human name of the peer.
    fn dest(&self) -> Cow<'_, str> {
        if let Some(n) = self.first(&[3, 4, 5]) {
            return Cow::Borrowed(n);
        }
        if let Some(h) = [6, 7].iter().find_map(|&i| self.get(i).and_then(url_host)) {
            return Cow::Owned(h);
        }
        Cow::Borrowed(self.get(8).unwrap_or(""))
    }

    fn protocol(&self) -> &str {
        if let Some(p) = self.first(&[9, 10, 11]) {
            return p;
        }
        if self.any_http {
            return "http";
        }
        self.first(&[12, 13, 14]).unwrap_or("")
    }
}

/// The host of an absolute URL (`scheme://[user@]host[:port]/...`),
/// lowercased, brackets and port removed; `None` for anything else.
fn url_host(u: &str) -> Option<String> {
    let (_, rest) = u.split_once("://")?;
    let auth = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if let Some(r) = host.strip_prefix('[') {
        &r[..r.find(']')?]
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a span kind is a call to classify (client or producer);
/// `Err` names a value that is no span kind.
fn is_call(kind: Option<&Loose<'_>>) -> std::result::Result<bool, String> {
    let bad = |k: &Loose<'_>| format!("key kind: {} is not a span kind (0-5 or SPAN_KIND_...)", k.text());
    let Some(k) = kind else { return Ok(false) }; // unspecified
    let n = match k {
        Loose::Str(s) => {
            let u = s.trim().to_ascii_uppercase();
            match u.strip_prefix("SPAN_KIND_").unwrap_or(&u) {
                "CLIENT" | "PRODUCER" => return Ok(true),
                "UNSPECIFIED" | "INTERNAL" | "SERVER" | "CONSUMER" => return Ok(false),
                _ => k.as_u64().ok_or_else(|| bad(k))?,
            }
        }
        _ => k.as_u64().ok_or_else(|| bad(k))?,
    };
    match n {
        3 | 4 => Ok(true),
        0..=5 => Ok(false),
        _ => Err(bad(k)),
    }
}

fn is_error_status(status: Option<&Status<'_>>) -> bool {
    match status.and_then(|s| s.code.as_ref()) {
        Some(Loose::Str(s)) => {
            let u = s.trim().to_ascii_uppercase();
            matches!(u.as_str(), "STATUS_CODE_ERROR" | "ERROR" | "2")
        }
        Some(c) => c.as_u64() == Some(2),
        None => false,
    }
}

/// Turns byte offsets in a text into 1-based line numbers, moving forward only.
struct Lines<'t> {
    text: &'t str,
    pos: usize,
    line: u64,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str, first_line: u64) -> Self {
        Lines { text, pos: 0, line: first_line }
    }

    /// The line of byte `off` (offsets must not decrease).
    fn at(&mut self, off: usize) -> u64 {
        let off = off.min(self.text.len());
        if off > self.pos {
            self.line += self.text.as_bytes()[self.pos..off].iter().filter(|&&b| b == b'\n').count() as u64;
            self.pos = off;
        }
        self.line
    }

    /// The line of `part`, a slice of the text.
    fn of(&mut self, part: &str) -> u64 {
        let off = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        self.at(off)
    }
}

/// Checks a document that does not start with `{` (serde would read a
/// struct from an array too): `None` for an object or empty text, else what
/// the first value is (`an array`, `a number`, ...) or why it is not JSON.
pub(super) fn non_object(text: &str) -> Option<std::result::Result<&'static str, serde_json::Error>> {
    let t = text.trim_start();
    if t.starts_with('{') {
        return None;
    }
    let first = serde_json::Deserializer::from_str(t).into_iter::<IgnoredAny>().next()?;
    Some(first.map(|_| match t.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }))
}

/// A reject for a document that is not a JSON object.
fn not_object_reject<'r>(line: u64, raw: &'r [u8], what: std::result::Result<&str, serde_json::Error>) -> Event<'r> {
    match what {
        Ok(what) => {
            let reason = format!("not an OTLP ExportTraceServiceRequest: expected a JSON object, found {what}");
            Event::Reject(Reject { line, class: "otlp", reason, raw: one_line(raw) })
        }
        Err(e) => doc_reject(line, raw, &e),
    }
}

/// A reject for a whole document (not JSON, not UTF-8, not a request).
fn doc_reject<'r>(line: u64, raw: &'r [u8], e: &serde_json::Error) -> Event<'r> {
    let (class, reason) = if e.is_data() {
        ("otlp", format!("not an OTLP ExportTraceServiceRequest: {e}"))
    } else {
        ("json", format!("invalid JSON: {e}"))
    };
    Event::Reject(Reject { line, class, reason, raw: one_line(raw) })
}

/// A whole document as one line for `--rejects` (one reject, one line): raw
/// line breaks in JSON can only be whitespace, so they become spaces; a
/// broken pretty-printed document stays readable and greppable.
fn one_line(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.contains(&b'\n') || raw.contains(&b'\r') {
        Cow::Owned(raw.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw)
    }
}

/// A span as one line for `--rejects`.
fn compact(raw: &RawValue) -> Cow<'_, [u8]> {
    let s = raw.get();
    if !s.contains(['\n', '\r']) {
        return Cow::Borrowed(s.as_bytes());
    }
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v) => Cow::Owned(v.to_string().into_bytes()),
        // Too deeply nested to rebuild: newlines inside JSON are whitespace.
        Err(_) => Cow::Owned(s.replace(['\n', '\r'], " ").into_bytes()),
    }
}

/// Emit the events of one parsed document.
fn emit_request(req: &Request<'_>, lines: &mut Lines<'_>, doc_line: u64, raw_doc: &[u8], opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    let Some(rss) = &req.resource_spans else {
        let reason = "not an OTLP ExportTraceServiceRequest: no resourceSpans key".to_string();
        return sink(Event::Reject(Reject { line: doc_line, class: "otlp", reason, raw: one_line(raw_doc) }));
    };
    let mut spans_seen = 0u64;
    for (ri, rs) in rss.iter().enumerate() {
        let mut src: Option<Cow<'_, str>> = None;
        let mut cluster: Option<Cow<'_, str>> = None;
        for kv in rs.resource.as_ref().and_then(|r| r.attributes.as_deref()).unwrap_or_default() {
            match kv.key.as_deref() {
                Some("service.name") if src.is_none() => src = kv.value.as_ref().and_then(AnyValue::text),
                Some("k8s.cluster.name") if cluster.is_none() => cluster = kv.value.as_ref().and_then(AnyValue::text),
                _ => {}
            }
        }
        let (src, cluster) = (src.as_deref().unwrap_or(""), cluster.as_deref().unwrap_or(""));
        let groups = [("scopeSpans", &rs.scope_spans), ("instrumentationLibrarySpans", &rs.library_spans)];
        for (group, scopes) in groups {
            for (si, scope) in scopes.as_deref().unwrap_or_default().iter().enumerate() {
                for (pi, raw) in scope.spans.as_deref().unwrap_or_default().iter().enumerate() {
                    spans_seen += 1;
                    let line = lines.of(raw.get());
                    let at = || format!("resourceSpans[{ri}].{group}[{si}].spans[{pi}]");
                    span_event(raw, line, src, cluster, opts, sink, at)?;
                }
            }
        }
    }
    if spans_seen == 0 {
        sink(Event::Skip("no spans"))?;
    }
    Ok(())
}

/// The event of one span: a row, a skip (no call) or a reject (`at` names the span).
fn span_event(
    raw: &RawValue,
    line: u64,
    src: &str,
    cluster: &str,
    opts: &ReadOpts,
    sink: &mut Sink<'_>,
    at: impl Fn() -> String,
) -> Result<()> {
    let reject = |(class, reason): (&'static str, String)| {
        Event::Reject(Reject { line, class, reason: format!("{}: {reason}", at()), raw: compact(raw) })
    };
    let span: Span<'_> = match serde_json::from_str(raw.get()) {
        Ok(s) => s,
        Err(e) => return sink(reject(("otlp", format!("not an OTLP span: {e}")))),
    };
    match is_call(span.kind.as_ref()) {
        Ok(true) => {}
        Ok(false) => return sink(Event::Skip("not a client span")),
        Err(m) => return sink(reject(("kind", m))),
    }
    let nanos = |v: &Option<Loose<'_>>, key: &str| -> std::result::Result<Option<u64>, (&'static str, String)> {
        match v {
            None => Ok(None),
            Some(Loose::Str(s)) if s.trim().is_empty() => Ok(None),
            Some(t) => t
                .as_u64()
                .map(Some)
                .ok_or_else(|| ("timestamp", format!("key {key}: {} is not Unix nanoseconds (a non-negative integer)", t.text()))),
        }
    };
    let times = nanos(&span.start, "startTimeUnixNano").and_then(|s| Ok((s, nanos(&span.end, "endTimeUnixNano")?)));
    let (start, end) = match times {
        Ok(t) => t,
        Err(e) => return sink(reject(e)),
    };
    let timestamp_ns = match start.map(i64::try_from) {
        None => 0,
        Some(Ok(t)) => t,
        Some(Err(_)) => return sink(reject(("timestamp", format!("key startTimeUnixNano: {} is out of range", start.unwrap_or(0))))),
    };
    let timestamp = match &span.start {
        Some(t) if start.is_some() => t.text(),
        _ => Cow::Borrowed(""),
    };
    let duration_ns = match (start, end) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        _ => 0,
    };
    let attrs = Attrs::of(span.attributes.as_deref().unwrap_or_default());
    let dest = attrs.dest();
    let row = SpanRef {
        line,
        timestamp: timestamp.trim(),
        timestamp_ns,
        cluster,
        src,
        dest: &dest,
        dest_ip: attrs.dest_ip(),
        protocol: attrs.protocol(),
        duration_ns,
        is_error: is_error_status(span.status.as_ref()),
    };
    match opts.finish(row) {
        Ok(row) => sink(Event::Row(row)),
        Err(e) => sink(reject(e)),
    }
}

/// Parse and emit one JSON-lines document.
fn read_line_doc(line: u64, bytes: &[u8], opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let reason = format!("invalid UTF-8 at byte {}", e.valid_up_to());
            return sink(Event::Reject(Reject { line, class: "utf8", reason, raw: Cow::Borrowed(bytes) }));
        }
    };
    if let Some(what) = non_object(text) {
        return sink(not_object_reject(line, bytes, what));
    }
    match serde_json::from_str::<Request<'_>>(text) {
        Ok(req) => emit_request(&req, &mut Lines::new(text, line), line, bytes, opts, sink),
        Err(e) => sink(doc_reject(line, bytes, &e)),
    }
}

/// Parse and emit a whole input of one or more (pretty-printed) documents.
fn read_whole(text: &[u8], opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    let first_line = |upto: usize| 1 + text[..upto].iter().filter(|&&b| b == b'\n').count() as u64;
    let start_of = |from: usize| from + text[from..].iter().take_while(|b| b.is_ascii_whitespace()).count();
    let text_str = match std::str::from_utf8(text) {
        Ok(t) => t,
        Err(e) => {
            let bad = e.valid_up_to();
            let start = start_of(0);
            let reason = format!("invalid UTF-8 at line {}, byte {bad}", first_line(bad));
            return sink(Event::Reject(Reject { line: first_line(start), class: "utf8", reason, raw: one_line(text[start..].trim_ascii_end()) }));
        }
    };
    let mut lines = Lines::new(text_str, 1);
    let mut stream = serde_json::Deserializer::from_str(text_str).into_iter::<Request<'_>>();
    let mut end = 0;
    loop {
        let start = start_of(end);
        if start >= text.len() {
            return Ok(());
        }
        if let Some(what) = non_object(&text_str[start..]) {
            return sink(not_object_reject(first_line(start), text[start..].trim_ascii_end(), what));
        }
        match stream.next() {
            None => return Ok(()),
            Some(Ok(req)) => {
                end = stream.byte_offset();
                let doc_line = lines.at(start);
                emit_request(&req, &mut lines, doc_line, &text[start..end], opts, sink)?;
            }
            Some(Err(e)) => {
                let raw = text[start..].trim_ascii_end();
                return sink(doc_reject(first_line(start), raw, &e));
            }
        }
    }
}

/// Read OTLP/JSON from `r` (see the module docs for the layout rules).
pub fn read(r: &mut dyn BufRead, opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    let io = |e| Error::io(&opts.name, e);
    // Everything up to and including the first non-blank line.
    let mut head = Vec::new();
    let mut line = 0u64;
    let first_start = loop {
        let start = head.len();
        if r.read_until(b'\n', &mut head).map_err(io)? == 0 {
            return Ok(()); // empty or blank input: no records
        }
        line += 1;
        if line == 1 && head.starts_with(b"\xef\xbb\xbf") {
            head.drain(..3);
        }
        if !head[start..].iter().all(u8::is_ascii_whitespace) {
            break start;
        }
    };
    let first = head[first_start..].trim_ascii_end();
    let one_per_line = match serde_json::from_slice::<IgnoredAny>(first) {
        Ok(_) => true,
        Err(e) => !e.is_eof(),
    };
    if one_per_line {
        read_line_doc(line, first, opts, sink)?;
        for_each_line(r, |n, bytes| {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            read_line_doc(line + n, bytes, opts, sink)
        })
        .map_err(io)?
    } else {
        r.read_to_end(&mut head).map_err(io)?;
        read_whole(&head, opts, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::SpanRow;

    use crate::input::testing::Got;

    fn read_with(input: &[u8], cluster: Option<&str>) -> Vec<Got> {
        crate::input::testing::collect(read, input, "t.json", cluster)
    }

    fn read_all(input: &str) -> Vec<Got> {
        read_with(input.as_bytes(), Some("dflt"))
    }

    fn rows(got: &[Got]) -> Vec<&SpanRow> {
        got.iter().filter_map(|g| if let Got::Row(r) = g { Some(r) } else { None }).collect()
    }

    fn rejects(got: &[Got]) -> Vec<(u64, &'static str, &str)> {
        got.iter()
            .filter_map(|g| if let Got::Reject { line, class, reason, .. } = g { Some((*line, *class, reason.as_str())) } else { None })
            .collect()
    }

    fn skips(got: &[Got]) -> Vec<&'static str> {
        got.iter().filter_map(|g| if let Got::Skip(s) = g { Some(*s) } else { None }).collect()
    }

    /// A one-line document: one resource with `res` attributes and the given spans.
    fn doc(res: &str, spans: &[String]) -> String {
        format!(r#"{{"resourceSpans":[{{"resource":{{"attributes":[{res}]}},"scopeSpans":[{{"scope":{{"name":"t"}},"spans":[{}]}}]}}]}}"#, spans.join(","))
    }

    fn s(k: &str, v: &str) -> String {
        format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#)
    }

    fn span(kind: &str, attrs: &[String], extra: &str) -> String {
        format!(
            r#"{{"traceId":"01","spanId":"02","name":"op","kind":{kind},"startTimeUnixNano":"1714564800000000000","endTimeUnixNano":"1714564800002500000","attributes":[{}]{extra}}}"#,
            attrs.join(",")
        )
    }

    const RES: &str = r#"{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"k8s.cluster.name","value":{"stringValue":"prod"}}"#;

    #[test]
    fn client_span_new_semconv() {
        let sp = span(
            r#""SPAN_KIND_CLIENT""#,
            &[
                s("http.request.method", "GET"),
                s("server.address", "api.stripe.com"),
                r#"{"key":"server.port","value":{"intValue":"443"}}"#.to_string(),
                s("network.peer.address", "54.187.174.169"),
                r#"{"key":"network.peer.port","value":{"intValue":443}}"#.to_string(),
                s("url.full", "https://api.stripe.com/v1/charges"),
            ],
            r#","status":{"code":"STATUS_CODE_ERROR","message":"boom"}"#,
        );
        let got = read_all(&doc(RES, &[sp]));
        assert_eq!(
            got,
            vec![Got::Row(SpanRow {
                line: 1,
                timestamp: "1714564800000000000".into(),
                timestamp_ns: 1_714_564_800_000_000_000,
                cluster: "prod".into(),
                src: "checkout".into(),
                dest: "api.stripe.com".into(),
                dest_ip: "54.187.174.169".into(),
                protocol: "http".into(),
                duration_ns: 2_500_000,
                is_error: true,
            })]
        );
    }

    #[test]
    fn client_span_old_semconv_and_instrumentation_library_spans() {
        // Old names, numeric kind and times, the pre-1.0 grouping key, no cluster on the resource.
        let input = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"user-service"}}]},
            "instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"old"},"spans":[
              {"kind":3,"startTimeUnixNano":1714564800000000000,"endTimeUnixNano":1714564800001000000,"status":{"code":2},
               "attributes":[{"key":"net.peer.name","value":{"stringValue":"Orders.Default.svc.cluster.local"}},
                             {"key":"net.sock.peer.addr","value":{"stringValue":"10.96.0.12"}},
                             {"key":"net.peer.ip","value":{"stringValue":"10.1.1.1"}},
                             {"key":"http.url","value":{"stringValue":"http://orders/v1"}},
                             {"key":"net.transport","value":{"stringValue":"ip_tcp"}}]},
              {"kind":3,"startTimeUnixNano":"1714564800000000000","status":{"code":"STATUS_CODE_OK"},
               "attributes":[{"key":"net.peer.ip","value":{"stringValue":"192.168.254.80"}},
                             {"key":"net.peer.port","value":{"intValue":"5432"}}]},
              {"kind":3,"startTimeUnixNano":"1714564800000000000",
               "attributes":[{"key":"http.url","value":{"stringValue":"https://user:pw@API.Example.com:8443/x?y#z"}}]}
            ]}]}]}"#;
        let got = read_all(input);
        let r = rows(&got);
        assert_eq!(r.len(), 3, "{got:?}");
        // The document is pretty-printed, so each row carries its span's own line.
        assert_eq!((r[0].line, r[1].line, r[2].line), (3, 9, 12));
        assert_eq!((r[0].cluster.as_str(), r[0].src.as_str()), ("dflt", "user-service"));
        assert_eq!((r[0].dest.as_str(), r[0].dest_ip.as_str()), ("Orders.Default.svc.cluster.local", "10.96.0.12"));
        assert_eq!((r[0].protocol.as_str(), r[0].duration_ns, r[0].is_error), ("http", 1_000_000, true));
        assert_eq!(r[0].timestamp, "1714564800000000000");
        assert_eq!((r[1].dest.as_str(), r[1].dest_ip.as_str(), r[1].protocol.as_str()), ("", "192.168.254.80", ""));
        assert_eq!((r[1].duration_ns, r[1].is_error), (0, false), "no end time: duration 0");
        assert_eq!((r[2].dest.as_str(), r[2].dest_ip.as_str()), ("api.example.com", ""));
    }

    #[test]
    fn protocol_and_dest_precedence() {
        let cases: &[(&[String], &str, &str, &str)] = &[
            (&[s("rpc.system", "grpc"), s("peer.service", "payments"), s("server.address", "10.0.0.9"), s("http.method", "POST")], "grpc", "payments", ""),
            (&[s("db.system", "postgresql"), s("db.name", "orders"), s("network.peer.address", "10.0.3.4")], "postgresql", "orders", "10.0.3.4"),
            (&[s("messaging.system", "kafka"), s("server.address", "kafka-0.kafka")], "kafka", "kafka-0.kafka", ""),
            (&[s("url.full", "http://[fd00::1]:8080/x")], "http", "fd00::1", ""),
            (&[s("network.protocol.name", "amqp"), s("network.transport", "tcp"), s("server.address", "rabbit")], "amqp", "rabbit", ""),
            (&[s("network.transport", "udp"), s("network.peer.address", "8.8.8.8")], "udp", "", "8.8.8.8"),
            (&[s("server.address", " "), s("net.peer.name", "fallback")], "", "fallback", ""),
        ];
        for (attrs, proto, dest, dest_ip) in cases {
            let got = read_all(&doc(RES, &[span("4", attrs, "")]));
            let r = rows(&got);
            assert_eq!(r.len(), 1, "{attrs:?}: {got:?}");
            assert_eq!((r[0].protocol.as_str(), r[0].dest.as_str(), r[0].dest_ip.as_str()), (*proto, *dest, *dest_ip), "{attrs:?}");
        }
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://api.stripe.com/v1").as_deref(), Some("api.stripe.com"));
        assert_eq!(url_host("http://u:p@Host.Example:80").as_deref(), Some("host.example"));
        assert_eq!(url_host("http://[::1]:9000/").as_deref(), Some("::1"));
        assert_eq!(url_host("http://10.0.0.1:8080?x").as_deref(), Some("10.0.0.1"));
        assert_eq!(url_host("grpc://example.com.").as_deref(), Some("example.com"));
        assert_eq!(url_host("/relative/path"), None);
        assert_eq!(url_host("http:///x"), None);
    }

    #[test]
    fn kinds() {
        let peer = [s("server.address", "redis")];
        let kinds = [
            ("3", true),
            ("4", true),
            (r#""SPAN_KIND_PRODUCER""#, true),
            (r#""3""#, true),
            ("0", false),
            ("1", false),
            ("2", false),
            ("5", false),
            (r#""SPAN_KIND_SERVER""#, false),
            (r#""SPAN_KIND_CONSUMER""#, false),
            (r#""SPAN_KIND_INTERNAL""#, false),
        ];
        for (kind, call) in kinds {
            let got = read_all(&doc(RES, &[span(kind, &peer, "")]));
            let want = if call { 1 } else { 0 };
            assert_eq!(rows(&got).len(), want, "kind {kind}: {got:?}");
            assert_eq!(skips(&got), if call { vec![] } else { vec!["not a client span"] }, "kind {kind}");
        }
        // No kind at all is SPAN_KIND_UNSPECIFIED: not a call.
        let got = read_all(&doc(RES, &[r#"{"name":"x","attributes":[]}"#.to_string()]));
        assert_eq!(skips(&got), ["not a client span"]);
        for bad in ["9", r#""SPAN_KIND_FOO""#, "-1", "[1]", "null"] {
            let got = read_all(&doc(RES, &[span(bad, &peer, "")]));
            if bad == "null" {
                assert_eq!(skips(&got), ["not a client span"], "null is unspecified");
                continue;
            }
            let rj = rejects(&got);
            assert_eq!(rj.len(), 1, "kind {bad}: {got:?}");
            assert_eq!(rj[0].1, "kind");
            assert!(rj[0].2.starts_with("resourceSpans[0].scopeSpans[0].spans[0]: key kind: "), "{}", rj[0].2);
        }
    }

    #[test]
    fn bad_spans_are_rejected_one_by_one() {
        let peer = [s("server.address", "redis")];
        let spans = [
            span("3", &peer, ""),
            r#"{"kind":3,"startTimeUnixNano":"yesterday","attributes":[]}"#.to_string(),
            r#"{"kind":3,"startTimeUnixNano":"99999999999999999999","attributes":[]}"#.to_string(),
            r#"{"kind":3,"startTimeUnixNano":"18446744073709551615","attributes":[{"key":"peer.service","value":{"stringValue":"x"}}]}"#.to_string(),
            r#"{"kind":3,"startTimeUnixNano":"5","endTimeUnixNano":"3","attributes":[{"key":"peer.service","value":{"stringValue":"x"}}]}"#.to_string(),
            r#"{"kind":3,"attributes":[{"key":"db.statement","value":{"stringValue":"select 1"}}]}"#.to_string(),
            r#"{"kind":3,"status":"bad","attributes":[]}"#.to_string(),
            r#"{"kind":3,"attributes":[{"key":"network.peer.address","value":{"stringValue":"/var/run/x.sock"}}]}"#.to_string(),
        ];
        let got = read_all(&doc(RES, &spans));
        assert_eq!(got.len(), spans.len(), "one event per span: {got:?}");
        let r = rows(&got);
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].dest_ip, "/var/run/x.sock", "a blank dest falls back to dest_ip");
        assert_eq!((r[1].timestamp_ns, r[1].duration_ns), (5, 0), "end before start: duration 0");
        let rj = rejects(&got);
        let classes: Vec<_> = rj.iter().map(|r| r.1).collect();
        assert_eq!(classes, ["timestamp", "timestamp", "timestamp", "peer", "otlp"], "{rj:?}");
        assert!(rj[0].2.contains(r#"key startTimeUnixNano: yesterday is not Unix nanoseconds"#), "{}", rj[0].2);
        assert!(rj[0].2.starts_with("resourceSpans[0].scopeSpans[0].spans[1]: "), "{}", rj[0].2);
        assert!(rj[2].2.contains("18446744073709551615 is out of range"), "{}", rj[2].2);
        // The raw bytes of a span reject are the span itself.
        let raw = got.iter().find_map(|g| if let Got::Reject { raw, .. } = g { Some(raw.clone()) } else { None });
        assert_eq!(raw.as_deref(), Some(spans[1].as_bytes()));
    }

    #[test]
    fn cluster_required_without_default() {
        let got = read_with(doc(r#"{"key":"service.name","value":{"stringValue":"a"}}"#, &[span("3", &[s("peer.service", "b")], "")]).as_bytes(), None);
        assert_eq!(rejects(&got), [(1, "cluster", "resourceSpans[0].scopeSpans[0].spans[0]: no cluster: k8s_cluster_name is empty and no --cluster was given")]);
    }

    #[test]
    fn json_lines_documents() {
        let peer = [s("peer.service", "redis")];
        let good = doc(RES, &[span("3", &peer, ""), span("2", &peer, "")]);
        let input = format!("{good}\n\n{{\"resourceSpans\":[\n{good}\r\n[1,2]\n{{}}\n{{\"resourceSpans\":[]}}\n5\n{good}");
        let got = read_all(&input);
        let lines: Vec<u64> = rows(&got).iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 4, 9]);
        assert_eq!(skips(&got), ["not a client span", "not a client span", "no spans", "not a client span"]);
        let rj = rejects(&got);
        assert_eq!(rj.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), [(3, "json"), (5, "otlp"), (6, "otlp"), (8, "otlp")]);
        assert_eq!(rj[1].2, "not an OTLP ExportTraceServiceRequest: expected a JSON object, found an array");
        assert!(rj[3].2.ends_with("found a number"), "{}", rj[3].2);
        assert_eq!(rj[2].2, "not an OTLP ExportTraceServiceRequest: no resourceSpans key");
        // The raw bytes of a document reject are its line.
        assert!(got.contains(&Got::Reject { line: 3, class: "json", reason: rj[0].2.to_string(), raw: b"{\"resourceSpans\":[".to_vec() }));
    }

    #[test]
    fn broken_first_line_still_reads_the_rest_as_lines() {
        let good = doc(RES, &[span("3", &[s("peer.service", "redis")], "")]);
        let got = read_all(&format!("not json\n{good}\n"));
        assert_eq!(rejects(&got).iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), [(1, "json")]);
        assert_eq!(rows(&got).len(), 1);
        assert_eq!(rows(&got)[0].line, 2);
    }

    #[test]
    fn pretty_documents_and_detection() {
        let one = doc(RES, &[span("3", &[s("peer.service", "redis")], "")]);
        let v: serde_json::Value = serde_json::from_str(&one).unwrap();
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        assert!(pretty.lines().nth(1).unwrap().contains("resourceSpans"));
        let fmt = crate::input::detect(std::path::Path::new("x.json"), &mut pretty.as_bytes()).unwrap();
        assert_eq!(fmt, crate::input::Format::Otlp);
        // A BOM, leading blank lines and two concatenated pretty documents.
        let input = format!("\u{feff}\n{pretty}\n{pretty}\n");
        let got = read_all(&input);
        let r = rows(&got);
        assert_eq!(r.len(), 2, "{got:?}");
        let span_line = 1 + pretty.lines().position(|l| l.contains("\"spans\"")).unwrap() as u64 + 1;
        assert_eq!(r[0].line, 1 + span_line);
        assert_eq!(r[1].line, 1 + pretty.lines().count() as u64 + span_line);
        assert_eq!(r[0].dest, "redis");
        // A document that ends early: one reject at the line it starts on, with the rest as raw.
        let cut = &pretty[..pretty.len() / 2];
        let got = read_all(&format!("{pretty}\n{cut}"));
        assert_eq!(rows(&got).len(), 1);
        let rj = rejects(&got);
        assert_eq!(rj.len(), 1);
        assert_eq!((rj[0].0, rj[0].1), (1 + pretty.lines().count() as u64, "json"));
        assert!(rj[0].2.contains("EOF"), "{}", rj[0].2);
        // A whole-file document: one reject, line 1.
        let got = read_all(cut);
        assert_eq!(rejects(&got).iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), [(1, "json")]);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn a_multi_line_span_reject_is_one_line() {
        let pretty = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[\n  {\"kind\": 3,\n   \"attributes\": []}\n]}]}]}\n";
        let got = read_all(pretty);
        match &got[..] {
            [Got::Reject { line: 2, class: "peer", raw, .. }] => assert_eq!(raw, br#"{"attributes":[],"kind":3}"#),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_utf8() {
        let good = doc(RES, &[span("3", &[s("peer.service", "redis")], "")]);
        let mut input = good.clone().into_bytes();
        input.extend_from_slice(b"\n{\"resourceSpans\":[\xff]}\n");
        input.extend_from_slice(good.as_bytes());
        let got = read_with(&input, Some("d"));
        assert_eq!(rows(&got).len(), 2);
        assert_eq!(rejects(&got), [(2, "utf8", "invalid UTF-8 at byte 18")]);
        // Whole-document mode.
        let got = read_with(b"{\n\"resourceSpans\": [\xff]}\n", Some("d"));
        assert_eq!(rejects(&got), [(1, "utf8", "invalid UTF-8 at line 2, byte 20")]);
    }

    #[test]
    fn huge_and_deep_inputs_do_not_panic() {
        // 200k attributes on one span: still one row.
        let mut attrs: Vec<String> = (0..200_000).map(|i| s(&format!("k{i}"), "v")).collect();
        attrs.push(s("server.address", "last.example.com"));
        let got = read_all(&doc(RES, &[span("3", &attrs, "")]));
        assert_eq!(rows(&got).len(), 1);
        assert_eq!(rows(&got)[0].dest, "last.example.com");
        // A value nested 100k deep is skipped unparsed; in a field netmap reads it is a reject.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let nested = format!(r#"{{"key":"x","value":{{"arrayValue":{deep}}}}}"#);
        let got = read_all(&doc(RES, &[span("3", &[nested, s("peer.service", "p")], "")]));
        assert_eq!(rows(&got).len(), 1, "{:?}", rejects(&got));
        let got = read_all(&doc(RES, &[span(&deep, &[s("peer.service", "p")], "")]));
        assert_eq!(rejects(&got).len(), 1);
        assert!(rejects(&got)[0].2.contains("recursion limit"), "{:?}", rejects(&got));
        // Deep nesting in the document structure itself: one document reject.
        let got = read_all(&format!(r#"{{"resourceSpans":{deep}}}"#));
        assert_eq!(rejects(&got).len(), 1);
        // Empty and blank inputs have no records.
        assert!(read_all("").is_empty());
        assert!(read_all("\n \n").is_empty());
    }

    // --- Real data: the Jaeger OTLP / Jaeger-JSON pair (skipped when absent). ---

    fn external(rel: &str) -> Option<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/external/").to_string() + rel;
        match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("skipping: {path}: {e}");
                None
            }
        }
    }

    /// (dest, dest_ip) of every span of an OTLP request, by the reader's precedence.
    fn otlp_peers(text: &str) -> Vec<(String, String)> {
        let req: Request<'_> = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        for rs in req.resource_spans.unwrap() {
            for sc in rs.scope_spans.unwrap_or_default().iter().chain(rs.library_spans.unwrap_or_default().iter()) {
                for raw in sc.spans.as_deref().unwrap_or_default() {
                    let span: Span<'_> = serde_json::from_str(raw.get()).unwrap();
                    let a = Attrs::of(span.attributes.as_deref().unwrap_or_default());
                    out.push((a.dest().into_owned(), a.dest_ip().to_string()));
                }
            }
        }
        out
    }

    /// (dest, dest_ip) of every span of a Jaeger query-API trace list, tags read with the same precedence.
    fn jaeger_peers(text: &str) -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        for trace in v["data"].as_array().unwrap() {
            for span in trace["spans"].as_array().unwrap() {
                let kvs: Vec<KeyValue<'_>> = span["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        let text = match &t["value"] {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        KeyValue {
                            key: Some(Cow::Owned(t["key"].as_str().unwrap().to_string())),
                            value: Some(AnyValue { string: Some(Cow::Owned(text)), int: None, boolean: None, double: None }),
                        }
                    })
                    .collect();
                let a = Attrs::of(&kvs);
                out.push((a.dest().into_owned(), a.dest_ip().to_string()));
            }
        }
        out
    }

    #[test]
    fn jaeger_pair_peers_agree() {
        let (Some(otlp), Some(jaeger)) = (external("jaeger/otlp2jaeger-in.json"), external("jaeger/otlp2jaeger-out.json")) else {
            return;
        };
        let a = otlp_peers(&otlp);
        let b = jaeger_peers(&jaeger);
        let want = ("telemetrygen-client".to_string(), "1.2.3.4".to_string());
        assert_eq!(a, vec![want.clone(), want.clone()]);
        assert_eq!(a, b, "the OTLP spans and Jaeger's conversion of them name the same peers");

        // They are SERVER spans: the reader skips both, nothing else.
        let got = read_all(&otlp);
        assert_eq!(got, vec![Got::Skip("not a client span"), Got::Skip("not a client span")]);

        // As client spans, the reader's rows name exactly those peers, with Jaeger's durations.
        let client = otlp.replace("\"kind\": 2", "\"kind\": 3");
        assert_ne!(client, otlp);
        let got = read_all(&client);
        let r = rows(&got);
        let from_rows: Vec<(String, String)> = r.iter().map(|r| (r.dest.clone(), r.dest_ip.clone())).collect();
        assert_eq!(from_rows, b);
        let jv: serde_json::Value = serde_json::from_str(&jaeger).unwrap();
        for (row, js) in r.iter().zip(jv["data"][0]["spans"].as_array().unwrap()) {
            assert_eq!(row.src, jv["data"][0]["processes"][js["processID"].as_str().unwrap()]["serviceName"].as_str().unwrap());
            assert_eq!(row.duration_ns, js["duration"].as_u64().unwrap() * 1_000, "Jaeger durations are microseconds");
            assert_eq!(row.timestamp_ns / 1_000, js["startTime"].as_i64().unwrap());
        }
    }

    /// One of the OpenTelemetry servicegraph connector's test traces (pdata YAML, the OTLP
    /// field names) as an OTLP/JSON document on one line.
    fn servicegraph_trace(name: &str) -> Option<String> {
        let yaml = external(&format!("otel-collector-contrib-servicegraph/{name}"))?;
        let v: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        Some(v.to_string())
    }

    /// The servicegraph connector draws an edge between a client span and the server
    /// span under it in the same trace, and "virtual nodes" (`user`, `unknown`, a
    /// client span's `peer.service`) where one side is missing. netmap reads each
    /// client span on its own and its peer from its own attributes: it makes no edge
    /// from a pair of spans or a guess, and says what it did with every span.
    #[test]
    fn servicegraph_traces_give_no_invented_edges() {
        let Some(virtual_node) = servicegraph_trace("virtual-node-label-trace.yaml") else { return };
        // foo-server's CLIENT span names no peer (the connector: foo-server -> unknown);
        // bar-requester's is a SERVER span (the connector: user -> bar-requester), its
        // peer.service notwithstanding.
        let got = read_all(&virtual_node);
        assert!(rows(&got).is_empty(), "{got:?}");
        assert_eq!(skips(&got), ["not a client span"]);
        assert_eq!(rejects(&got).len(), 1, "{got:?}");
        assert_eq!(rejects(&got)[0].1, "peer", "{got:?}");
        // foo-server's CLIENT span (messaging.system kafka) is the parent of
        // bar-requester's SERVER span (db.system postgresql): the connector pairs them into
        // foo-server -> bar-requester; neither span names the other.
        let Some(extra) = servicegraph_trace("extra-dimensions-queue-db-trace.yaml") else { return };
        let got = read_all(&extra);
        assert!(rows(&got).is_empty(), "{got:?}");
        assert_eq!(skips(&got), ["not a client span"]);
        assert_eq!(rejects(&got).iter().map(|r| r.1).collect::<Vec<_>>(), ["peer"], "{got:?}");
        // Given the peer the connector infers, the same client span is an edge like any other.
        let peer = r#""attributes":[{"key":"server.address","value":{"stringValue":"bar-requester"}}],"#;
        let span = r#""spanId":"a000000000000000","#;
        let named = virtual_node.replace(span, &format!("{span}{peer}"));
        let got = read_all(&named);
        let edges: Vec<(&str, &str)> = rows(&got).iter().map(|r| (r.src.as_str(), r.dest.as_str())).collect();
        assert_eq!(edges, [("foo-server", "bar-requester")]);
    }
}
