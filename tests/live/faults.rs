//! ClickHouse faults (issue 7): a server that is not running, a server that
//! never answers or answers late (the `--timeout` is honoured and named), a
//! block of garbage peers through the views (the insert succeeds, nothing is
//! lost, every row is classified as the Rust rule says), and `push` replacing
//! a cluster's CIDRs in a loop while concurrent readers classify through the
//! dictionary (every read sees the old set or the new one, never a mix or
//! nothing). The replay faults (server stopped mid-replay) live with replay.
//!
//! The fake servers here are plain TCP listeners on 127.0.0.1 in the test
//! process, each bounded in time.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::parity::{self, SpanRow};
use crate::{netmap_cmd, server_url, stderr, Db};

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A listener that accepts connections and never answers, for `life` at most.
fn silent_server(life: Duration) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let end = Instant::now() + life;
        let mut held = Vec::new();
        while Instant::now() < end {
            match l.accept() {
                Ok((s, _)) => held.push(s), // read nothing, answer nothing
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    addr
}

/// A listener that answers every connection with `reply` (after reading
/// what the client sent, up to the end of its headers) and hangs up, for `life` at most.
fn answering_server(reply: &'static [u8], life: Duration) -> SocketAddr {
    use std::io::{Read, Write};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let end = Instant::now() + life;
        while Instant::now() < end {
            let Ok((mut s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
            let mut buf = [0u8; 65536];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(reply);
        }
    });
    addr
}

/// A proxy to `upstream` that waits `delay` before passing on each new
/// connection; it stops accepting after `life`.
fn delaying_proxy(upstream: SocketAddr, delay: Duration, life: Duration) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let end = Instant::now() + life;
        while Instant::now() < end {
            let Ok((client, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            std::thread::spawn(move || {
                client.set_nonblocking(false).unwrap();
                std::thread::sleep(delay);
                let Ok(server) = TcpStream::connect(upstream) else { return };
                pipe(client, server);
            });
        }
    });
    addr
}

/// Copy both ways until either side closes.
pub fn pipe(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut a, mut b) = (a, b);
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// host:port of a URL `http://host:port`.
pub fn socket_of(url: &str) -> SocketAddr {
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    hostport.parse().unwrap_or_else(|_| panic!("{url} is not http://ip:port"))
}

const CIDRS: &str = "cluster_name,network_type,cidr_block\nc,pod_cidr,10.0.0.0/8\n";

/// Every ClickHouse command, with a password in the environment to be sure it never shows.
const COMMANDS: &[&[&str]] = &[
    &["apply-schema"],
    &["apply-schema", "--check"],
    &["push", "--input", "-"],
    &["classify", "--clickhouse", "--cluster", "c", "10.0.0.1"],
    &["diff", "clickhouse", "fixtures/edges.csv"],
];

fn run(url: &str, args: &[&str], extra: &[&str]) -> (std::process::Output, Duration) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(extra);
    let t = Instant::now();
    let o = netmap_cmd(url, "netmap", &all, Some(CIDRS));
    (o, t.elapsed())
}

#[test]
fn server_not_running_fails_fast_with_one_line() {
    let Some(_) = server_url() else { return };
    let url = format!("http://127.0.0.1:{}", closed_port());
    for args in COMMANDS {
        let (o, took) = run(&url, args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with(&format!("netmap: clickhouse at {url}: ")), "{args:?}: {err}");
        assert!(err.ends_with(": cannot connect: connection refused\n") && err.lines().count() == 1, "{args:?}: {err}");
        assert!(took < Duration::from_secs(2), "{args:?} took {took:?}");
    }
}

