//! Hostile input, end to end: the real `netmap classify --input` over every
//! dump in `fixtures/hostile/` (made by `fixtures/hostile/make.py`) and over
//! big inputs made here at run time (10 MB single lines). Each gives either a
//! clear error (exit 2, `netmap: file:line: ...`) or counted rejections, and
//! always the invariant calls + rejected + skipped = records, with the
//! records known per file, the calls summed from `-o json` and the rejected
//! records counted in the `--rejects` file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn netmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netmap"))
        .args(args)
        .current_dir(root())
        .env_remove("CLICKHOUSE_URL")
        .output()
        .expect("netmap runs")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netmap-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// The numbers of the summary line `NAME (FMT): N records, C calls in E edges, R rejected (...)[, S skipped ...] in T`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Summary {
    records: u64,
    calls: u64,
    rejected: u64,
    skipped: u64,
}

fn summary(stderr: &str) -> Summary {
    let line = stderr.lines().rfind(|l| l.contains(" records, ")).unwrap_or_else(|| panic!("no summary line in {stderr}"));
    let num_before = |word: &str| -> u64 {
        let i = line.find(word).unwrap_or_else(|| panic!("no {word:?} in {line}"));
        let head = &line[..i];
        let start = head.rfind(|c: char| !c.is_ascii_digit()).map_or(0, |j| j + 1);
        head[start..].parse().unwrap_or_else(|_| panic!("no number before {word:?} in {line}"))
    };
    Summary {
        records: num_before(" records"),
        calls: num_before(" calls"),
        rejected: num_before(" rejected"),
        skipped: if line.contains(" skipped") { num_before(" skipped") } else { 0 },
    }
}

/// Records in a `--rejects` file: CSV records for a CSV input (a quoted
/// field may hold a line break), lines for the JSON formats.
fn rejects_in(path: &Path, csv_input: bool) -> u64 {
    let data = std::fs::read(path).unwrap();
    if csv_input {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&data[..]);
        r.byte_records().count() as u64
    } else {
        data.iter().filter(|&&b| b == b'\n').count() as u64
    }
}

