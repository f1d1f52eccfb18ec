//! AWS VPC Flow Logs input: the space-separated text records a flow log
//! delivers to S3 (a header line naming the fields, then one record per
//! line), or the same records without the header (CloudWatch Logs exports
//! of the default format).
//!
//! Owns: turning a flow record into a canonical row. Leaves the rule to
//! `crate::rule` and the default cluster and no-peer check to
//! [`ReadOpts::finish`]. Invariant: one event per non-blank line, the header
//! included (a `Skip("header")`).
//!
//! Fields. The header names them (`version account-id interface-id srcaddr
//! dstaddr srcport dstport protocol packets bytes start end action
//! log-status` is the default, version 2 format; custom formats name any
//! subset in any order, and must have `dstaddr`). Without a header the
//! default format is assumed. A value of `-` means the field does not apply.
//!
//! Records. `log-status` NODATA (no traffic in the window) or SKIPDATA
//! (records the service dropped) carries no addresses: `Skip("no flow
//! data")`. A record with another number of fields than the header, or a
//! `start` or port that is not a number, is a reject naming the field.
//!
//! Mapping. A flow log knows no cluster and no service: cluster = empty
//! (`--cluster` applies); src = `pkt-srcaddr` when the log has it (the pod
//! behind a node's ENI), else `srcaddr`; dest_ip = `pkt-dstaddr`, else
//! `dstaddr`; dest = that address with `:dstport` (`[v6]:port`), or empty
//! when there is no port (ICMP), so each destination port is an edge of its
//! own; protocol = the IANA name of `protocol` (`TCP`, `UDP`, `ICMP`,
//! `ICMPv6`, `SCTP`, else the number); timestamp = `start` (Unix seconds);
//! duration = 0 (`end - start` is the capture window, not a call's
//! duration); is_error = `action` REJECT.
//!
//! Direction. Both halves of a connection are records of their own, and the
//! log does not say who called. A record is read as the reply half, the
//! other way round (the caller is `dstaddr`, the peer `srcaddr:srcport`),
//! when its `tcp-flags` (format version 3 and later) have both SYN and ACK
//! (18); a SYN without ACK makes it the request half. Without flags that say
//! either way, it is the reply half when its source port looks more like a
//! service's than its destination port: below 1024 against 1024 and up, or
//! below 32768 (where Linux's ephemeral range starts; IANA's starts at
//! 49152) against 32768 and up. Otherwise it is read as written. So both
//! halves of a connection make the same edge (`calls` counts records, not
//! connections), and a log that holds only the replies still draws the
//! edge from the caller.

use std::io::BufRead;
use std::net::IpAddr;

use super::{for_each_text_line, text_reject, Event, ReadOpts, Sink, SpanRef};
use crate::error::Result;

/// The fields of the default (version 2) format, in order.
pub const DEFAULT_FIELDS: [&str; 14] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Whether a first line is a flow log header: space-separated field names
/// (lowercase letters and `-`), `srcaddr` or `dstaddr` among them.
pub fn is_header(line: &str) -> bool {
    let mut addr = false;
    for w in line.split_ascii_whitespace() {
        if !w.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            return false;
        }
        addr |= w == "srcaddr" || w == "dstaddr";
    }
    addr
}

/// Where each field the reader uses is, in a record's fields.
#[derive(Debug, Clone)]
struct Layout {
    count: usize,
    srcaddr: Option<usize>,
    dstaddr: usize,
    pkt_srcaddr: Option<usize>,
    pkt_dstaddr: Option<usize>,
    srcport: Option<usize>,
    dstport: Option<usize>,
    tcp_flags: Option<usize>,
    protocol: Option<usize>,
    start: Option<usize>,
    action: Option<usize>,
    log_status: Option<usize>,
}

