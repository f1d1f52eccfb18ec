//! The live tests: one binary for everything that needs a real external
//! program or server (ClickHouse, a local Kubernetes API server, a browser).
//!
//! Live tests against a real ClickHouse server: the schema, `push`, and the
//! parity proof — the SQL rule equals the Rust rule row for row and edge for
//! edge, garbage included, through netmap's own `spans` and through a
//! SigNoz-shaped trace table.
//!
//! The server comes from `CLICKHOUSE_URL`; `scripts/test` starts one with
//! `scripts/clickhouse` and sets `NETMAP_LIVE_REQUIRED=1`, under which a
//! missing server fails every test. Run by plain `cargo test` without a
//! server, each test prints why and passes without checking anything.
//! Every test uses its own database (`netmap_t_<name>`), so they run in
//! parallel on one server.

mod faults;
mod graph;
mod kube;
mod memo;
mod parity;
mod replay;
mod security;

use std::process::{Command, Output};
use std::time::Duration;

use netmap::clickhouse::{Ch, Config};

/// The server URL, or `None` (skip) when no server was given and none is required.
pub fn server_url() -> Option<String> {
    match std::env::var("CLICKHOUSE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("NETMAP_LIVE_REQUIRED").is_ok_and(|v| v == "1") => {
            panic!("NETMAP_LIVE_REQUIRED=1 but CLICKHOUSE_URL is not set: run the suite with scripts/test")
        }
        _ => {
            eprintln!("skipped: no ClickHouse server (set CLICKHOUSE_URL, or run scripts/test)");
            None
        }
    }
}

/// One test's database on the live server.
pub struct Db {
    /// Server URL.
    pub url: String,
    /// Database name.
    pub name: String,
    /// A connection bound to it.
    pub ch: Ch,
    /// The test's runtime.
    pub rt: tokio::runtime::Runtime,
}

impl Db {
    /// A fresh (dropped) database `netmap_t_<name>`, or `None` to skip.
    pub fn fresh(name: &str) -> Option<Db> {
        let url = server_url()?;
        let name = format!("netmap_t_{name}");
        let ch = Ch::new(&Config {
            url: url.clone(),
            user: "default".into(),
            password: std::env::var("CLICKHOUSE_PASSWORD").ok().filter(|p| !p.is_empty()),
            database: name.clone(),
            timeout: Duration::from_secs(120),
            ca_cert: None,
        })
        .unwrap();
        let rt = netmap::clickhouse::runtime().unwrap();
        let db = Db { url, name, ch, rt };
        db.exec_server(&format!("DROP DATABASE IF EXISTS {} SYNC", db.name));
        Some(db)
    }

