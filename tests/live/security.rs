//! Security (issue 7): names that look like SQL, quotes, backslashes,
//! newlines and 10,000 characters round-trip literally through `push`,
//! `classify --clickhouse`, the views and `diff` (replay's own round trip
//! lives with replay); a server whose `default` user needs a password works
//! end to end, and the password never shows in argv, output, error messages
//! or the server's logs; `https://` URLs work through a local TLS terminator
//! with a CA given by `--ca-cert` or `SSL_CERT_FILE`.
//!
//! The password server is a second real server started here with
//! `scripts/clickhouse start` and `NETMAP_CH_PASSWORD`, stopped on drop.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netmap::clickhouse::{Ch, Config};

use crate::faults::socket_of;
use crate::parity::{self, SpanRow};
use crate::{server_url, stderr, Db};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netmap-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run netmap with exactly these ClickHouse variables (the caller's are removed).
fn netmap_env(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netmap"));
    cmd.args(args)
        .env_remove("CLICKHOUSE_URL")
        .env_remove("CLICKHOUSE_USER")
        .env_remove("CLICKHOUSE_PASSWORD")
        .env_remove("NETMAP_DATABASE")
        .env_remove("NETMAP_CA_CERT")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("netmap runs");
    {
        let mut si = child.stdin.take().expect("stdin piped");
        if let Some(s) = stdin {
            crate::write_stdin(&mut si, s);
        }
    }
    child.wait_with_output().expect("netmap finishes")
}

// ---------------------------------------------------------------- names

/// Names no one should use, each kept literally everywhere. (No leading or
/// trailing white space: the dump readers trim fields, by design.)
fn weird_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "we'ird\"\\ ;DROP TABLE cluster_network_config;--\nx",
        "SELECT * FROM system.users; --",
        "a\nb\r\nc\td",
        "`x`.`y`",
        "${database}_x",
        "{name:String}?",
        "x' OR '1'='1",
        "\\'\\\\\\",
        "ñ クラスタ 🚀",
        "NULL",
        "a,b:c,",
        "%s%n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("long-{}", "x".repeat(10_000)));
    v.push(format!("{}-end", "'\";\\\n".repeat(2_000)));
    v
}

fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[test]
fn weird_names_round_trip_through_push_classify_views_and_diff() {
    let Some(db) = Db::fresh("weird") else { return };
    db.apply_schema(&[]);
    let names = weird_names();
    // Cluster i owns 10.i.0.0/16 (pod) and fd00:i::/64 (service).
    let cidr_rows: Vec<Vec<String>> = names
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            [
                vec![n.clone(), "pod_cidr".into(), format!("10.{i}.0.0/16")],
                vec![n.clone(), "service_cidr".into(), format!("fd00:{i}::/64")],
            ]
        })
        .collect();
    let cidrs = csv_text(&["cluster_name", "network_type", "cidr_block"], &cidr_rows);
    let err = db.push(&cidrs, &[]);
    assert!(err.contains("trie rebuilt"), "{err}");
    // push: read back literally.
    let recs = db.rt.block_on(netmap::clickhouse::cidrs::active_records(&db.ch)).unwrap();
    let mut got: Vec<String> = recs.iter().map(|r| r.cluster_name.clone()).collect();
    got.sort();
    got.dedup();
    let mut want = names.clone();
    want.sort();
    assert_eq!(got, want, "cluster names after push");
    // Pushing the same again: unchanged, so the names compare equal too.
    let err = db.push(&cidrs, &[]);
    assert_eq!(err.matches(": unchanged (2 records)").count(), names.len(), "{err}");
    // classify --clickhouse for each name.
    for (i, n) in names.iter().enumerate() {
        let ip = format!("10.{i}.3.4");
        let o = db.netmap(&["classify", "--clickhouse", "--cluster", n, &ip, "-o", "json"], None);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v[0]["cluster"], n.as_str());
        assert_eq!(v[0]["kind"], "pod", "{n:?}");
        assert_eq!(v[0]["matched_cidr"], format!("10.{i}.0.0/16"));
    }
    // The views: spans whose cluster, src, dest and protocol are the weird names.
    let mut spans = Vec::new();
    for (i, n) in names.iter().enumerate() {
        for (k, (dest, ip)) in [(n.clone(), format!("10.{i}.9.9")), (n.clone(), String::new()), (String::new(), format!("fd00:{i}::1"))].into_iter().enumerate() {
            spans.push(SpanRow {
                timestamp: 1_714_564_800_000_000_000 + (i * 10 + k) as i64,
                k8s_cluster_name: n.clone(),
                src: n.clone(),
                dest,
                dest_ip: ip,
                protocol: n.clone(),
                duration_ns: 10,
                is_error: 0,
            });
        }
    }
    parity::insert_spans(&db, &spans).unwrap();
    let edges = db.rt.block_on(netmap::clickhouse::edges::read_edges(&db.ch, None, None, None)).unwrap();
    assert_eq!(edges.iter().map(|e| e.counts.calls).sum::<u64>(), spans.len() as u64);
    for n in &names {
        let mine: Vec<_> = edges.iter().filter(|e| &e.key.k8s_cluster_name == n).collect();
        assert_eq!(mine.len(), 3, "edges of {n:?}: {mine:?}");
        assert!(mine.iter().all(|e| &e.key.src == n && &e.key.protocol == n));
        assert!(mine.iter().any(|e| &e.key.dest == n));
        assert!(mine.iter().any(|e| e.key.kind == netmap::Kind::Pod), "{mine:?}");
        assert!(mine.iter().any(|e| e.key.kind == netmap::Kind::Service), "{mine:?}");
    }
    // diff: the offline edges of the same dump under the same CIDRs equal ClickHouse's.
    let dir = tmp_dir("weird");
    let cidr_file = dir.join("cidrs.csv");
    std::fs::write(&cidr_file, &cidrs).unwrap();
    let span_rows: Vec<Vec<String>> = spans
        .iter()
        .map(|s| {
            vec![
                s.timestamp.to_string(),
                s.k8s_cluster_name.clone(),
                s.src.clone(),
                s.dest.clone(),
                s.dest_ip.clone(),
                s.protocol.clone(),
                s.duration_ns.to_string(),
                s.is_error.to_string(),
            ]
        })
        .collect();
    let spans_file = dir.join("spans.csv");
    std::fs::write(&spans_file, csv_text(&netmap::input::SPAN_COLUMNS, &span_rows)).unwrap();
    let o = db.netmap(&["classify", "--cidrs", cidr_file.to_str().unwrap(), "--input", spans_file.to_str().unwrap(), "-o", "csv"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let edges_file = dir.join("edges.csv");
    std::fs::write(&edges_file, &o.stdout).unwrap();
    let o = db.netmap(&["diff", edges_file.to_str().unwrap(), "clickhouse"], None);
    assert_eq!(o.status.code(), Some(0), "offline and ClickHouse edges differ:\n{}\n{}", stdout(&o), stderr(&o));
    // replay: the same dump loaded by `netmap replay` into a database of its own
    // gives the same edges, names included, literally.
    if let Some(r) = Db::fresh("weird_replay") {
        r.apply_schema(&[]);
        assert!(r.push(&cidrs, &[]).contains("trie rebuilt"));
        let o = r.netmap(&["replay", "--input", spans_file.to_str().unwrap()], None);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("{} rows inserted", spans.len())), "{}", stderr(&o));
        let o = r.netmap(&["diff", edges_file.to_str().unwrap(), "clickhouse"], None);
        assert_eq!(o.status.code(), Some(0), "offline and replayed edges differ:\n{}\n{}", stdout(&o), stderr(&o));
    }
    // ... and a changed name is a difference (the comparison is not vacuous).
    let text = std::fs::read_to_string(&edges_file).unwrap().replacen("SELECT * FROM system.users; --", "SELECT * FROM system.users; -", 1);
    std::fs::write(&edges_file, text).unwrap();
    let o = db.netmap(&["diff", edges_file.to_str().unwrap(), "clickhouse"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- password

/// A real server of its own whose `default` user needs `password`.
struct PasswordServer {
    dir: PathBuf,
    url: String,
}

fn scripts_clickhouse() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/clickhouse")
}

impl PasswordServer {
    fn start(dir: &Path, password: &str) -> PasswordServer {
        let o = Command::new(scripts_clickhouse())
            .args(["start", "--dir", dir.to_str().unwrap(), "--log-level", "trace"])
            .env("NETMAP_CH_PASSWORD", password)
            .output()
            .expect("scripts/clickhouse runs");
        assert!(o.status.success(), "scripts/clickhouse start: {}", stderr(&o));
        PasswordServer { dir: dir.to_path_buf(), url: stdout(&o).trim().to_string() }
    }

    fn stop(&self) {
        let _ = Command::new(scripts_clickhouse()).args(["stop", "--dir", self.dir.to_str().unwrap()]).output();
    }
}

impl Drop for PasswordServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every byte ever printed or logged, to search for the password.
#[derive(Default)]
struct Seen(Vec<u8>);

impl Seen {
    fn run(&mut self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
        let o = netmap_env(args, env, stdin);
        self.0.extend_from_slice(&o.stdout);
        self.0.extend_from_slice(&o.stderr);
        o
    }

    fn assert_never(&self, secret: &str) {
        let hay = String::from_utf8_lossy(&self.0);
        assert!(!hay.contains(secret), "the password was printed:\n{hay}");
    }
}

const PASSWORD: &str = "pa'ss\\wo\"rd; DROP TABLE x -- $x";
const PASSWORD2: &str = "second`pass/word";

#[test]
fn a_password_server_works_end_to_end_and_never_shows_the_password() {
    let Some(_) = server_url() else { return };
    let dir = tmp_dir("password");
    let srv = PasswordServer::start(&dir.join("ch"), PASSWORD);
    let url = srv.url.clone();
    let db = "netmap_pw";
    let env = [("CLICKHOUSE_URL", url.as_str()), ("NETMAP_DATABASE", db), ("CLICKHOUSE_PASSWORD", PASSWORD)];
    let cidrs = b"cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\nprod,node_cidr,172.18.0.0/24\n";
    let mut seen = Seen::default();

    // No password, a wrong one: refused, and the wrong one is not echoed.
    let o = seen.run(&["apply-schema"], &env[..2], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("Authentication failed"), "{}", stderr(&o));
    let wrong = "wrong-Pa55-w0rd";
    let o = netmap_env(&["apply-schema"], &[env[0], env[1], ("CLICKHOUSE_PASSWORD", wrong)], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Authentication failed") && !stderr(&o).contains(wrong), "{}", stderr(&o));

    // --dry-run prints the dictionary's source without the password.
    let o = seen.run(&["apply-schema", "--dry-run"], &env, None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("USER 'default' PASSWORD '[HIDDEN]'"), "{}", stdout(&o));

    // The whole path: schema, push (reloads the dictionary), spans through the views, the map.
    let o = seen.run(&["apply-schema"], &env, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = seen.run(&["push", "--input", "-", "--cluster-domain", "corp.internal"], &env, Some(cidrs));
    assert!(o.status.success(), "push with a password: {}", stderr(&o));
    assert!(stderr(&o).contains("dictionary reloaded") && stderr(&o).contains("cluster domain cluster.local -> corp.internal"), "{}", stderr(&o));
    let ch = Ch::new(&Config {
        url: url.clone(),
        user: "default".into(),
        password: Some(PASSWORD.into()),
        database: db.into(),
        timeout: Duration::from_secs(60),
        ca_cert: None,
    })
    .unwrap();
    let rt = netmap::clickhouse::runtime().unwrap();
    let insert = |n: i64| {
        rt.block_on(async {
            let mut ins = ch.client().insert::<SpanRow>("spans").await?;
            // The name needs the cluster's domain: the second dictionary loads too.
            for (i, (dest, ip)) in [("", "10.244.1.5"), ("", "172.18.0.7"), ("", "8.8.8.8"), ("db.ns.svc.corp.internal", "")].iter().enumerate() {
                let r = SpanRow {
                    timestamp: 1_714_564_800_000_000_000 + n * 10 + i as i64,
                    k8s_cluster_name: "prod".into(),
                    src: "frontend".into(),
                    dest: dest.to_string(),
                    dest_ip: ip.to_string(),
                    protocol: "tcp".into(),
                    duration_ns: 5,
                    is_error: 0,
                };
                ins.write(&r).await?;
            }
            ins.end().await
        })
    };
    insert(0).expect("spans insert through the views on a password server");
    let edges = rt.block_on(netmap::clickhouse::edges::read_edges(&ch, None, None, None)).unwrap();
    let kinds: Vec<(String, &str)> = edges.iter().map(|e| (e.key.dest.clone(), e.key.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("10.244.1.5".to_string(), "pod"),
            ("172.18.0.7".to_string(), "node"),
            ("8.8.8.8".to_string(), "world"),
            ("db.ns.svc.corp.internal".to_string(), "service")
        ],
        "network_connections on a password server"
    );
    let o = seen.run(&["classify", "--clickhouse", "--cluster", "prod", "172.18.0.9", "-o", "csv"], &env, None);
    assert!(o.status.success() && stdout(&o).contains("node,0,node_cidr,172.18.0.0/24"), "{}{}", stdout(&o), stderr(&o));
    let o = seen.run(&["diff", "clickhouse", "clickhouse"], &env, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The server shows [HIDDEN], not the password, in SHOW CREATE.
    let show: String = rt
        .block_on(ch.run("show", ch.client().query_raw("SHOW CREATE DICTIONARY cidr_trie_dict").fetch_one::<String>()))
        .unwrap();
    assert!(show.contains("PASSWORD '[HIDDEN]'") && !show.contains(PASSWORD), "{show}");

    // argv: netmap has no password flag; the password is never in its command line.
    let o = netmap_env(&["apply-schema", "--password", "x"], &env, None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unexpected argument '--password'"), "{}", stderr(&o));
    for sub in ["apply-schema", "push", "classify", "diff"] {
        let o = netmap_env(&[sub, "--help"], &[], None);
        let help = stdout(&o);
        assert!(!help.contains("--password"), "{sub} --help: {help}");
        assert!(help.contains("CLICKHOUSE_PASSWORD"), "{sub} --help names where the password comes from: {help}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_netmap"))
        .args(["push", "--input", "-"])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(PASSWORD), "argv holds the password");
    child.stdin.take().unwrap().write_all(cidrs).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    seen.0.extend_from_slice(&o.stderr);

    // A password change: the dictionary still has the old one, so a push (which
    // reloads it) fails, without either password in the message; then
    // apply-schema --refresh-dictionary puts the new one in, and all works again.
    srv.stop();
    let srv2 = PasswordServer::start(&dir.join("ch"), PASSWORD2);
    let url2 = srv2.url.clone();
    let env2 = [("CLICKHOUSE_URL", url2.as_str()), ("NETMAP_DATABASE", db), ("CLICKHOUSE_PASSWORD", PASSWORD2)];
    let changed = b"cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\nprod,node_cidr,172.19.0.0/24\n";
    let o = seen.run(&["push", "--input", "-"], &env2, Some(changed));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("reloading the dictionary") && stderr(&o).contains("Authentication failed"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(PASSWORD2), "{}", stderr(&o));
    let o = seen.run(&["apply-schema", "--refresh-dictionary"], &env2, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = seen.run(&["push", "--input", "-", "--cluster-domain", "k8s.example"], &env2, Some(changed));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = seen.run(&["classify", "--clickhouse", "--cluster", "prod", "db.ns.svc.k8s.example", "-o", "csv"], &env2, None);
    assert!(stdout(&o).contains(",service,0,"), "{}{}", stdout(&o), stderr(&o));
    let o = seen.run(&["classify", "--clickhouse", "--cluster", "prod", "172.19.0.9", "-o", "csv"], &env2, None);
    assert!(stdout(&o).contains("node,0,node_cidr,172.19.0.0/24"), "{}{}", stdout(&o), stderr(&o));

    seen.assert_never(PASSWORD);
    seen.assert_never(PASSWORD2);
    // Nor in the server's own logs (trace level: every query is logged).
    for f in ["server.log", "clickhouse.log", "clickhouse.err.log"] {
        let text = String::from_utf8_lossy(&std::fs::read(dir.join("ch").join(f)).unwrap_or_default()).into_owned();
        assert!(!text.contains(PASSWORD) && !text.contains(PASSWORD2), "{f} holds a password");
    }
    drop(srv2);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- TLS

/// A TLS terminator on 127.0.0.1 in front of `upstream` (plain HTTP), with a
/// fresh self-signed certificate for 127.0.0.1 and localhost; returns its
/// address and the certificate (PEM), which is also the CA to trust.
fn tls_terminator(upstream: SocketAddr, life: Duration) -> (SocketAddr, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let pem = ck.cert.pem();
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let end = Instant::now() + life;
            while let Ok(Ok((tcp, _))) = tokio::time::timeout(end.saturating_duration_since(Instant::now()), listener.accept()).await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends the handshake: fine.
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
    });
    (addr, pem)
}

#[test]
fn https_urls_work_with_a_ca_from_ca_cert_or_ssl_cert_file() {
    let Some(real) = server_url() else { return };
    let Some(db) = Db::fresh("tls") else { return };
    let (addr, pem) = tls_terminator(socket_of(&real), Duration::from_secs(120));
    let dir = tmp_dir("tls");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let url = format!("https://{addr}");
    let password = std::env::var("CLICKHOUSE_PASSWORD").unwrap_or_default();
    let base = [("CLICKHOUSE_URL", url.as_str()), ("NETMAP_DATABASE", db.name.as_str()), ("CLICKHOUSE_PASSWORD", password.as_str())];
    let cidrs = b"cluster_name,network_type,cidr_block\nprod,pod_cidr,10.244.0.0/16\n";

    // Not trusted: a clear one-line error naming the URL; nothing applied.
    let o = netmap_env(&["apply-schema"], &base, None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with(&format!("netmap: clickhouse at {url}: ")) && err.lines().count() == 1, "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    eprintln!("untrusted https: {err}");
    assert!(!db.exists());

    // --ca-cert: the whole path over TLS.
    let ca_s = ca.to_str().unwrap();
    let o = netmap_env(&["apply-schema", "--ca-cert", ca_s], &base, None);
    assert!(o.status.success(), "apply-schema over https: {}", stderr(&o));
    let o = netmap_env(&["push", "--input", "-", "--ca-cert", ca_s], &base, Some(cidrs));
    assert!(o.status.success(), "push over https: {}", stderr(&o));
    let o = netmap_env(&["classify", "--clickhouse", "--cluster", "prod", "10.244.9.9", "-o", "csv", "--ca-cert", ca_s], &base, None);
    assert!(o.status.success() && stdout(&o).contains("pod,0,pod_cidr,10.244.0.0/16"), "{}{}", stdout(&o), stderr(&o));

    // NETMAP_CA_CERT, and SSL_CERT_FILE (the system store replaced by that file) work the same.
    for var in ["NETMAP_CA_CERT", "SSL_CERT_FILE"] {
        let mut env = base.to_vec();
        env.push((var, ca_s));
        let o = netmap_env(&["apply-schema", "--check"], &env, None);
        assert_eq!(o.status.code(), Some(0), "{var}: {}", stderr(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