impl Layout {
    fn new<'f>(fields: impl IntoIterator<Item = &'f str>) -> std::result::Result<Layout, String> {
        let names: Vec<&str> = fields.into_iter().collect();
        let at = |n: &str| names.iter().position(|&f| f == n);
        let dstaddr = at("dstaddr").ok_or_else(|| "the header names no dstaddr field".to_string())?;
        Ok(Layout {
            count: names.len(),
            srcaddr: at("srcaddr"),
            dstaddr,
            pkt_srcaddr: at("pkt-srcaddr"),
            pkt_dstaddr: at("pkt-dstaddr"),
            srcport: at("srcport"),
            dstport: at("dstport"),
            tcp_flags: at("tcp-flags"),
            protocol: at("protocol"),
            start: at("start"),
            action: at("action"),
            log_status: at("log-status"),
        })
    }
}

/// The IANA name of an IP protocol number, as Hubble names L4 protocols.
fn protocol_name(n: &str) -> &str {
    match n {
        "1" => "ICMP",
        "6" => "TCP",
        "17" => "UDP",
        "58" => "ICMPv6",
        "132" => "SCTP",
        _ => n,
    }
}

/// How much a port looks like a service's: 0 below 1024, 1 below 32768 (the
/// start of Linux's ephemeral range), 2 from there up.
fn port_rank(p: u16) -> u8 {
    match p {
        0..=1023 => 0,
        1024..=32767 => 1,
        _ => 2,
    }
}

/// Whether a record is the reply half of a connection (module docs): SYN and
/// ACK in its TCP flags, a SYN alone says it is not; without either, its
/// source port ranks as more of a service's than its destination port.
fn is_reply(tcp_flags: Option<u16>, srcport: u16, dstport: u16) -> bool {
    const SYN: u16 = 2;
    const SYN_ACK: u16 = 18;
    match tcp_flags {
        Some(f) if f & SYN_ACK == SYN_ACK => true,
        Some(f) if f & SYN_ACK == SYN => false,
        _ => port_rank(srcport) < port_rank(dstport),
    }
}

/// A field's value, `None` for `-` or a field the log does not have.
fn value<'a>(fields: &[&'a str], i: Option<usize>) -> Option<&'a str> {
    i.map(|i| fields[i]).filter(|v| *v != "-")
}