/// Classify `input` and check the invariant; returns the summary.
fn classify(input: &Path, extra: &[&str]) -> Summary {
    let rejects = tmp(&format!("{}.rejects", input.file_name().unwrap().to_string_lossy()));
    let t = Instant::now();
    let mut args = vec!["classify", "--cidrs", "fixtures/cidrs.csv", "--cluster", "prod", "-o", "json"];
    args.extend_from_slice(&["--input", input.to_str().unwrap(), "--rejects", rejects.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let o = netmap(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}: {err}", input.display());
    assert!(t.elapsed() < Duration::from_secs(60), "{}: took {:?}", input.display(), t.elapsed());
    let s = summary(&err);
    let edges: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{}: -o json: {e}", input.display()));
    let calls: u64 = edges.as_array().unwrap().iter().map(|e| e["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, s.calls, "{}: calls in the output vs the summary", input.display());
    assert_eq!(s.calls + s.rejected + s.skipped, s.records, "{}: calls + rejected + skipped = records", input.display());
    let csv_input = input.extension().is_some_and(|e| e == "csv");
    assert_eq!(rejects_in(&rejects, csv_input), s.rejected, "{}: records in --rejects", input.display());
    // Every rejected record is shown with file:line (up to 5).
    let shown = err.lines().filter(|l| l.starts_with("netmap: rejected ")).count() as u64;
    assert_eq!(shown, s.rejected.min(5), "{err}");
    for l in err.lines().filter(|l| l.starts_with("netmap: rejected ")) {
        let rest = &l["netmap: rejected ".len()..];
        let name = input.to_str().unwrap();
        assert!(rest.starts_with(&format!("{name}:")), "{l}");
        let line: &str = rest[name.len() + 1..].split(':').next().unwrap();
        assert!(line.parse::<u64>().is_ok_and(|n| n >= 1), "no line number in {l}");
    }
    s
}

fn hostile(name: &str) -> PathBuf {
    PathBuf::from("fixtures/hostile").join(name)
}

/// (file, records, calls, rejected, skipped): what each committed dump gives.
const DUMPS: &[(&str, u64, u64, u64, u64)] = &[
    ("truncated-mid-quote.csv", 3, 2, 1, 0),
    ("truncated-mid-object.jsonl", 3, 2, 1, 0),
    ("truncated-otlp.jsonl", 5, 4, 1, 0),
    ("truncated-otlp-pretty.json", 1, 0, 1, 0),
    ("invalid-utf8.csv", 4, 2, 2, 0),
    ("invalid-utf8.jsonl", 2, 1, 1, 0),
    ("invalid-utf8-hubble.jsonl", 2, 1, 1, 0),
    ("nul-bytes.csv", 4, 3, 1, 0),
    ("nul-bytes.jsonl", 3, 1, 2, 0),
    ("wrong-columns.csv", 4, 2, 2, 0),
    ("out-of-range.csv", 7, 2, 5, 0),
    ("out-of-range.jsonl", 5, 1, 4, 0),
    ("out-of-range-otlp.jsonl", 6, 1, 5, 0),
    ("deeply-nested.jsonl", 3, 2, 1, 0),
    ("deeply-nested-otlp.jsonl", 2, 2, 0, 0),
    ("deeply-nested-hubble.jsonl", 2, 2, 0, 0),
    ("garbage-peers.csv", 8, 7, 1, 0),
];

#[test]
fn every_hostile_dump_is_counted() {
    let listed: Vec<&str> = DUMPS.iter().map(|d| d.0).collect();
    for e in std::fs::read_dir(root().join("fixtures/hostile")).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        let known = listed.contains(&n.as_str()) || n.starts_with("cidrs-") || n == "make.py" || n == "README.md";
        assert!(known, "fixtures/hostile/{n} is not checked by tests/hostile.rs");
    }
    for &(file, records, calls, rejected, skipped) in DUMPS {
        let s = classify(&hostile(file), &[]);
        assert_eq!(s, Summary { records, calls, rejected, skipped }, "{file}");
    }
}

#[test]
fn strict_stops_at_the_first_bad_record_with_its_line() {
    for (file, line) in [("wrong-columns.csv", 3), ("nul-bytes.jsonl", 2), ("out-of-range-otlp.jsonl", 1)] {
        let p = hostile(file);
        let o = netmap(&["classify", "--cidrs", "fixtures/cidrs.csv", "--cluster", "prod", "--input", p.to_str().unwrap(), "--strict", "-o", "csv"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{file}: {err}");
        assert!(err.starts_with(&format!("netmap: {}:{line}: ", p.display())), "{file}: {err}");
        assert!(err.trim_end().ends_with("(--strict)"), "{err}");
    }
}

#[test]
fn garbage_peers_are_world_not_lost() {
    let p = hostile("garbage-peers.csv");
    let o = netmap(&["classify", "--cidrs", "fixtures/cidrs.csv", "--cluster", "prod", "--input", p.to_str().unwrap(), "--per-row", "-o", "json"]);
    assert!(o.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for r in rows {
        assert_eq!(r["kind"], "world", "{r}");
        assert_eq!(r["hint"], "invalid", "{r}");
    }
    assert!(rows.iter().any(|r| r["dest_ip"] == "::ffff:300.1.1.1"));
    assert!(rows.iter().any(|r| r["dest_ip"] == "10.0.0.0/33"));
}

#[test]
fn bad_cidr_files_name_file_line_and_value() {
    for (file, want) in [
        ("cidrs-prefix-33.csv", ":3: column cidr_block: \"10.0.0.0/33\" is not a CIDR"),
        ("cidrs-mapped-300.csv", ":3: column cidr_block: \"::ffff:300.1.1.1\" is not a CIDR or an IP address"),
        ("cidrs-invalid-utf8.csv", ":3: invalid UTF-8 at byte 2"),
        ("cidrs-truncated.json", ":1: invalid JSON: EOF while parsing"),
    ] {
        let p = hostile(file);
        for args in [
            vec!["classify", "--cidrs", p.to_str().unwrap(), "--cluster", "prod", "10.0.0.1"],
            vec!["diff", "--cidrs", "fixtures/cidrs.csv", "--cidrs", p.to_str().unwrap(), "--input", "fixtures/spans.csv"],
        ] {
            let o = netmap(&args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.starts_with(&format!("netmap: {}{want}", p.display())), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}

/// 10 MB on one line, made here (too big to commit), in every format.
#[test]
fn ten_megabyte_lines() {
    const MB10: usize = 10 << 20;
    let big = "x".repeat(MB10);
    // JSON lines: one row whose dest is 10 MB of a name that is not a DNS name (world, invalid).
    let p = tmp("big.jsonl");
    std::fs::write(&p, format!("{{\"src\":\"a\",\"dest\":\"{big}\",\"k8s_cluster_name\":\"prod\"}}\n{{\"src\":\"a\",\"dest\":\"redis\"}}\n")).unwrap();
    assert_eq!(classify(&p, &[]), Summary { records: 2, calls: 2, rejected: 0, skipped: 0 });
    // JSON lines: 10 MB of garbage without a line break: one reject.
    let p = tmp("garbage.jsonl");
    std::fs::write(&p, format!("{{{big}")).unwrap();
    assert_eq!(classify(&p, &[]), Summary { records: 1, calls: 0, rejected: 1, skipped: 0 });
    // CSV: a 10 MB record with too many fields, then a good one.
    let p = tmp("big.csv");
    let fields = ",".repeat(MB10);
    std::fs::write(&p, format!("src,dest\na,{fields}\na,redis\n")).unwrap();
    assert_eq!(classify(&p, &[]), Summary { records: 2, calls: 1, rejected: 1, skipped: 0 });
    // CSV: a 10 MB header is not a header: a clear error at line 1.
    let p = tmp("big-header.csv");
    std::fs::write(&p, &big).unwrap();
    let o = netmap(&["classify", "--cidrs", "fixtures/cidrs.csv", "--cluster", "prod", "--input", p.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.starts_with(&format!("netmap: {}:1: CSV header needs src and dest or dest_ip", p.display())), "{}", &err[..err.len().min(300)]);
    // OTLP: 5 MB deep nesting inside a span: one reject, no stack overflow.
    let p = tmp("deep.otlp.json");
    let deep = format!("{}{}", "[".repeat(MB10 / 2), "]".repeat(MB10 / 2));
    std::fs::write(&p, format!("{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{\"kind\":3,\"attributes\":[{{\"key\":\"a\",\"value\":{{\"intValue\":{deep}}}}}]}}]}}]}}]}}\n")).unwrap();
    assert_eq!(classify(&p, &["--format", "otlp"]), Summary { records: 1, calls: 0, rejected: 1, skipped: 0 });
    // Hubble: a 10 MB string in a flow field netmap reads.
    let p = tmp("big.hubble.jsonl");
    std::fs::write(&p, format!("{{\"flow\":{{\"IP\":{{\"source\":\"10.244.1.5\",\"destination\":\"10.96.0.1\"}},\"destination\":{{\"namespace\":\"{big}\",\"pod_name\":\"p\"}},\"source\":{{\"labels\":[\"k8s:io.cilium.k8s.policy.cluster=prod\"]}}}}}}\n")).unwrap();
    assert_eq!(classify(&p, &["--format", "hubble"]), Summary { records: 1, calls: 1, rejected: 0, skipped: 0 });
    for f in ["big.jsonl", "garbage.jsonl", "big.csv", "big-header.csv", "deep.otlp.json", "big.hubble.jsonl"] {
        let _ = std::fs::remove_file(tmp(f));
    }
}