    /// Run a statement without a current database; panics on error.
    pub fn exec_server(&self, sql: &str) {
        self.rt.block_on(self.ch.exec_server("test", sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Run a statement in the database; panics on error.
    pub fn exec(&self, sql: &str) {
        self.rt.block_on(self.ch.exec("test", sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A one-column u64 answer.
    pub fn count(&self, sql: &str) -> u64 {
        self.rt
            .block_on(self.ch.run("test", self.ch.client().query_raw(sql).fetch_one::<u64>()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// True when the database exists.
    pub fn exists(&self) -> bool {
        let sql = "SELECT count() FROM system.databases WHERE name = {db:String}";
        let n: u64 = self
            .rt
            .block_on(self.ch.run("test", self.ch.server_client().query_raw(sql).param("db", &self.name).fetch_one::<u64>()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        n > 0
    }

    /// Run the netmap binary against this database.
    pub fn netmap(&self, args: &[&str], stdin: Option<&str>) -> Output {
        netmap_cmd(&self.url, &self.name, args, stdin)
    }

    /// `netmap apply-schema` with extra args; panics unless it succeeds.
    pub fn apply_schema(&self, extra: &[&str]) {
        let mut args = vec!["apply-schema"];
        args.extend_from_slice(extra);
        let out = self.netmap(&args, None);
        assert!(out.status.success(), "apply-schema failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `netmap push` of a CSV text; panics unless it succeeds; returns stderr.
    pub fn push(&self, csv: &str, extra: &[&str]) -> String {
        let mut args = vec!["push", "--input", "-"];
        args.extend_from_slice(extra);
        let out = self.netmap(&args, Some(csv));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "push failed: {err}");
        if extra.contains(&"--dry-run") {
            String::from_utf8_lossy(&out.stdout).into_owned() + &err
        } else {
            err
        }
    }
}

/// Run the netmap binary with `CLICKHOUSE_URL`/`NETMAP_DATABASE` set.
/// Write a child's stdin; a child that exits before reading it all (e.g. on a
/// connection error) closes the pipe, which is not the test's failure.
pub fn write_stdin(si: &mut std::process::ChildStdin, bytes: &[u8]) {
    use std::io::Write;
    if let Err(e) = si.write_all(bytes) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
}

pub fn netmap_cmd(url: &str, db: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netmap"));
    cmd.args(args)
        .env("CLICKHOUSE_URL", url)
        .env("NETMAP_DATABASE", db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("netmap binary runs");
    {
        let mut si = child.stdin.take().expect("stdin piped");
        if let Some(s) = stdin {
            write_stdin(&mut si, s.as_bytes());
        }
    }
    child.wait_with_output().expect("netmap finishes")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn apply_schema_twice_and_check() {
    let Some(db) = Db::fresh("apply") else { return };
    let o = db.netmap(&["apply-schema", "--check"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("0001_cluster_network_config.sql pending"), "{}", stderr(&o));
    // --check created nothing.
    assert!(!db.exists());
    let o = db.netmap(&["apply-schema", "--dry-run"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let sql = String::from_utf8_lossy(&o.stdout);
    assert!(sql.contains(&format!("CREATE TABLE IF NOT EXISTS {}.network_connections", db.name)), "{sql}");
    assert!(!db.exists());
    let o = db.netmap(&["apply-schema"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("applied 24 migration(s)"), "{}", stderr(&o));
    let o = db.netmap(&["apply-schema"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing to apply (24 migrations applied)"), "{}", stderr(&o));
    let o = db.netmap(&["apply-schema", "--check"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The version table: a started and a done row per migration, done with checksum and duration.
    assert_eq!(db.count("SELECT count() FROM schema_migrations WHERE status = 'started'"), 24);
    assert_eq!(db.count("SELECT count() FROM schema_migrations WHERE status = 'done' AND length(checksum) = 96"), 24);
    // The signoz migrations are pending for --source signoz only.
    let o = db.netmap(&["apply-schema", "--check", "--source", "signoz"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("0015_signoz_to_stream.sql pending"), "{}", stderr(&o));
    assert!(stderr(&o).contains("0026_signoz_probe_in_feeder.sql pending"), "{}", stderr(&o));
}

/// Copy the project's migrations into `dir`: all of them, or those named before `before`.
pub fn copy_sql(dir: &std::path::Path, before: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql")).unwrap() {
        let e = e.unwrap();
        if before.is_none_or(|b| e.file_name().to_string_lossy().as_ref() < b) {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn drift_is_reported_and_not_rerun() {
    let Some(db) = Db::fresh("drift") else { return };
    let dir = std::env::temp_dir().join(format!("netmap-live-drift-{}", std::process::id()));
    copy_sql(&dir, None);
    let d = dir.to_str().unwrap();
    db.apply_schema(&["--sql-dir", d]);
    let f = dir.join("0002_cluster_config_versions.sql");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("row_count UInt64", "row_count UInt64,\n    extra UInt8")).unwrap();
    // A new migration alongside the drifted one.
    std::fs::write(dir.join("0100_extra.sql"), "CREATE TABLE IF NOT EXISTS ${database}.extra (x UInt8) ENGINE = Memory;\n").unwrap();
    let o = db.netmap(&["apply-schema", "--sql-dir", d], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("0002_cluster_config_versions.sql drift: applied with checksum"), "{}", stderr(&o));
    assert_eq!(db.count("SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'cluster_config_versions' AND name = 'extra'"), 0);
    assert_eq!(db.count("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'extra'"), 0);
    let o = db.netmap(&["apply-schema", "--check", "--sql-dir", d], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("0100_extra.sql pending"), "{}", stderr(&o));
    // A stray file is an error.
    std::fs::write(&f, text).unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    let o = db.netmap(&["apply-schema", "--sql-dir", d], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("notes.txt: not a .sql file"), "{}", stderr(&o));
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    // Restored: the new migration applies.
    db.apply_schema(&["--sql-dir", d]);
    assert_eq!(db.count("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'extra'"), 1);
    // A migration started but never done blocks until --resume.
    db.exec(&format!(
        "INSERT INTO schema_migrations (version, name, checksum, status, at) VALUES (101, '0101_more.sql', '{}', 'started', now64(3))",
        netmap::clickhouse::migrate::checksum("SELECT 1;\n")
    ));
    std::fs::write(dir.join("0101_more.sql"), "SELECT 1;\n").unwrap();
    let o = db.netmap(&["apply-schema", "--sql-dir", d], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("0101_more.sql started but never finished"), "{}", stderr(&o));
    db.apply_schema(&["--sql-dir", d, "--resume"]);
    let o = db.netmap(&["apply-schema", "--check", "--sql-dir", d], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn server_down_is_one_line_exit_2() {
    let Some(_) = server_url() else { return };
    let t = std::time::Instant::now();
    for args in [&["apply-schema"][..], &["push", "--input", "-"][..], &["classify", "--clickhouse", "--cluster", "c", "10.0.0.1"][..]] {
        let o = netmap_cmd("http://127.0.0.1:9", "netmap", args, Some("cluster_name,network_type,cidr_block\nc,pod_cidr,10.0.0.0/8\n"));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), "netmap: clickhouse at http://127.0.0.1:9: cannot connect: connection refused\n", "{args:?}");
    }
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
    let o = netmap_cmd("http://u:secret@127.0.0.1:9", "netmap", &["apply-schema"], None);
    assert!(!stderr(&o).contains("secret"), "{}", stderr(&o));
    let o = netmap_cmd("http://127.0.0.1:9", "bad-name", &["apply-schema"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("database name \"bad-name\" is not a plain identifier"), "{}", stderr(&o));
}

#[test]
fn push_atomic_unchanged_dry_run() {
    let Some(db) = Db::fresh("push") else { return };
    db.apply_schema(&[]);
    let v1 = "cluster_name,network_type,cidr_block,is_active,source\nprod,pod_cidr,10.244.0.0/16,1,node/a\nprod,node_cidr,172.18.0.3,1,\nstage,pod_cidr,10.244.0.0/16,1,\n";
    let err = db.push(v1, &[]);
    assert!(err.contains("cluster \"prod\": 2 records, +2 -0"), "{err}");
    assert!(err.contains("trie rebuilt: 2 prefixes"), "{err}");
    let err = db.push(v1, &[]);
    assert!(err.contains("cluster \"prod\": unchanged (2 records)"), "{err}");
    assert!(err.contains("trie already current; dictionary already serves it (verdict memo kept)"), "{err}");
    assert_eq!(db.count("SELECT count() FROM cluster_config_versions"), 2);
    // Dry run: what would change, nothing written.
    let v2 = "cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\nprod,service_cidr,10.96.0.0/12\n";
    let out = db.push(v2, &["--dry-run"]);
    assert!(out.contains("cluster \"prod\": would replace: +2 -2"), "{out}");
    assert!(out.contains("  + service_cidr 10.96.0.0/12"), "{out}");
    assert!(out.contains("  - node_cidr 172.18.0.3/32"), "{out}");
    assert!(out.contains("  - pod_cidr 10.244.0.0/16 [node/a]"), "{out}");
    assert_eq!(db.count("SELECT count() FROM cluster_config_versions"), 2);
    // Replace prod only; stage stays.
    db.push(v2, &[]);
    assert_eq!(db.count("SELECT count() FROM active_cidrs WHERE cluster_name = 'prod'"), 2);
    assert_eq!(db.count("SELECT count() FROM active_cidrs WHERE cluster_name = 'stage'"), 1);
    assert_eq!(db.count("SELECT count() FROM active_cidrs WHERE cidr_block = '172.18.0.3/32'"), 0);
    // A new version's rows without its marker (a push that died halfway) are invisible.
    db.exec("INSERT INTO cluster_network_config VALUES ('prod', 'pod_cidr', '1.0.0.0/8', 1, '', 99999999999999, now64(3))");
    assert_eq!(db.count("SELECT count() FROM active_cidrs WHERE cluster_name = 'prod'"), 2);
    // The dictionary serves the latest complete trie.
    assert_eq!(
        db.count("SELECT toUInt64(position(dictGet(currentDatabase() || '.cidr_trie_dict', 'entries', toIPv6('10.96.0.1')), ',70726F64:2:10.96.0.0/12,') > 0)"),
        1
    );
}

#[test]
fn cluster_names_round_trip_literally() {
    let Some(db) = Db::fresh("names") else { return };
    db.apply_schema(&[]);
    let weird = "we'ird\"\\ ;DROP TABLE cluster_network_config;--\nx";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["cluster_name", "network_type", "cidr_block"]).unwrap();
    w.write_record([weird, "pod_cidr", "10.1.0.0/16"]).unwrap();
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    db.push(&text, &[]);
    let recs = db.rt.block_on(netmap::clickhouse::cidrs::active_records(&db.ch)).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].cluster_name, weird);
    assert_eq!(db.count("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'cluster_network_config'"), 1);
    let o = db.netmap(&["classify", "--clickhouse", "--cluster", weird, "10.1.2.3", "-o", "csv"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pod,0,pod_cidr,10.1.0.0/16,"), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn classify_clickhouse_equals_classify_cidrs() {
    let Some(db) = Db::fresh("classify") else { return };
    db.apply_schema(&[]);
    let cidrs = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cidrs.csv");
    db.push(&std::fs::read_to_string(cidrs).unwrap(), &[]);
    let spans = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/spans.csv");
    for mode in [&["--input", spans][..], &["--input", spans, "--per-row"][..]] {
        let mut a = vec!["classify", "--cidrs", cidrs, "-o", "csv"];
        a.extend_from_slice(mode);
        let mut b = vec!["classify", "--clickhouse", "-o", "csv"];
        b.extend_from_slice(mode);
        let (oa, ob) = (db.netmap(&a, None), db.netmap(&b, None));
        assert!(oa.status.success() && ob.status.success(), "{}{}", stderr(&oa), stderr(&ob));
        assert!(!oa.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&oa.stdout), String::from_utf8_lossy(&ob.stdout));
    }
}