#[test]
fn a_server_that_never_answers_times_out_as_configured() {
    let Some(_) = server_url() else { return };
    let addr = silent_server(Duration::from_secs(60));
    let url = format!("http://{addr}");
    for args in COMMANDS {
        let (o, took) = run(&url, args, &["--timeout", "1"]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with(&format!("netmap: clickhouse at {url}: ")), "{args:?}: {err}");
        assert!(err.ends_with(": timed out after 1s (--timeout)\n") && err.lines().count() == 1, "{args:?}: {err}");
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(4), "{args:?} took {took:?}");
    }
    // Fractions are honoured and said as given.
    let (o, took) = run(&url, &["apply-schema", "--check"], &["--timeout", "0.5"]);
    assert_eq!(stderr(&o), format!("netmap: clickhouse at {url}: timed out after 0.5s (--timeout)\n"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Nonsense is refused before anything is sent.
    for bad in ["0", "-1", "nan", "inf"] {
        let flag = format!("--timeout={bad}");
        let (o, _) = run(&url, &["apply-schema"], &[&flag]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("must be a positive number of seconds"), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn a_server_that_is_not_clickhouse_is_one_line_exit_2() {
    let Some(_) = server_url() else { return };
    let replies: [(&[u8], &str); 5] = [
        (b"", "connection closed"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not HTTP"),
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\nConnection: close\r\n\r\nsomething broke here\n", "HTTP 500"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<html>hi<", "a web page"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\ncut", "a cut body"),
    ];
    for (reply, what) in replies {
        let url = format!("http://{}", answering_server(reply, Duration::from_secs(30)));
        for args in COMMANDS {
            let (o, took) = run(&url, args, &["--timeout", "5"]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{what}: {args:?}: {err}");
            assert!(err.starts_with(&format!("netmap: clickhouse at {url}: ")) && err.lines().count() == 1, "{what}: {args:?}: {err}");
            assert!(took < Duration::from_secs(4), "{what}: {args:?} took {took:?}");
            // It connected: whatever broke, it is not "cannot connect".
            assert!(!err.contains("cannot connect"), "{what}: {args:?}: {err}");
            eprintln!("{what}: {}", err.trim_end());
        }
    }
}

#[test]
fn a_slow_server_within_the_timeout_works() {
    let Some(real) = server_url() else { return };
    let Some(db) = Db::fresh("slow") else { return };
    db.apply_schema(&[]);
    let proxy = format!("http://{}", delaying_proxy(socket_of(&real), Duration::from_millis(1500), Duration::from_secs(60)));
    let o = netmap_cmd(&proxy, &db.name, &["push", "--input", "-", "--timeout", "1"], Some(CIDRS));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).ends_with("timed out after 1s (--timeout)\n"), "{}", stderr(&o));
    assert!(stderr(&o).starts_with(&format!("netmap: clickhouse at {proxy}: ")), "{}", stderr(&o));
    assert_eq!(db.count("SELECT count() FROM cluster_config_versions"), 0, "a timed-out push published nothing");
    let o = netmap_cmd(&proxy, &db.name, &["push", "--input", "-", "--timeout", "10"], Some(CIDRS));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(db.count("SELECT count() FROM active_cidrs"), 1);
}

/// Peers no tracer should send, valid UTF-8 (so the Rust rule can say what they are).
fn garbage_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "::ffff:300.1.1.1", "10.0.0.0/33", "999.999.999.999", "1.2.3.4.5", "[::1", "[::1]:99999", "::1]", "[]",
        ":::", "1::2::3", "fe80::1%", "%eth0", "http://", "http://@", "http://[::1", "://10.0.0.1", "a://b://c",
        "10.0.0.1:", ":80", "10.0.0.1:0x50", "0x0a.0.0.1", "010.000.000.001", "1e3", "-", ".", "..", "a..b",
        "\u{0}", "10.0.0.1\u{0}", "\u{0}10.0.0.1", "\n10.0.0.1\n", "10.0.0.1\r\n", "\t", "\u{feff}10.0.0.1",
        "\u{a0}10.244.1.5\u{a0}", "\u{2028}", "ñandú.example", "xn--", "Ⅷ.example", "１０.０.０.１", "'; DROP TABLE spans; --",
        "\\", "\"\"", "%s%s%n", "${database}", "{{x}}", "NULL", "null", "\\N",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("9".repeat(10_000));
    v.push(":".repeat(10_000));
    v.push(format!("http://{}/", "a.".repeat(5_000)));
    v.push(format!("{}.example", "a".repeat(64)));
    v.push("a.".repeat(127) + "a");
    // The peer fuzz target's corpus, split as that target does.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/peer");
    let mut files: Vec<_> = std::fs::read_dir(&dir).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        v.extend(text.splitn(3, '\n').map(str::to_string));
    }
    v
}

#[test]
fn a_garbage_block_inserts_and_loses_nothing() {
    let Some(db) = Db::fresh("garbage") else { return };
    db.apply_schema(&[]);
    db.push(&parity::cidr_csv(), &[]);
    let c = parity::classifier();
    let garbage = garbage_strings();
    let mut rows = Vec::new();
    for (i, g) in garbage.iter().enumerate() {
        // As dest_ip alone, as dest alone, and both (dest_ip wins when it is an address).
        for (j, (d, ip)) in [("", g.as_str()), (g.as_str(), ""), ("redis", g.as_str())].into_iter().enumerate() {
            rows.push(SpanRow {
                timestamp: 1_714_564_800_000_000_000 + i as i64,
                k8s_cluster_name: parity::CLUSTERS[(i + j) % parity::CLUSTERS.len()].to_string(),
                src: format!("g{i:05}-{j}"),
                dest: d.to_string(),
                dest_ip: ip.to_string(),
                protocol: "tcp".into(),
                duration_ns: 1,
                is_error: 0,
            });
        }
    }
    // One block: a single throwing row would fail all of it.
    parity::insert_spans(&db, &rows).expect("a block of garbage peers inserts");
    // Bytes that are not UTF-8 (ClickHouse strings are bytes; the Rust readers reject these).
    let bad_bytes = ["FF", "C3", "80", "00", "ED A0 80", "F4 90 80 80", "31 30 2E 30 2E 30 2E 31 FF", "5B 3A 3A 31 5D FE"];
    let values: Vec<String> = bad_bytes
        .iter()
        .enumerate()
        .map(|(i, h)| format!("(now64(9), 'prod', 'b{i:02}', '', unhex('{}'))", h.replace(' ', "")))
        .collect();
    db.exec(&format!("INSERT INTO spans (timestamp, k8s_cluster_name, src, dest, dest_ip) VALUES {}", values.join(", ")));

    let mut want = std::collections::BTreeMap::new();
    for r in &rows {
        if let Some(e) = parity::expected(&c, &r.src, &r.k8s_cluster_name, &r.dest, &r.dest_ip) {
            want.insert(r.src.clone(), e);
        }
    }
    let got: Vec<parity::RawRow> = parity::fetch_raw(&db, "WHERE startsWith(src, 'g')");
    let got: std::collections::BTreeMap<_, _> = got.into_iter().map(|r| (r.src.clone(), r)).collect();
    // None lost: every row with a peer is in network_raw, as the Rust rule says.
    assert!(want.len() > 150, "{}", want.len());
    parity::compare_rows(&want, &got);
    // The non-UTF-8 peers: kept, world, flagged invalid.
    assert_eq!(db.count("SELECT count() FROM network_raw WHERE startsWith(src, 'b')"), bad_bytes.len() as u64);
    assert_eq!(
        db.count("SELECT count() FROM network_raw WHERE startsWith(src, 'b') AND kind = 'world' AND hint = 'invalid'"),
        bad_bytes.len() as u64
    );
    // Spans with a non-blank peer = rows classified = calls in the map.
    let with_peer = rows.iter().filter(|r| netmap::rule::has_peer(&r.dest, &r.dest_ip)).count() + bad_bytes.len();
    assert_eq!(db.count("SELECT count() FROM network_raw"), with_peer as u64);
    assert_eq!(db.count("SELECT toUInt64(sum(calls)) FROM network_connections"), with_peer as u64);
    assert_eq!(db.count("SELECT count() FROM spans"), (rows.len() + bad_bytes.len()) as u64);
}

/// The classification of fixed probe addresses for `cluster`, through the
/// dictionary and the same SQL functions the view uses (sql/0007, 0010).
fn probe_sql(db: &str, cluster: &str, probes: &[&str]) -> String {
    let list: Vec<String> = probes.iter().map(|p| format!("'{p}'")).collect();
    format!(
        "SELECT arrayStringConcat(groupArray(r), ',') FROM (\
           SELECT concat(ip, '=', tupleElement(v, 1), '/', tupleElement(v, 3)) AS r FROM (\
             SELECT ip, {db}_entry_verdict({db}_entry_at({db}_trie_entries(toIPv6(ip)), concat(',', hex('{cluster}'), ':')), toUInt128(toIPv6(ip))) AS v \
             FROM (SELECT arrayJoin([{}]) AS ip)) ORDER BY ip)",
        list.join(", ")
    )
}

fn rust_answer(cidrs: &str, cluster: &str, probes: &[&str]) -> String {
    let recs = netmap::cidr::read_cidr_text(cidrs, "x.csv").unwrap();
    let c = netmap::Classifier::new(netmap::CidrConfig::from_records(&recs), netmap::rule::DEFAULT_CLUSTER_DOMAIN);
    let mut v: Vec<&str> = probes.to_vec();
    v.sort();
    v.iter()
        .map(|p| {
            let r = c.classify(cluster, p).unwrap();
            format!("{p}={}/{}", r.kind, r.matched_cidr().map(|n| n.to_string()).unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn push_in_a_loop_never_shows_readers_a_mixed_or_empty_set() {
    let Some(db) = Db::fresh("atomic") else { return };
    db.apply_schema(&[]);
    let a = "cluster_name,network_type,cidr_block\nprod,pod_cidr,10.1.0.0/16\nprod,service_cidr,10.96.0.0/12\nprod,node_cidr,192.168.1.0/24\nother,pod_cidr,10.9.0.0/16\n";
    let b = "cluster_name,network_type,cidr_block\nprod,pod_cidr,10.2.0.0/16\nprod,service_cidr,10.200.0.0/16\nprod,node_cidr,192.168.2.0/24\nprod,remote_node_cidr,172.20.0.0/16\nprod,pod_cidr,fd00:2::/64\nother,pod_cidr,10.9.0.0/16\n";
    let probes = ["10.1.2.3", "10.2.3.4", "10.96.0.1", "10.200.0.1", "192.168.1.5", "192.168.2.5", "172.20.1.1", "8.8.8.8", "fd00:2::1", "10.9.1.1"];
    let (want_a, want_b) = (rust_answer(a, "prod", &probes), rust_answer(b, "prod", &probes));
    assert_ne!(want_a, want_b);
    db.push(a, &[]);
    let sql = probe_sql(&db.name, "prod", &probes);
    let read = |db: &Db| -> String {
        db.rt
            .block_on(db.ch.run("probe", db.ch.client().query_raw(&sql).fetch_one::<String>()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(read(&db), want_a, "the SQL rule over set A");
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let (sql, url, name) = (sql.clone(), db.url.clone(), db.name.clone());
            let (want_a, want_b) = (want_a.clone(), want_b.clone());
            std::thread::spawn(move || {
                let ch = netmap::clickhouse::Ch::new(&netmap::clickhouse::Config {
                    url,
                    user: "default".into(),
                    password: std::env::var("CLICKHOUSE_PASSWORD").ok().filter(|p| !p.is_empty()),
                    database: name,
                    timeout: Duration::from_secs(60),
                    ca_cert: None,
                })
                .unwrap();
                let rt = netmap::clickhouse::runtime().unwrap();
                let (mut n_a, mut n_b) = (0u64, 0u64);
                let end = Instant::now() + Duration::from_secs(240);
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    let got = rt.block_on(ch.run("probe", ch.client().query_raw(&sql).fetch_one::<String>())).unwrap();
                    if got == want_a {
                        n_a += 1;
                    } else if got == want_b {
                        n_b += 1;
                    } else {
                        panic!("a reader saw neither set A nor set B:\n got {got}\n   A {want_a}\n   B {want_b}");
                    }
                }
                (n_a, n_b)
            })
        })
        .collect();
    let pushes = 16;
    for i in 0..pushes {
        let set = if i % 2 == 0 { b } else { a };
        db.push(set, &[]);
    }
    stop.store(true, Ordering::Relaxed);
    let (mut n_a, mut n_b) = (0, 0);
    for r in readers {
        let (x, y) = r.join().expect("a reader saw a mixed or empty set");
        n_a += x;
        n_b += y;
    }
    eprintln!("atomicity: {pushes} pushes, {} reads: {n_a} saw A, {n_b} saw B", n_a + n_b);
    assert!(n_a + n_b >= 100, "too few reads to mean anything: {}", n_a + n_b);
    assert!(n_a > 0 && n_b > 0, "readers saw only one set (A {n_a}, B {n_b})");
    // The last push was A.
    assert_eq!(read(&db), want_a);
}
