//! Canonical span rows as JSON lines: one object per line with the canonical
//! keys. Numbers may be JSON numbers or strings; `is_error` may be a bool.
//! Blank lines are ignored; any other line that is not a usable object is
//! rejected with its line number and kept whole for `--rejects`.

use std::borrow::Cow;
use std::io::BufRead;

use serde::Deserialize;

use super::{for_each_text_line, parse_bool, parse_duration, parse_timestamp, text_reject, ReadOpts, Sink, SpanRef};
use crate::error::Result;

/// A JSON scalar accepted where the canonical column is a string or number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar<'a> {
    #[serde(borrow)]
    Str(Cow<'a, str>),
    Int(u64),
    Neg(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar<'_> {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::Int(n) => Cow::Owned(n.to_string()),
            Scalar::Neg(n) => Cow::Owned(n.to_string()),
            Scalar::Float(f) => Cow::Owned(super::otlp::float_text(*f)),
            Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(borrow)]
    timestamp: Option<Scalar<'a>>,
    #[serde(borrow)]
    k8s_cluster_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    src: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dest: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dest_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    protocol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    duration_ns: Option<Scalar<'a>>,
    #[serde(borrow)]
    is_error: Option<Scalar<'a>>,
}

/// Read canonical JSON lines from `r`.
pub fn read(r: &mut dyn BufRead, opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    for_each_text_line(r, opts, sink, |line, text, sink| {
        let reject = |class, reason| text_reject(line, text, class, reason);
        let row: Row<'_> = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => return sink(reject("json", format!("invalid JSON: {e}"))),
        };
        let ts_text = row.timestamp.as_ref().map(Scalar::text).unwrap_or_default();
        let timestamp_ns = match &row.timestamp {
            None => 0,
            Some(_) => match parse_timestamp(&ts_text) {
                Ok(t) => t,
                Err(m) => return sink(reject("timestamp", m)),
            },
        };
        let dur = row.duration_ns.as_ref().map(Scalar::text).unwrap_or_default();
        let Some(duration_ns) = parse_duration(&dur) else {
            return sink(reject("duration", format!("key duration_ns: {dur:?} is not a non-negative integer")));
        };
        let err = row.is_error.as_ref().map(Scalar::text).unwrap_or_default();
        let Some(is_error) = parse_bool(&err) else {
            return sink(reject("is_error", format!("key is_error: {err:?} is not 0, 1, true or false")));
        };
        let s = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("").trim().to_string();
        // Owned copies keep the borrow simple; JSON input is not the hot path.
        let (cluster, src, dest, dest_ip, protocol) =
            (s(&row.k8s_cluster_name), s(&row.src), s(&row.dest), s(&row.dest_ip), s(&row.protocol));
        let row = SpanRef {
            line,
            timestamp: &ts_text,
            timestamp_ns,
            cluster: &cluster,
            src: &src,
            dest: &dest,
            dest_ip: &dest_ip,
            protocol: &protocol,
            duration_ns,
            is_error,
        };
        sink(opts.event(row, text.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testing::{collect, Got};

    #[test]
    fn a_bom_on_line_1_is_not_part_of_the_record() {
        let input = b"\xef\xbb\xbf{\"k8s_cluster_name\":\"c\",\"src\":\"a\",\"dest\":\"redis\"}\n\xef\xbb\xbf{}\n";
        let got = collect(read, input, "x.jsonl", None);
        assert!(matches!(&got[0], Got::Row(r) if r.dest == "redis" && r.line == 1), "{got:?}");
        // Only on line 1: elsewhere the bytes are the record's, and not JSON.
        assert!(matches!(&got[1], Got::Reject { line: 2, class: "json", .. }), "{got:?}");
    }
}
