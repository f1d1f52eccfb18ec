//! Hubble flow input: the jsonpb lines `hubble observe -o jsonpb` writes,
//! one `GetFlowsResponse` per line (`{"flow":{...},"node_name":...,"time":...}`).
//!
//! Owns: turning a Cilium flow into a canonical row. Leaves the rule to
//! `crate::rule` and the default cluster and no-peer check to
//! [`ReadOpts::finish`]. Invariant: one event per non-blank line.
//!
//! Records. A line with a `flow` is a row, unless the flow is a reply
//! (`is_reply: true`, or the older `reply: true`): a reply runs from the
//! server back to the client, so counting it would count each call twice in
//! the wrong direction; it is `Skip("reply flow")`. Hubble puts L7 latency and
//! status codes on the response, which is a reply, so L7 rows usually have
//! duration 0 and take `is_error` from the verdict alone. A flow without an
//! `IP` section (L2, non-IP drops) is `Skip("not an IP flow")`. Any other
//! response (`node_status`, `lost_events`, ...) is `Skip("not a flow")`.
//! Broken JSON, invalid UTF-8, a non-object or a bad value is a reject.
//!
//! Mapping. src = the source pod as `namespace/pod` (or the pod name alone),
//! else the source IP; dest = the destination pod as `namespace/pod`, else
//! empty; dest_ip = `IP.destination`; cluster = the source's
//! `io.cilium.k8s.policy.cluster=<name>` label, else empty (then `--cluster`);
//! protocol = the L7 record (`http`, `dns`, `kafka`) when present, else the L4
//! key (`TCP`, `UDP`, `ICMPv4`, `ICMPv6`, `SCTP`); timestamp = `flow.time`
//! (else the response's `time`), RFC 3339; duration = `l7.latency_ns` or 0;
//! is_error = verdict `DROPPED`/`ERROR` (2/3) or an HTTP code >= 500.

use std::borrow::Cow;
use std::io::BufRead;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::otlp::Loose;
use super::{for_each_text_line, parse_timestamp, text_reject, Event, ReadOpts, Sink, SpanRef};
use crate::error::Result;

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    flow: Option<Flow<'a>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Flow<'a> {
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    verdict: Option<Loose<'a>>,
    #[serde(borrow, rename = "IP")]
    ip: Option<Ip<'a>>,
    l4: Option<L4>,
    #[serde(borrow)]
    l7: Option<L7<'a>>,
    #[serde(borrow)]
    source: Option<Endpoint<'a>>,
    #[serde(borrow)]
    destination: Option<Endpoint<'a>>,
    is_reply: Option<bool>,
    reply: Option<bool>,
}

#[derive(Deserialize)]
struct Ip<'a> {
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    destination: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct L4 {
    TCP: Option<IgnoredAny>,
    UDP: Option<IgnoredAny>,
    ICMPv4: Option<IgnoredAny>,
    ICMPv6: Option<IgnoredAny>,
    SCTP: Option<IgnoredAny>,
}

impl L4 {
    fn name(&self) -> &'static str {
        [
            (self.TCP.is_some(), "TCP"),
            (self.UDP.is_some(), "UDP"),
            (self.ICMPv4.is_some(), "ICMPv4"),
            (self.ICMPv6.is_some(), "ICMPv6"),
            (self.SCTP.is_some(), "SCTP"),
        ]
        .iter()
        .find(|(present, _)| *present)
        .map_or("", |(_, n)| n)
    }
}

#[derive(Deserialize)]
struct L7<'a> {
    #[serde(borrow)]
    latency_ns: Option<Loose<'a>>,
    #[serde(borrow)]
    http: Option<Http<'a>>,
    dns: Option<IgnoredAny>,
    kafka: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Http<'a> {
    #[serde(borrow)]
    code: Option<Loose<'a>>,
}

#[derive(Deserialize)]
struct Endpoint<'a> {
    #[serde(borrow)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pod_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    labels: Option<Vec<Cow<'a, str>>>,
}