/// Read VPC flow log records; see the module docs.
pub fn read(r: &mut dyn BufRead, opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    // The header's layout, or why it cannot be used (then every record is a reject).
    let mut layout: Option<std::result::Result<Layout, String>> = None;
    let mut dest_buf = String::new();
    for_each_text_line(r, opts, sink, |line, text, sink| {
        let reject = |class, reason| text_reject(line, text, class, reason);
        if layout.is_none() && is_header(text) {
            let l = Layout::new(text.split_ascii_whitespace());
            let event = match &l {
                Ok(_) => Event::Skip("header"),
                Err(m) => reject("vpcflow", m.clone()),
            };
            layout = Some(l);
            return sink(event);
        }
        let l = match layout.get_or_insert_with(|| Layout::new(DEFAULT_FIELDS)) {
            Ok(l) => l,
            Err(m) => return sink(reject("vpcflow", format!("{m} (line 1)"))),
        };
        let fields: Vec<&str> = text.split_ascii_whitespace().collect();
        if fields.len() != l.count {
            return sink(reject("vpcflow", format!("expected {} fields as in the header, found {}", l.count, fields.len())));
        }
        if matches!(value(&fields, l.log_status), Some("NODATA" | "SKIPDATA")) {
            return sink(Event::Skip("no flow data"));
        }
        let (timestamp, timestamp_ns) = match value(&fields, l.start) {
            None => ("", 0),
            Some(s) => match s.parse::<i64>().ok().and_then(|t| t.checked_mul(1_000_000_000)) {
                Some(ns) => (s, ns),
                None => return sink(reject("timestamp", format!("field start: {s:?} is not a Unix time in seconds"))),
            },
        };
        let mut dest_ip = value(&fields, l.pkt_dstaddr).or(value(&fields, Some(l.dstaddr))).unwrap_or("");
        let mut src = value(&fields, l.pkt_srcaddr).or(value(&fields, l.srcaddr)).unwrap_or("");
        let mut ports = [None, None];
        for (slot, (name, i)) in ports.iter_mut().zip([("srcport", l.srcport), ("dstport", l.dstport)]) {
            if let Some(p) = value(&fields, i) {
                match p.parse::<u16>() {
                    Ok(n) => *slot = Some((p, n)),
                    Err(_) => return sink(reject("port", format!("field {name}: {p:?} is not a port number"))),
                }
            }
        }
        let flags = match value(&fields, l.tcp_flags) {
            None => None,
            Some(f) => match f.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => return sink(reject("tcp-flags", format!("field tcp-flags: {f:?} is not a number"))),
            },
        };
        let mut dstport = ports[1].map(|(p, _)| p);
        if let [Some((sp, s)), Some((_, d))] = ports {
            if is_reply(flags, s, d) {
                std::mem::swap(&mut src, &mut dest_ip);
                dstport = Some(sp);
            }
        }
        dest_buf.clear();
        if let Some(p) = dstport {
            if p != "0" && !dest_ip.is_empty() {
                match dest_ip.parse::<IpAddr>() {
                    Ok(IpAddr::V6(_)) => dest_buf.push_str(&format!("[{dest_ip}]:{p}")),
                    _ => dest_buf.push_str(&format!("{dest_ip}:{p}")),
                }
            }
        }
        let row = SpanRef {
            line,
            timestamp,
            timestamp_ns,
            cluster: "",
            src,
            dest: &dest_buf,
            dest_ip,
            protocol: value(&fields, l.protocol).map_or("", protocol_name),
            duration_ns: 0,
            is_error: value(&fields, l.action) == Some("REJECT"),
        };
        sink(opts.event(row, text.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::SpanRow;

    /// (rows, rejects as "line class: reason", skips).
    fn run(text: &str, cluster: Option<&str>) -> (Vec<SpanRow>, Vec<String>, Vec<&'static str>) {
        let opts = ReadOpts { name: "t".into(), default_cluster: cluster.map(str::to_string) };
        let (mut rows, mut rejects, mut skips) = (Vec::new(), Vec::new(), Vec::new());
        let mut sink = |e: Event<'_>| {
            match e {
                Event::Row(r) => rows.push(r.to_owned_row()),
                Event::Reject(r) => rejects.push(format!("{} {}: {}", r.line, r.class, r.reason)),
                Event::Skip(s) => skips.push(s),
            }
            Ok(())
        };
        read(&mut text.as_bytes(), &opts, &mut sink).unwrap();
        (rows, rejects, skips)
    }

    const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

    #[test]
    fn default_format_with_header() {
        let text = format!(
            "{HEADER}\n\
             2 123456789012 eni-0a 10.26.1.153 3.239.232.29 60220 443 6 48 21869 1669842701 1669842702 ACCEPT OK\n\
             2 123456789012 eni-0a 10.26.0.9 10.26.4.139 0 0 1 1 84 1669842701 1669842702 REJECT OK\n\
             2 123456789012 eni-0a - - - - - - - 1669842701 1669842702 - NODATA\n"
        );
        let (rows, rejects, skips) = run(&text, Some("prod"));
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(skips, ["header", "no flow data"]);
        let got: Vec<_> = rows.iter().map(|r| (r.line, r.src.as_str(), r.dest.as_str(), r.dest_ip.as_str(), r.protocol.as_str(), r.is_error)).collect();
        assert_eq!(
            got,
            [(2, "10.26.1.153", "3.239.232.29:443", "3.239.232.29", "TCP", false), (3, "10.26.0.9", "", "10.26.4.139", "ICMP", true)]
        );
        assert_eq!(rows[0].timestamp_ns, 1_669_842_701_000_000_000);
        assert_eq!(rows[0].cluster, "prod");
        assert_eq!(rows[0].duration_ns, 0);
    }

    #[test]
    fn custom_fields_in_any_order_and_pkt_addresses() {
        let text = "pkt-dstaddr dstaddr dstport pkt-srcaddr srcaddr protocol start action\n\
                    10.1.2.3 172.31.0.9 5432 10.1.9.9 172.31.0.8 6 100 ACCEPT\n\
                    - fd00::1 53 - fd00::2 17 100 ACCEPT\n";
        let (rows, rejects, _) = run(text, Some("c"));
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!((rows[0].src.as_str(), rows[0].dest.as_str(), rows[0].dest_ip.as_str()), ("10.1.9.9", "10.1.2.3:5432", "10.1.2.3"));
        assert_eq!((rows[1].src.as_str(), rows[1].dest.as_str(), rows[1].protocol.as_str()), ("fd00::2", "[fd00::1]:53", "UDP"));
    }

    #[test]
    fn without_header_the_default_format() {
        let (rows, rejects, skips) = run("2 1 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n", Some("c"));
        assert!(rejects.is_empty() && skips.is_empty());
        assert_eq!(rows[0].dest, "172.31.16.21:22");
        assert_eq!(rows[0].line, 1);
    }

    #[test]
    fn bad_records_are_rejects_naming_the_field() {
        let text = format!(
            "{HEADER}\n\
             2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 1 1669842701 1669842702 ACCEPT\n\
             2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 1 yesterday 1669842702 ACCEPT OK\n\
             2 1 eni-1 10.0.0.1 10.0.0.2 1 99999 6 1 1 1669842701 1669842702 ACCEPT OK\n\
             2 1 eni-1 10.0.0.1 - 1 - 6 1 1 1669842701 1669842702 ACCEPT OK\n"
        );
        let (rows, rejects, _) = run(&text, Some("c"));
        assert!(rows.is_empty());
        assert_eq!(
            rejects,
            [
                "2 vpcflow: expected 14 fields as in the header, found 13",
                "3 timestamp: field start: \"yesterday\" is not a Unix time in seconds",
                "4 port: field dstport: \"99999\" is not a port number",
                "5 peer: no peer: dest and dest_ip are both empty",
            ]
        );
        let (_, rejects, _) = run("srcaddr version\n1 2\n", Some("c"));
        assert_eq!(rejects, ["1 vpcflow: the header names no dstaddr field", "2 vpcflow: the header names no dstaddr field (line 1)"]);
        let (rows, rejects, _) = run(&format!("{HEADER}\n2 1 eni-1 10.0.0.1 10.0.0.2 1 80 6 1 1 1669842701 1669842702 ACCEPT OK\n"), None);
        assert!(rows.is_empty() && rejects[0].starts_with("2 cluster: no cluster"), "{rejects:?}");
    }

    #[test]
    fn reply_halves_are_read_from_the_caller() {
        // Ports: a service's port (below 1024, or below 32768 against 32768 and up) as the source is a reply.
        let text = format!(
            "{HEADER}\n\
             2 1 eni-1 52.94.133.131 10.244.1.5 443 51236 6 1 1 100 160 ACCEPT OK\n\
             2 1 eni-1 10.96.0.10 10.244.1.5 53 40112 17 1 1 100 160 ACCEPT OK\n\
             2 1 eni-1 10.26.0.9 10.26.4.139 5007 57879 6 1 1 100 160 ACCEPT OK\n\
             2 1 eni-1 fd00::2 fd00::1 22 20641 6 1 1 100 160 ACCEPT OK\n\
             2 1 eni-1 172.31.16.139 172.31.16.21 20641 22 6 1 1 100 160 ACCEPT OK\n\
             2 1 eni-1 10.0.0.1 10.0.0.2 6000 7000 6 1 1 100 160 ACCEPT OK\n\
             2 1 eni-1 10.0.0.1 10.0.0.2 0 0 1 1 1 100 160 ACCEPT OK\n"
        );
        let (rows, rejects, _) = run(&text, Some("c"));
        assert!(rejects.is_empty(), "{rejects:?}");
        let got: Vec<(&str, &str, &str)> =
            rows.iter().map(|r| (r.src.as_str(), r.dest.as_str(), r.dest_ip.as_str())).collect();
        assert_eq!(
            got,
            [
                ("10.244.1.5", "52.94.133.131:443", "52.94.133.131"),
                ("10.244.1.5", "10.96.0.10:53", "10.96.0.10"),
                ("10.26.4.139", "10.26.0.9:5007", "10.26.0.9"),
                ("fd00::1", "[fd00::2]:22", "fd00::2"),
                // As written: the destination port is the service's, or neither says.
                ("172.31.16.139", "172.31.16.21:22", "172.31.16.21"),
                ("10.0.0.1", "10.0.0.2:7000", "10.0.0.2"),
                ("10.0.0.1", "", "10.0.0.2"),
            ]
        );
        // TCP flags decide when they can: SYN and ACK is a reply, a SYN alone a request,
        // whatever the ports; other flags (FIN, RST, none) leave it to the ports. The
        // packet addresses turn round with the others.
        let text = "pkt-srcaddr pkt-dstaddr srcaddr dstaddr srcport dstport protocol tcp-flags\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 6000 7000 6 18\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 443 50000 6 2\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 443 50000 6 19\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 443 50000 6 1\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 443 50000 6 -\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 443 50000 6 SYN\n\
                    10.1.0.1 10.1.0.2 172.31.0.1 172.31.0.2 x 50000 6 2\n";
        let (rows, rejects, _) = run(text, Some("c"));
        let got: Vec<(&str, &str)> = rows.iter().map(|r| (r.src.as_str(), r.dest.as_str())).collect();
        assert_eq!(
            got,
            [
                ("10.1.0.2", "10.1.0.1:6000"),
                ("10.1.0.1", "10.1.0.2:50000"),
                ("10.1.0.2", "10.1.0.1:443"),
                ("10.1.0.2", "10.1.0.1:443"),
                ("10.1.0.2", "10.1.0.1:443"),
            ]
        );
        assert_eq!(
            rejects,
            [
                "7 tcp-flags: field tcp-flags: \"SYN\" is not a number",
                "8 port: field srcport: \"x\" is not a port number",
            ]
        );
    }

    #[test]
    fn headers() {
        assert!(is_header(HEADER));
        assert!(is_header("srcaddr dstaddr"));
        assert!(is_header("srcaddr version"));
        assert!(!is_header("2 1 eni-1 10.0.0.1 10.0.0.2"));
        assert!(!is_header("timestamp,src,dest"));
        assert!(!is_header("version account-id"));
    }

    /// The public flow logs in ../shared (skipped when absent).
    #[test]
    fn shared_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/external/");
        let otel = [("172.31.16.139", "172.31.16.21:22"), ("172.31.9.69", "172.31.9.12:3389")];
        let loki =
            [("10.26.1.153", "3.239.232.29:443"), ("10.26.1.153", "3.239.232.29:443"), ("10.26.4.139", "10.26.0.9:5007")];
        for (rel, want) in [
            ("otel-collector-contrib-vpcflow/valid_vpc_flow_log_multi.log", &otel[..]),
            // The first two records are the two halves of one connection; the third is a reply half alone.
            ("grafana-loki/vpcflowlog.log", &loki[..]),
        ] {
            let Ok(text) = std::fs::read_to_string(format!("{dir}{rel}")) else {
                eprintln!("skipped: ../shared/fixtures/external/{rel} is absent");
                continue;
            };
            let (rows, rejects, skips) = run(&text, Some("vpc"));
            assert!(rejects.is_empty(), "{rel}: {rejects:?}");
            assert_eq!(skips, ["header"], "{rel}");
            let got: Vec<(&str, &str)> = rows.iter().map(|r| (r.src.as_str(), r.dest.as_str())).collect();
            assert_eq!(got, want, "{rel}");
            assert!(rows.iter().all(|r| r.protocol == "TCP"), "{rel}");
        }
    }
}
