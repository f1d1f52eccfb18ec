//! The parity proof end to end, with the real binary only: `netmap generate`
//! a dump (several clusters with overlapping pod CIDRs, IPv4/IPv6, `::ffff:`,
//! `ip:port`, every kind of name, world addresses of every hint, empty and
//! garbage peers), `netmap classify` it offline to an edge file, `netmap push`
//! the CIDRs, `netmap replay` it into ClickHouse, and `netmap diff` the edge
//! file against `clickhouse` → exit 0. Through netmap's `spans` and through a
//! SigNoz-shaped table; and a replay interrupted by stopping its server (a
//! server of its own, started with `scripts/clickhouse`) and run again stores
//! every row exactly once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{netmap_cmd, server_url, stderr, Db};

const ROWS: u64 = 50_000;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("netmap-live-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, f: &str) -> String {
        self.0.join(f).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The generated dump and its offline edges: (cidrs.csv, spans.csv, offline.csv, calls offline).
struct Dump {
    cidrs: String,
    spans: String,
    offline: String,
    calls: u64,
}

fn run_ok(url: &str, db: &str, args: &[&str]) -> Output {
    let o = netmap_cmd(url, db, args, None);
    assert!(o.status.success(), "netmap {args:?} failed ({:?}): {}", o.status, stderr(&o));
    o
}

/// Generate ROWS rows and classify them offline.
fn dump(dir: &TempDir, rows: u64) -> Dump {
    let d = Dump { cidrs: dir.path("cidrs.csv"), spans: dir.path("spans.csv"), offline: dir.path("offline.csv"), calls: 0 };
    let n = rows.to_string();
    run_ok("", "", &["generate", "--clusters", "6", "--rows", &n, "--cidrs-out", &d.cidrs, "--spans-out", &d.spans]);
    let o = run_ok("", "", &["classify", "--cidrs", &d.cidrs, "--input", &d.spans, "-o", "csv"]);
    std::fs::write(&d.offline, &o.stdout).unwrap();
    // The offline edges cover every kind (the proof is not vacuous).
    let edges = netmap::edges::read_edge_file(Path::new(&d.offline)).unwrap();
    let kinds: std::collections::BTreeSet<&str> = edges.iter().map(|e| e.key.kind.as_str()).collect();
    assert_eq!(kinds.len(), netmap::Kind::ALL.len(), "kinds in the generated dump: {kinds:?}");
    let calls = edges.iter().map(|e| e.counts.calls).sum();
    Dump { calls, ..d }
}

/// The counts of a replay summary: (records read, rows inserted, rejected, rows/s).
fn summary(err: &str) -> (u64, u64, u64, u64) {
    let line = err.lines().rev().find(|l| l.contains("records read")).unwrap_or_else(|| panic!("no summary in: {err}"));
    let num_before = |word: &str| -> u64 {
        let i = line.find(word).unwrap_or_else(|| panic!("no {word:?} in {line}"));
        line[..i].trim_end().rsplit([' ', '(']).next().unwrap().parse().unwrap_or_else(|_| panic!("{line}"))
    };
    (num_before(" records read"), num_before(" rows inserted"), num_before(" rejected"), num_before(" rows/s"))
}

/// Rows in spans, rows in network_raw, calls in network_connections.
fn totals(db: &Db) -> (u64, u64, u64) {
    (
        db.count("SELECT count() FROM spans"),
        db.count("SELECT count() FROM network_raw"),
        db.count("SELECT toUInt64(sum(calls)) FROM network_connections"),
    )
}

fn diff_equal(url: &str, db: &str, offline: &str) {
    let o = netmap_cmd(url, db, &["diff", offline, "clickhouse", "-o", "csv"], None);
    assert_eq!(o.status.code(), Some(0), "diff found differences:\n{}\n{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(stderr(&o).contains(" 0 only in left, 0 only in right, 0 kind changed, 0 counts differ"), "{}", stderr(&o));
}

#[test]
fn replay_equals_classify_offline() {
    let Some(db) = Db::fresh("replay") else { return };
    let dir = TempDir::new("replay");
    let d = dump(&dir, ROWS);
    db.apply_schema(&[]);
    db.push(&std::fs::read_to_string(&d.cidrs).unwrap(), &[]);
    let o = db.netmap(&["replay", "--input", &d.spans], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let (read, inserted, rejected, rate) = summary(&stderr(&o));
    eprintln!("replay of {ROWS} rows: {}", stderr(&o).lines().last().unwrap_or(""));
    assert_eq!(read, ROWS);
    assert_eq!(inserted + rejected, read, "{}", stderr(&o));
    assert!(rejected > 0, "the dump has empty peers, which are rejected");
    assert!(rate > 0);
    assert_eq!(inserted, d.calls, "every row the offline classification counts is inserted");
    assert_eq!(totals(&db), (inserted, inserted, inserted));
    diff_equal(&db.url, &db.name, &d.offline);
    // The same replay again stores nothing new: every batch is a duplicate.
    let o = db.netmap(&["replay", "--input", &d.spans], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(summary(&stderr(&o)).1, inserted, "the summary counts rows sent");
    assert_eq!(totals(&db), (inserted, inserted, inserted), "re-sent batches are dropped at every table");
    diff_equal(&db.url, &db.name, &d.offline);
}

#[test]
fn replay_again_inserts_nothing_new() {
    let Some(db) = Db::fresh("replay_again") else { return };
    let dir = TempDir::new("replay-again");
    let d = dump(&dir, 5_000);
    db.apply_schema(&[]);
    db.push(&std::fs::read_to_string(&d.cidrs).unwrap(), &[]);
    for _ in 0..2 {
        let o = db.netmap(&["replay", "--input", &d.spans, "--batch-size", "700"], None);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(totals(&db), (d.calls, d.calls, d.calls));
    }
    diff_equal(&db.url, &db.name, &d.offline);
    // A new --run-id is new data: everything twice.
    let o = db.netmap(&["replay", "--input", &d.spans, "--batch-size", "700", "--run-id", "second"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(totals(&db), (2 * d.calls, 2 * d.calls, 2 * d.calls));
    // --time-shift: the rows move, the classification does not.
    let o = db.netmap(&["replay", "--input", &d.spans, "--time-shift", "now", "--run-id", "third"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("timestamps moved by +"), "{}", stderr(&o));
    let recent = db.count("SELECT count() FROM spans WHERE timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now64(9) + INTERVAL 1 SECOND");
    assert_eq!(recent, d.calls);
    let o = db.netmap(&["diff", &d.offline, "clickhouse"], None);
    assert_eq!(o.status.code(), Some(1), "three copies differ from one in counts: {}", stderr(&o));
    // The shifted copy alone (the last hour) equals the offline edges.
    let since = (now_secs() as i64 - 3600) * 1_000_000_000;
    let mut recent = db.rt.block_on(netmap::clickhouse::edges::read_edges(&db.ch, None, Some(since), None)).unwrap();
    let mut offline = netmap::edges::read_edge_file(Path::new(&d.offline)).unwrap();
    recent.sort_by(|a, b| a.key.cmp(&b.key));
    offline.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(recent.len(), offline.len());
    assert!(recent == offline, "the shifted copy differs from the offline edges");
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn replay_through_signoz_equals_classify_offline() {
    let Some(db) = Db::fresh("replay_signoz") else { return };
    let table = crate::parity::signoz_table(&db);
    let src_db = format!("{}_src", db.name);
    let dir = TempDir::new("replay-signoz");
    let d = dump(&dir, ROWS);
    db.apply_schema(&["--source", "signoz", "--signoz-table", &table]);
    db.push(&std::fs::read_to_string(&d.cidrs).unwrap(), &[]);
    // The SigNoz table must be the one the view reads.
    let o = db.netmap(&["replay", "--input", &d.spans, "--source", "signoz", "--signoz-table", &format!("{src_db}.other")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(&format!("no table {src_db}.other: give SigNoz's trace table")), "{}", stderr(&o));
    let o = db.netmap(&["replay", "--input", &d.spans, "--source", "signoz", "--signoz-table", &table], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let (read, inserted, rejected, _) = summary(&stderr(&o));
    assert_eq!((read, inserted + rejected, inserted), (ROWS, ROWS, d.calls));
    assert!(stderr(&o).contains(&format!("rows inserted into {table}")), "{}", stderr(&o));
    // This SigNoz table keeps no deduplication window: said once, up front.
    assert!(stderr(&o).contains(&format!("warning: table {table} keeps no insert deduplication window")), "{}", stderr(&o));
    assert_eq!(db.count(&format!("SELECT count() FROM {table}")), inserted);
    assert_eq!(db.count("SELECT count() FROM spans"), 0, "SigNoz rows do not pass through spans");
    assert_eq!(db.count("SELECT count() FROM network_raw"), inserted);
    diff_equal(&db.url, &db.name, &d.offline);
    // Sent again: the SigNoz table (no window) stores it twice, netmap's tables count it once.
    let o = db.netmap(&["replay", "--input", &d.spans, "--source", "signoz", "--signoz-table", &table], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(db.count(&format!("SELECT count() FROM {table}")), 2 * inserted);
    assert_eq!(db.count("SELECT count() FROM network_raw"), inserted);
    diff_equal(&db.url, &db.name, &d.offline);
    db.exec_server(&format!("DROP DATABASE IF EXISTS {src_db} SYNC"));
}

/// A ClickHouse server of this test's own (`scripts/clickhouse`), stopped on drop.
pub(crate) struct OwnServer {
    dir: TempDir,
    url: String,
    port: String,
}

fn script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/clickhouse")
}

impl OwnServer {
    pub(crate) fn start(name: &str) -> OwnServer {
        let dir = TempDir::new(name);
        let o = Command::new(script()).args(["start", "--dir", &dir.path("ch")]).output().unwrap();
        assert!(o.status.success(), "scripts/clickhouse start: {}", stderr(&o));
        let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let port = url.rsplit(':').next().unwrap().to_string();
        OwnServer { dir, url, port }
    }
    pub(crate) fn stop(&self) {
        let o = Command::new(script()).args(["stop", "--dir", &self.dir.path("ch")]).output().unwrap();
        assert!(o.status.success(), "scripts/clickhouse stop: {}", stderr(&o));
    }
    pub(crate) fn restart(&self) {
        let o = Command::new(script()).args(["start", "--dir", &self.dir.path("ch"), "--http-port", &self.port]).output().unwrap();
        assert!(o.status.success(), "scripts/clickhouse start: {}", stderr(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), self.url);
    }
    pub(crate) fn db(&self, name: &str) -> Db {
        let ch = netmap::clickhouse::Ch::new(&netmap::clickhouse::Config {
            url: self.url.clone(),
            user: "default".into(),
            password: None,
            database: name.into(),
            timeout: Duration::from_secs(120),
            ca_cert: None,
        })
        .unwrap();
        Db { url: self.url.clone(), name: name.into(), ch, rt: netmap::clickhouse::runtime().unwrap() }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", "--dir", &self.dir.path("ch")]).output();
    }
}

fn spawn_replay(url: &str, db: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netmap"))
        .args(args)
        .env("CLICKHOUSE_URL", url)
        .env("NETMAP_DATABASE", db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until some but not all rows are in `spans` (the replay is under way).
fn wait_midway(db: &Db, child: &mut Child, total: u64) -> u64 {
    let t = Instant::now();
    loop {
        let n = db.rt.block_on(db.ch.run("test", db.ch.client().query_raw("SELECT count() FROM spans").fetch_one::<u64>())).unwrap_or(0);
        if n > 0 {
            assert!(n < total, "the replay finished before it could be interrupted ({n} rows): make it slower");
            return n;
        }
        assert!(child.try_wait().unwrap().is_none(), "the replay ended before inserting anything");
        assert!(t.elapsed() < Duration::from_secs(60), "no rows after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn replay_survives_a_server_restart() {
    if server_url().is_none() {
        return;
    }
    let server = OwnServer::start("replay-restart");
    let dir = TempDir::new("replay-restart-data");
    // Small batches (each insert through the view chain costs ~0.25 s here), so the
    // replay is still going when the server stops.
    let d = dump(&dir, 10_000);
    let cidrs = std::fs::read_to_string(&d.cidrs).unwrap();

    // 1. The server stops mid-replay and --retries 0 gives up: exit 2 naming the batch.
    //    The same replay, run again, stores every row exactly once.
    let db = server.db("netmap_t_restart_a");
    db.apply_schema(&[]);
    db.push(&cidrs, &[]);
    let args = ["replay", "--input", &d.spans, "--batch-size", "200", "--retries", "0"];
    let mut child = spawn_replay(&server.url, &db.name, &args);
    let before = wait_midway(&db, &mut child, d.calls);
    server.stop();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("netmap: replay: batch lines "), "{err}");
    assert!(err.contains(&format!(": clickhouse at {}: ", server.url)), "{err}");
    assert!(err.contains("run the same replay again to resume"), "{err}");
    server.restart();
    let (spans, _, _) = totals(&db);
    assert!(spans >= before && spans < d.calls, "{before} <= {spans} < {}", d.calls);
    let o = netmap_cmd(&server.url, &db.name, &args, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(totals(&db), (d.calls, d.calls, d.calls), "no row lost, none twice");
    diff_equal(&server.url, &db.name, &d.offline);

    // 2. The server stops mid-replay and comes back within the retries: the replay completes by itself.
    let db = server.db("netmap_t_restart_b");
    db.apply_schema(&[]);
    db.push(&cidrs, &[]);
    let args = ["replay", "--input", &d.spans, "--batch-size", "200", "--retries", "8"];
    let mut child = spawn_replay(&server.url, &db.name, &args);
    wait_midway(&db, &mut child, d.calls);
    server.stop();
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("failed: cannot connect: connection refused; retrying in"), "{err}");
    assert_eq!(totals(&db), (d.calls, d.calls, d.calls), "no row lost, none twice:\n{err}");
    diff_equal(&server.url, &db.name, &d.offline);
}

/// A VPC flow log (fixtures/vpcflow-sample.log: a header, TCP/UDP/ICMP
/// flows, a reply half, a REJECT, a NODATA record, a record with a field missing) replayed
/// for --cluster gives the edges `classify` gives offline, through the views.
#[test]
fn replay_vpcflow_equals_classify_offline() {
    let Some(db) = Db::fresh("replay_vpc") else { return };
    let dir = TempDir::new("replay-vpc");
    let root = env!("CARGO_MANIFEST_DIR");
    let (cidrs, log) = (format!("{root}/fixtures/cidrs.csv"), format!("{root}/fixtures/vpcflow-sample.log"));
    db.apply_schema(&[]);
    db.push(&std::fs::read_to_string(&cidrs).unwrap(), &[]);
    let o = db.netmap(&["replay", "--input", &log, "--cluster", "prod"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("10 records read, 7 rows inserted") && stderr(&o).contains("1 rejected (vpcflow: 1), 2 skipped"), "{}", stderr(&o));
    let o = db.netmap(&["classify", "--cidrs", &cidrs, "--input", &log, "--cluster", "prod", "-o", "csv"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let offline = dir.0.join("vpc-edges.csv");
    std::fs::write(&offline, &o.stdout).unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("prod,10.244.1.5,52.94.133.131:443,TCP,world,1,3,0,0"));
    diff_equal(&db.url, &db.name, offline.to_str().unwrap());
}

/// A settings profile that turns deduplication off (`deduplicate_insert =
/// disable`, set here on the connection as a profile would) does not make
/// replay store a batch sent again twice: replay's connection turns it back
/// on. Sent through the connection as the profile leaves it, the same batch
/// is stored again, so the setting does take effect.
#[test]
fn a_batch_sent_again_is_stored_once_whatever_the_profile() {
    use netmap::clickhouse::replay::{self, Batch, Retry, Target, Tokens};
    use netmap::input::SpanRef;
    let Some(db) = Db::fresh("replay_profile") else { return };
    db.apply_schema(&[]);
    let off = db.ch.with_setting("deduplicate_insert", "disable");
    let span = SpanRef {
        line: 1,
        timestamp: "2024-05-01T12:00:00Z",
        timestamp_ns: 1_714_564_800_000_000_000,
        cluster: "prod",
        src: "checkout",
        dest_ip: "10.0.0.1",
        protocol: "http",
        duration_ns: 5,
        ..SpanRef::default()
    };
    let mut batch = Batch::new(1);
    batch.push(&span, 0).unwrap();
    batch.seal(&Tokens::new(&Target::Spans, "", ""));
    let retry = Retry { retries: 0, first_delay: Duration::from_millis(10) };
    let send = |ch| db.rt.block_on(replay::insert_batch(ch, &Target::Spans, &batch, &retry, &mut |_| {})).unwrap();
    let ins = db.rt.block_on(replay::for_inserts(&off)).unwrap();
    send(&ins);
    send(&ins);
    assert_eq!(db.count("SELECT count() FROM spans"), 1);
    assert_eq!(db.count("SELECT sum(calls) FROM network_connections"), 1);
    send(&off);
    assert_eq!(db.count("SELECT count() FROM spans"), 2, "the profile's setting took effect");
}