impl Endpoint<'_> {
    /// `namespace/pod`, the pod name alone, or `None` without a pod.
    fn pod(&self) -> Option<String> {
        let pod = self.pod_name.as_deref().map(str::trim).filter(|p| !p.is_empty())?;
        Some(match self.namespace.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(ns) => format!("{ns}/{pod}"),
            None => pod.to_string(),
        })
    }

    /// The value of the `io.cilium.k8s.policy.cluster` label (any label source prefix).
    fn cluster(&self) -> Option<&str> {
        self.labels.as_deref()?.iter().find_map(|l| {
            let kv = l.split_once(':').map_or(l.as_ref(), |(_, rest)| rest);
            kv.strip_prefix("io.cilium.k8s.policy.cluster=").map(str::trim).filter(|c| !c.is_empty())
        })
    }
}

/// Whether a verdict means the packet did not get through (DROPPED = 2, ERROR = 3).
fn failed(verdict: Option<&Loose<'_>>) -> bool {
    match verdict {
        Some(Loose::Str(s)) => matches!(s.trim().to_ascii_uppercase().as_str(), "DROPPED" | "ERROR"),
        Some(v) => matches!(v.as_u64(), Some(2 | 3)),
        None => false,
    }
}

/// Read Hubble jsonpb flows from `r`.
pub fn read(r: &mut dyn BufRead, opts: &ReadOpts, sink: &mut Sink<'_>) -> Result<()> {
    for_each_text_line(r, opts, sink, |line, text, sink| {
        let reject = |class, reason| text_reject(line, text, class, reason);
        match super::otlp::non_object(text) {
            None => {}
            Some(Ok(what)) => return sink(reject("hubble", format!("not a Hubble GetFlowsResponse: expected a JSON object, found {what}"))),
            Some(Err(e)) => return sink(reject("json", format!("invalid JSON: {e}"))),
        }
        let resp: Response<'_> = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) if e.is_data() => return sink(reject("hubble", format!("not a Hubble GetFlowsResponse: {e}"))),
            Err(e) => return sink(reject("json", format!("invalid JSON: {e}"))),
        };
        let Some(flow) = resp.flow else { return sink(Event::Skip("not a flow")) };
        if flow.is_reply.or(flow.reply) == Some(true) {
            return sink(Event::Skip("reply flow"));
        }
        let Some(ip) = &flow.ip else { return sink(Event::Skip("not an IP flow")) };
        let ts = flow.time.as_deref().or(resp.time.as_deref()).unwrap_or("").trim();
        let timestamp_ns = if ts.is_empty() {
            0
        } else {
            match parse_timestamp(ts) {
                Ok(t) => t,
                Err(m) => return sink(reject("timestamp", format!("key time: {m}"))),
            }
        };
        let l7 = flow.l7.as_ref();
        let duration_ns = match l7.and_then(|l| l.latency_ns.as_ref()) {
            None => 0,
            Some(v) => match v.as_u64() {
                Some(d) => d,
                None => return sink(reject("duration", format!("key l7.latency_ns: {} is not a non-negative integer", v.text()))),
            },
        };
        let http_code = l7.and_then(|l| l.http.as_ref()).and_then(|h| h.code.as_ref()).and_then(Loose::as_u64);
        let is_error = failed(flow.verdict.as_ref()) || http_code.is_some_and(|c| c >= 500);
        let protocol = match l7 {
            Some(l) if l.http.is_some() => "http",
            Some(l) if l.dns.is_some() => "dns",
            Some(l) if l.kafka.is_some() => "kafka",
            _ => flow.l4.as_ref().map_or("", L4::name),
        };
        let src_ip = ip.source.as_deref().unwrap_or("").trim();
        let src_pod = flow.source.as_ref().and_then(Endpoint::pod);
        let dest = flow.destination.as_ref().and_then(Endpoint::pod).unwrap_or_default();
        let cluster = flow.source.as_ref().and_then(Endpoint::cluster).unwrap_or("");
        let row = SpanRef {
            line,
            timestamp: ts,
            timestamp_ns,
            cluster,
            src: src_pod.as_deref().unwrap_or(src_ip),
            dest: &dest,
            dest_ip: ip.destination.as_deref().unwrap_or("").trim(),
            protocol,
            duration_ns,
            is_error,
        };
        sink(opts.event(row, text.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::{read_cidr_text, CidrConfig};
    use crate::input::SpanRow;
    use crate::rule::{parse_ip, Classifier, Kind, DEFAULT_CLUSTER_DOMAIN};

    use crate::input::testing::Got;

    fn read_with(input: &[u8], cluster: Option<&str>) -> Vec<Got> {
        crate::input::testing::collect(read, input, "flows.json", cluster)
    }

    fn reject(got: &Got) -> (u64, &'static str, &str) {
        match got {
            Got::Reject { line, class, reason, .. } => (*line, class, reason.as_str()),
            other => panic!("not a reject: {other:?}"),
        }
    }

    const POD_TO_POD: &str = r#"{"flow":{"time":"2024-05-01T12:00:00.5Z","verdict":"FORWARDED","IP":{"source":"10.244.1.5","destination":"10.244.2.9","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":51234,"destination_port":8080,"flags":{"SYN":true}}},"source":{"ID":12,"identity":4242,"namespace":"shop","labels":["k8s:app=frontend","k8s:io.cilium.k8s.policy.cluster=prod","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"frontend-7d4b9"},"destination":{"identity":4343,"namespace":"shop","labels":["k8s:app=cart"],"pod_name":"cart-5f6c8"},"Type":"L3_L4","node_name":"kind-worker","is_reply":false,"traffic_direction":"EGRESS"},"node_name":"kind-worker","time":"2024-05-01T12:00:00.5Z"}"#;

    #[test]
    fn pod_to_pod_flow() {
        let got = read_with(POD_TO_POD.as_bytes(), None);
        assert_eq!(
            got,
            vec![Got::Row(SpanRow {
                line: 1,
                timestamp: "2024-05-01T12:00:00.5Z".into(),
                timestamp_ns: 1_714_564_800_500_000_000,
                cluster: "prod".into(),
                src: "shop/frontend-7d4b9".into(),
                dest: "shop/cart-5f6c8".into(),
                dest_ip: "10.244.2.9".into(),
                protocol: "TCP".into(),
                duration_ns: 0,
                is_error: false,
            })]
        );
    }

    #[test]
    fn world_host_and_errors() {
        let lines = [
            // From the host (no pod, no cluster label) to the world, dropped (numeric verdict).
            r#"{"flow":{"time":"2024-05-01T12:00:01Z","verdict":2,"IP":{"source":"172.18.0.3","destination":"142.250.1.1"},"l4":{"UDP":{"destination_port":53}},"source":{"identity":1,"labels":["reserved:host"]},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4"}}"#,
            // An L7 HTTP flow with a 503 and a latency, IPv6, pod without namespace; time only outside the flow.
            r#"{"flow":{"verdict":"FORWARDED","IP":{"source":"fd00::1","destination":"fd00::2","ipVersion":"IPv6"},"l4":{"TCP":{}},"source":{"pod_name":"a"},"destination":{"namespace":"ns","pod_name":"b"},"Type":"L7","l7":{"type":"REQUEST","latency_ns":"1500","http":{"code":503,"method":"GET"}}},"time":"2024-05-01T12:00:02Z"}"#,
            // ICMP, ERROR verdict, old-style reply=false.
            r#"{"flow":{"verdict":"ERROR","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"ICMPv4":{"type":8}},"reply":false}}"#,
            // A DNS L7 flow.
            r#"{"flow":{"IP":{"source":"10.0.0.1","destination":"10.0.0.53"},"l4":{"UDP":{}},"l7":{"type":"REQUEST","dns":{"query":"x."}},"source":{"labels":["k8s:io.cilium.k8s.policy.cluster=east"]}}}"#,
        ];
        let got = read_with(lines.join("\n").as_bytes(), Some("dflt"));
        let rows: Vec<&SpanRow> = got.iter().map(|g| if let Got::Row(r) = g { r } else { panic!("{g:?}") }).collect();
        let summary: Vec<_> = rows
            .iter()
            .map(|r| (r.cluster.as_str(), r.src.as_str(), r.dest.as_str(), r.dest_ip.as_str(), r.protocol.as_str(), r.duration_ns, r.is_error))
            .collect();
        assert_eq!(
            summary,
            [
                ("dflt", "172.18.0.3", "", "142.250.1.1", "UDP", 0, true),
                ("dflt", "a", "ns/b", "fd00::2", "http", 1500, true),
                ("dflt", "10.0.0.1", "", "10.0.0.2", "ICMPv4", 0, true),
                ("east", "10.0.0.1", "", "10.0.0.53", "dns", 0, false),
            ]
        );
        assert_eq!(rows[1].timestamp_ns, 1_714_564_802_000_000_000);
        assert_eq!((rows[2].timestamp.as_str(), rows[2].timestamp_ns), ("", 0));
    }

    #[test]
    fn skips() {
        let lines = [
            r#"{"flow":{"IP":{"source":"10.0.0.2","destination":"10.0.0.1"},"is_reply":true}}"#,
            r#"{"flow":{"IP":{"source":"10.0.0.2","destination":"10.0.0.1"},"reply":true}}"#,
            r#"{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1"]},"time":"2024-05-01T12:00:00Z"}"#,
            r#"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":3}}"#,
            r#"{"flow":null}"#,
            r#"{"flow":{"ethernet":{"source":"aa:bb:cc:dd:ee:ff"},"verdict":"DROPPED"}}"#,
        ];
        let got = read_with(lines.join("\n").as_bytes(), None);
        assert_eq!(
            got,
            [
                Got::Skip("reply flow"),
                Got::Skip("reply flow"),
                Got::Skip("not a flow"),
                Got::Skip("not a flow"),
                Got::Skip("not a flow"),
                Got::Skip("not an IP flow"),
            ]
        );
    }

    #[test]
    fn bad_lines_are_rejected() {
        let mut input = Vec::new();
        for l in [
            "{\"flow\":{\"IP\":",                                                                 // 1 truncated
            "[1,2]",                                                                              // 2 not an object
            "42",                                                                                 // 3
            "{\"flow\":{\"IP\":{\"destination\":5}}}",                                            // 4 wrong type
            "{\"flow\":{\"time\":\"noon\",\"IP\":{\"destination\":\"10.0.0.1\"}}}",               // 5 bad time
            "{\"flow\":{\"IP\":{\"destination\":\"10.0.0.1\"},\"l7\":{\"latency_ns\":\"-3\"}}}", // 6 bad latency
            "{\"flow\":{\"IP\":{\"source\":\"10.0.0.1\"}}}",                                      // 7 no peer
            "",                                                                                   // 8 blank: no record
            "not json",                                                                           // 9
        ] {
            input.extend_from_slice(l.as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(b"{\"flow\":{\"IP\":{\"destination\":\"10.0.0.\xff\"}}}\n"); // 10
        input.extend_from_slice(POD_TO_POD.as_bytes()); // 11
        let got = read_with(&input, Some("c"));
        assert_eq!(got.len(), 10, "one event per non-blank line: {got:?}");
        let rj: Vec<_> = got[..9].iter().map(reject).collect();
        let classes: Vec<_> = rj.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(
            classes,
            [(1, "json"), (2, "hubble"), (3, "hubble"), (4, "hubble"), (5, "timestamp"), (6, "duration"), (7, "peer"), (9, "json"), (10, "utf8")]
        );
        assert_eq!(rj[1].2, "not a Hubble GetFlowsResponse: expected a JSON object, found an array");
        assert!(rj[4].2.starts_with("key time: timestamp \"noon\""), "{}", rj[4].2);
        assert_eq!(rj[5].2, "key l7.latency_ns: -3 is not a non-negative integer");
        assert_eq!(rj[8].2, "invalid UTF-8 at byte 37");
        assert!(matches!(&got[9], Got::Row(r) if r.line == 11));
        // Raw bytes are the line as read.
        assert!(matches!(&got[0], Got::Reject { raw, .. } if raw == b"{\"flow\":{\"IP\":"));
    }

    // --- Real data: Cilium's own identities vs the rule (skipped when absent). ---

    /// Per capture file: pod CIDR, and the exact numbers of checked L3_L4
    /// sides (world-labelled, with a pod name) and of rows / skips.
    const CAPTURES: [(&str, &str, usize, usize, usize, usize); 4] = [
        ("basic-sample-10-flows.json", "10.0.0.0/16", 2, 14, 5, 5),
        ("basic-sample-400-tcp-flows.json", "10.244.0.0/16", 0, 545, 268, 132),
        ("basic-sample-400-udp-flows.json", "10.244.0.0/16", 0, 430, 252, 148),
        ("basic-sample-400-icmpv4-flows.json", "10.244.0.0/16", 0, 0, 14, 4),
    ];

    fn labelled(side: &serde_json::Value, label: &str) -> bool {
        side["labels"].as_array().is_some_and(|ls| ls.iter().any(|l| l == label))
    }

    fn has_pod(side: &serde_json::Value) -> bool {
        side["pod_name"].as_str().is_some_and(|p| !p.is_empty())
    }

    /// The kind Cilium's labels say an L3_L4 side must get, if they say one.
    fn expected(side: &serde_json::Value) -> Option<Kind> {
        if labelled(side, "reserved:world") {
            Some(Kind::World)
        } else if has_pod(side) {
            Some(Kind::Pod)
        } else {
            None
        }
    }

    #[test]
    fn cilium_identities_agree_with_the_rule() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/external/cilium-hubble-otel");
        if !std::path::Path::new(dir).is_dir() {
            eprintln!("skipping: {dir} is absent");
            return;
        }
        let (mut all_world, mut all_pod, mut l7_world_in_pod_cidr) = (0, 0, 0);
        for (file, pod_cidr, want_world, want_pod, want_rows, want_skips) in CAPTURES {
            let path = format!("{dir}/{file}");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // Every cluster the rows may name gets the capture's pod CIDR.
            let cidrs: String = ["test", "default", "kind-kind"].iter().map(|c| format!("{c},pod_cidr,{pod_cidr}\n")).collect();
            let records = read_cidr_text(&format!("cluster_name,network_type,cidr_block\n{cidrs}"), "cidrs.csv").unwrap();
            let classifier = Classifier::new(CidrConfig::from_records(&records), DEFAULT_CLUSTER_DOMAIN);

            // 1. Every L3_L4 side, request or reply, straight from the JSON.
            let flows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).collect();
            let (mut world, mut pod) = (0, 0);
            for (i, v) in flows.iter().enumerate() {
                let f = &v["flow"];
                for side in ["source", "destination"] {
                    let ip_text = f["IP"][side].as_str().unwrap();
                    let ip = parse_ip(ip_text).unwrap();
                    let kind = classifier.classify_ip("test", ip).kind;
                    let Some(want) = expected(&f[side]) else { continue };
                    if f["Type"] != "L3_L4" {
                        // L7 flows often label pods reserved:world; excluded, but counted to show why.
                        if want == Kind::World && kind == Kind::Pod {
                            l7_world_in_pod_cidr += 1;
                        }
                        continue;
                    }
                    assert_eq!(kind, want, "{file}:{}: {side} {ip_text} labelled {}", i + 1, f[side]["labels"]);
                    if want == Kind::World {
                        world += 1;
                    } else {
                        pod += 1;
                    }
                }
            }
            assert_eq!((world, pod), (want_world, want_pod), "{file}: checked sides (world, pod)");
            all_world += world;
            all_pod += pod;

            // 2. The reader's rows: one event per line, no rejects, and their
            //    destinations classify as Cilium labelled them.
            let got = read_with(text.as_bytes(), Some("test"));
            assert_eq!(got.len(), flows.len(), "{file}: one event per line");
            let rows: Vec<&SpanRow> = got.iter().filter_map(|g| if let Got::Row(r) = g { Some(r) } else { None }).collect();
            let skips = got.iter().filter(|g| matches!(g, Got::Skip("reply flow"))).count();
            assert_eq!((rows.len(), skips), (want_rows, want_skips), "{file}: (rows, reply skips)");
            for r in rows {
                let f = &flows[(r.line - 1) as usize]["flow"];
                assert_eq!(r.dest_ip, f["IP"]["destination"].as_str().unwrap());
                let v = classifier.classify_span(&r.cluster, &r.dest, &r.dest_ip).unwrap();
                if f["Type"] == "L3_L4" {
                    if let Some(want) = expected(&f["destination"]) {
                        assert_eq!(v.kind, want, "{file}:{}: row {r:?}", r.line);
                    }
                }
                if has_pod(&f["source"]) {
                    assert!(r.src.ends_with(f["source"]["pod_name"].as_str().unwrap()), "{r:?}");
                } else {
                    assert_eq!(r.src, f["IP"]["source"].as_str().unwrap());
                }
            }
        }
        assert!(all_world > 0 && all_pod > 0, "the check must not pass vacuously");
        assert!(l7_world_in_pod_cidr > 0, "the L7 exclusion is needed: L7 flows label pods reserved:world");
    }
}
