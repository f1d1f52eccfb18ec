//! Loading trace dumps into ClickHouse (`netmap replay`): canonical rows
//! packed into batches, each inserted with a deduplication token derived
//! from its content, retried with backoff on transient failures.
//!
//! Owns: [`Target`] (netmap's `spans` table, or a SigNoz-shaped trace table
//! and how a canonical row maps onto its attributes so that the SigNoz view of
//! sql/0015 yields the same dest, dest_ip and protocol), [`Batch`] (owned rows
//! and their token), [`check_target`] (the schema and deduplication windows a
//! safe re-run needs), [`insert_batch`] with [`Retry`], and which failures are
//! transient ([`is_transient`]). Leaves reading dumps to `input`, and progress
//! bars and messages to `cmd::replay`.
//!
//! Invariant: a batch's token depends only on what it inserts (its rows
//! before any time shift and its line range) and the run's constants
//! ([`Tokens`]: target, `--run-id`, `--time-shift` as written), so a batch
//! sent again — a retry after a dropped connection, or a re-run of the same
//! input after a failure — is dropped by the server at every table of the view
//! chain (`insert_deduplication_token` with
//! `deduplicate_blocks_in_dependent_materialized_views=1`, on tables that keep
//! a deduplication window: sql/0016).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{describe, Ch};
use crate::error::{Error, Result};
use crate::input::SpanRef;

/// Rows per batch unless `--batch-size` says otherwise: large enough that
/// the per-insert cost (one part per table of the view chain) is small.
pub const DEFAULT_BATCH_SIZE: usize = 100_000;

/// The netmap tables a replayed row reaches (each must de-duplicate re-sent blocks).
pub const CHAIN_TABLES: [&str; 3] = ["spans", "network_raw", "network_connections"];

/// Where replayed rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// netmap's own `spans` table in the netmap database.
    Spans,
    /// A SigNoz-shaped trace table (`signoz_index_v3` columns) read by the
    /// `signoz_probe_mv` view (`signoz_to_stream` before sql/0026); `database`
    /// is `None` for the netmap database.
    Signoz {
        /// Its database (`None`: the netmap database).
        database: Option<String>,
        /// Its table.
        table: String,
    },
}

impl Target {
    /// The SigNoz table `db.table` or `table` (`--signoz-table`).
    pub fn signoz(name: &str) -> Result<Target> {
        let ident = |s: &str| super::check_database_name(s).is_ok();
        let bad = || Error::Usage(format!("--signoz-table {name:?} is not `table` or `database.table`"));
        match name.split_once('.') {
            Some((d, t)) if ident(d) && ident(t) => Ok(Target::Signoz { database: Some(d.to_string()), table: t.to_string() }),
            None if ident(name) => Ok(Target::Signoz { database: None, table: name.to_string() }),
            _ => Err(bad()),
        }
    }

    /// The table as named in messages (`netmap.spans`, `signoz_traces.signoz_index_v3`).
    pub fn display(&self, ch: &Ch) -> String {
        match self {
            Target::Spans => format!("{}.spans", ch.database()),
            Target::Signoz { database, table } => format!("{}.{table}", database.as_deref().unwrap_or(ch.database())),
        }
    }

    fn key(&self) -> String {
        match self {
            Target::Spans => "spans".into(),
            Target::Signoz { database, table } => format!("signoz:{}.{table}", database.as_deref().unwrap_or("")),
        }
    }

    fn database<'a>(&'a self, ch: &'a Ch) -> &'a str {
        match self {
            Target::Spans => ch.database(),
            Target::Signoz { database, .. } => database.as_deref().unwrap_or(ch.database()),
        }
    }

    fn table(&self) -> &str {
        match self {
            Target::Spans => "spans",
            Target::Signoz { table, .. } => table,
        }
    }
}

/// The run's constants every batch token includes.
#[derive(Debug, Clone)]
pub struct Tokens {
    seed: [u8; 32],
}

impl Tokens {
    /// Constants of one replay: the target, `--run-id` (empty by default:
    /// replaying the same input again inserts nothing new) and `--time-shift`
    /// as written (`now` stays `now` across re-runs, so a re-run after a
    /// failure skips what the first run stored).
    pub fn new(target: &Target, run_id: &str, time_shift: &str) -> Tokens {
        let mut h = Sha256::new();
        for part in ["netmap replay v1", &target.key(), run_id, time_shift] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        Tokens { seed: h.finalize().into() }
    }
}

#[derive(Debug, Clone, Copy)]
struct Packed {
    line: u64,
    timestamp_ns: i64,
    /// cluster, src, dest, dest_ip, protocol as ranges of `Batch::text`.
    strs: [(usize, usize); 5],
    duration_ns: u64,
    is_error: bool,
}

/// Up to `--batch-size` canonical rows, owned, with the input lines they
/// span and (once sealed) their deduplication token.
#[derive(Debug, Clone)]
pub struct Batch {
    first_line: u64,
    last_line: u64,
    text: String,
    rows: Vec<Packed>,
    hasher: Sha256,
    token: String,
}

impl Batch {
    /// An empty batch with room for `capacity` rows.
    pub fn new(capacity: usize) -> Batch {
        Batch {
            first_line: 0,
            last_line: 0,
            text: String::with_capacity(capacity.min(1 << 20) * 64),
            rows: Vec::with_capacity(capacity.min(1 << 20)),
            hasher: Sha256::new(),
            token: String::new(),
        }
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `lines A-B`: the input lines (records) of its first and last rows.
    pub fn lines(&self) -> String {
        format!("lines {}-{}", self.first_line, self.last_line)
    }

    /// The deduplication token (empty until [`Batch::seal`]).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Add a row, its timestamp moved by `shift_ns`. The token hashes the row
    /// as read (before the shift). Fails when the shifted time is out of range.
    pub fn push(&mut self, r: &SpanRef<'_>, shift_ns: i64) -> std::result::Result<(), String> {
        let timestamp_ns = r.timestamp_ns.checked_add(shift_ns).ok_or_else(|| {
            format!("timestamp {:?} moved by --time-shift ({shift_ns} ns) is out of range", r.timestamp)
        })?;
        if self.rows.is_empty() {
            self.first_line = r.line;
        }
        self.last_line = r.line;
        let h = &mut self.hasher;
        h.update(r.timestamp_ns.to_le_bytes());
        let mut strs = [(0, 0); 5];
        for (slot, s) in strs.iter_mut().zip([r.cluster, r.src, r.dest, r.dest_ip, r.protocol]) {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
            let start = self.text.len();
            self.text.push_str(s);
            *slot = (start, self.text.len());
        }
        h.update(r.duration_ns.to_le_bytes());
        h.update([u8::from(r.is_error)]);
        self.rows.push(Packed { line: r.line, timestamp_ns, strs, duration_ns: r.duration_ns, is_error: r.is_error });
        Ok(())
    }

    /// Fix the token: the run's constants, the line range, the rows' hash.
    pub fn seal(&mut self, tokens: &Tokens) {
        let mut h = Sha256::new();
        h.update(tokens.seed);
        h.update(self.first_line.to_le_bytes());
        h.update(self.last_line.to_le_bytes());
        h.update((self.rows.len() as u64).to_le_bytes());
        h.update(std::mem::take(&mut self.hasher).finalize());
        let mut t = String::with_capacity(14 + 64);
        t.push_str("netmap-replay-");
        for b in h.finalize() {
            let _ = write!(t, "{b:02x}");
        }
        self.token = t;
    }

    fn str(&self, r: &Packed, i: usize) -> &str {
        let (a, b) = r.strs[i];
        &self.text[a..b]
    }
}

/// A row of `spans` (sql/0011).
#[derive(clickhouse::Row, Serialize)]
struct SpanIns<'a> {
    timestamp: i64,
    k8s_cluster_name: &'a str,
    src: &'a str,
    dest: &'a str,
    dest_ip: &'a str,
    protocol: &'a str,
    duration_ns: u64,
    is_error: u8,
}

/// The columns of a SigNoz trace table that replay fills (the rest take
/// their defaults).
#[derive(clickhouse::Row, Serialize)]
struct SignozIns<'a> {
    timestamp: i64,
    trace_id: [u8; 32],
    span_id: &'a str,
    parent_span_id: &'a str,
    name: &'a str,
    kind: i8,
    kind_string: &'a str,
    duration_nano: u64,
    status_code: i16,
    has_error: bool,
    attributes_string: &'a [(&'a str, &'a str)],
    resources_string: &'a [(&'a str, &'a str)],
}

/// The span attribute that carries `protocol` in a SigNoz row: the one
/// OpenTelemetry names for the protocol's family. The view (sql/0015) takes
/// the first non-empty of db.system, messaging.system, rpc.system,
/// network.protocol.name, so any one of them alone yields `protocol` as is.
pub fn protocol_attribute(protocol: &str) -> &'static str {
    const DB: &[&str] = &[
        "postgresql", "mysql", "mariadb", "mssql", "oracle", "redis", "mongodb", "cassandra", "elasticsearch", "memcached",
        "clickhouse", "sqlite", "couchbase", "dynamodb",
    ];
    const MESSAGING: &[&str] = &["kafka", "rabbitmq", "activemq", "aws_sqs", "gcp_pubsub", "nats", "pulsar", "rocketmq"];
    let p = protocol.to_ascii_lowercase();
    if DB.contains(&p.as_str()) {
        "db.system"
    } else if MESSAGING.contains(&p.as_str()) {
        "messaging.system"
    } else if p == "grpc" {
        "rpc.system"
    } else {
        "network.protocol.name"
    }
}

/// A failed attempt: the one-line cause and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The cause, one line.
    pub message: String,
    /// True for a dropped or refused connection, a timeout, an overloaded or restarting server.
    pub transient: bool,
}

/// ClickHouse error codes worth retrying: timeouts, network errors, limits
/// that pass, a server shutting down or a replica busy.
const TRANSIENT_CODES: &[u32] = &[
    159, // TIMEOUT_EXCEEDED
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    236, // ABORTED
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    279, // ALL_CONNECTION_TRIES_FAILED
    319, // UNKNOWN_STATUS_OF_INSERT
    394, // QUERY_WAS_CANCELLED (server shutting down)
    425, // SYSTEM_ERROR
    999, // KEEPER_EXCEPTION
];

/// True when a client error may go away on its own: a refused, reset or
/// dropped connection, a timeout, an HTTP 5xx from a proxy, or a server
/// error whose code is in `TRANSIENT_CODES`.
pub fn is_transient(e: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error as E;
    match e {
        E::Network(_) | E::TimedOut => true,
        E::BadResponse(msg) => {
            let line = msg.lines().next().unwrap_or("").trim();
            match line.strip_prefix("Code: ") {
                Some(rest) => {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<u32>().is_ok_and(|c| TRANSIENT_CODES.contains(&c))
                }
                // Not from ClickHouse: a proxy's status line (`503 Service Unavailable`).
                None => {
                    let b = line.as_bytes();
                    b.len() >= 4 && b[0] == b'5' && b[1].is_ascii_digit() && b[2].is_ascii_digit() && b[3] == b' '
                }
            }
        }
        _ => false,
    }
}

fn failure(e: &clickhouse::error::Error) -> Failure {
    Failure { message: describe(e), transient: is_transient(e) }
}

async fn timed<T>(ch: &Ch, fut: impl std::future::Future<Output = clickhouse::error::Result<T>>) -> std::result::Result<T, Failure> {
    match tokio::time::timeout(ch.timeout(), fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failure(&e)),
        Err(_) => Err(Failure {
            message: format!("no answer within {} s (--timeout)", ch.timeout().as_secs_f64()),
            transient: true,
        }),
    }
}

/// Settings of every replay insert. `short_circuit_function_evaluation =
/// disable`: within one classify stage, lazy branches recompute shared columns
/// once per branch; since sql/0018 each stage is small and this buys ~5%
/// (3-5x before it; BENCHMARKS.md (b')). The rule uses only non-throwing
/// functions, so evaluating every branch is safe.
fn insert_settings<T>(ins: clickhouse::insert::Insert<T>, batch: &Batch) -> clickhouse::insert::Insert<T> {
    ins.with_setting("short_circuit_function_evaluation", "disable")
        .with_setting("insert_deduplicate", "1")
        .with_setting("insert_deduplication_token", batch.token())
        .with_setting("deduplicate_blocks_in_dependent_materialized_views", "1")
}

/// `ch` ready for replay's inserts. Newer servers (26.9 here) decide whether
/// an INSERT is deduplicated by `deduplicate_insert` (default `enable`) and
/// ignore the `insert_deduplicate = 1` every replay insert sends, so a
/// settings profile with `deduplicate_insert = disable` would store a batch
/// sent again twice. Where the server has that setting, every request of the
/// returned connection turns it on; older servers reject settings they do not
/// know, and obey `insert_deduplicate`.
pub async fn for_inserts(ch: &Ch) -> Result<Ch> {
    let q = ch.server_client().query("SELECT count() FROM system.settings WHERE name = 'deduplicate_insert'");
    let known: u64 = ch.run("reading the server's settings", q.fetch_one::<u64>()).await?;
    Ok(if known > 0 { ch.with_setting("deduplicate_insert", "enable") } else { ch.clone() })
}

/// One attempt to insert `batch` into `target`.
pub async fn insert_once(ch: &Ch, target: &Target, batch: &Batch) -> std::result::Result<(), Failure> {
    debug_assert!(!batch.token.is_empty(), "batches are sealed before they are inserted");
    match target {
        Target::Spans => {
            let ins = timed(ch, ch.client().insert::<SpanIns<'_>>("spans")).await?;
            let mut ins = insert_settings(ins, batch);
            for r in &batch.rows {
                let row = SpanIns {
                    timestamp: r.timestamp_ns,
                    k8s_cluster_name: batch.str(r, 0),
                    src: batch.str(r, 1),
                    dest: batch.str(r, 2),
                    dest_ip: batch.str(r, 3),
                    protocol: batch.str(r, 4),
                    duration_ns: r.duration_ns,
                    is_error: u8::from(r.is_error),
                };
                timed(ch, ins.write(&row)).await?;
            }
            timed(ch, ins.end()).await
        }
        Target::Signoz { database, table } => {
            // Without the crate's schema check: SigNoz tables have many columns
            // without a DEFAULT clause that replay leaves to their type's default.
            let client = match database {
                Some(d) => ch.server_client().clone().with_database(d),
                None => ch.client().clone(),
            }
            .with_validation(false);
            let ins = timed(ch, client.insert::<SignozIns<'_>>(table)).await?;
            let mut ins = insert_settings(ins, batch);
            // Trace ids: the token's first 8 bytes and the line, so every row of a run is its own trace.
            let base = u64::from_str_radix(batch.token.get(14..30).unwrap_or("0"), 16).unwrap_or(0);
            let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(3);
            let mut res: Vec<(&str, &str)> = Vec::with_capacity(2);
            let mut trace_id = [0u8; 32];
            let mut span_id = [0u8; 16];
            for r in &batch.rows {
                let (cluster, src, dest, dest_ip, protocol) =
                    (batch.str(r, 0), batch.str(r, 1), batch.str(r, 2), batch.str(r, 3), batch.str(r, 4));
                attrs.clear();
                res.clear();
                if !dest.is_empty() {
                    attrs.push(("peer.service", dest));
                }
                if !dest_ip.is_empty() {
                    attrs.push(("network.peer.address", dest_ip));
                }
                if !protocol.is_empty() {
                    attrs.push((protocol_attribute(protocol), protocol));
                }
                res.push(("service.name", src));
                res.push(("k8s.cluster.name", cluster));
                hex_into(&mut trace_id[..16], base);
                hex_into(&mut trace_id[16..], r.line);
                hex_into(&mut span_id, r.line ^ base);
                let row = SignozIns {
                    timestamp: r.timestamp_ns,
                    trace_id,
                    span_id: std::str::from_utf8(&span_id).expect("hex digits are ASCII"),
                    parent_span_id: "",
                    name: "netmap replay",
                    kind: 3,
                    kind_string: "Client",
                    duration_nano: r.duration_ns,
                    status_code: if r.is_error { 2 } else { 0 },
                    has_error: r.is_error,
                    attributes_string: &attrs,
                    resources_string: &res,
                };
                timed(ch, ins.write(&row)).await?;
            }
            timed(ch, ins.end()).await
        }
    }
}

fn hex_into(out: &mut [u8], v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, o) in out.iter_mut().enumerate() {
        *o = HEX[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
}

/// How often and how patiently a batch is sent again after a transient failure.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts after the first (`--retries`).
    pub retries: u32,
    /// The wait before the first retry; each later wait doubles (at most 30 s).
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { retries: 5, first_delay: Duration::from_millis(500) }
    }
}

impl Retry {
    /// The wait after failed attempt `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let d = self.first_delay.saturating_mul(1u32 << n.saturating_sub(1).min(16));
        d.min(Duration::from_secs(30))
    }
}

/// A transient failure about to be retried (for the caller's messages).
#[derive(Debug, Clone)]
pub struct RetryEvent {
    /// The failed attempt (1-based).
    pub attempt: u32,
    /// Attempts allowed in all.
    pub attempts: u32,
    /// The wait before the next one.
    pub delay: Duration,
    /// Why it failed.
    pub cause: String,
}

/// Insert `batch`, retrying transient failures per `retry` (calling
/// `on_retry` before each wait). A permanent failure, or a transient one
/// after the last retry, is an error naming the batch's line range.
pub async fn insert_batch(
    ch: &Ch,
    target: &Target,
    batch: &Batch,
    retry: &Retry,
    on_retry: &mut dyn FnMut(&RetryEvent),
) -> Result<()> {
    let attempts = retry.retries.saturating_add(1);
    let mut attempt = 1;
    loop {
        match insert_once(ch, target, batch).await {
            Ok(()) => return Ok(()),
            Err(f) if f.transient && attempt < attempts => {
                let delay = retry.delay(attempt);
                on_retry(&RetryEvent { attempt, attempts, delay, cause: f.message });
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(f) => {
                let mut message = f.message;
                if f.transient {
                    message.push_str(&format!(
                        " (gave up after {attempts} attempt{}; run the same replay again to resume: batches already stored are dropped as duplicates)",
                        if attempts == 1 { "" } else { "s" }
                    ));
                }
                return Err(Error::Other(format!("replay: batch {}: {}", batch.lines(), ch.error(message))));
            }
        }
    }
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct TableInfo {
    name: String,
    engine: String,
    engine_full: String,
    feeds_netmap: u8,
}

async fn tables(ch: &Ch, database: &str, names: &[&str]) -> Result<Vec<TableInfo>> {
    let q = ch
        .server_client()
        .query_raw(
            "SELECT name, engine, engine_full, \
             toUInt8(arrayExists((d, t) -> d = {ndb:String} AND has({views:Array(String)}, t), \
             dependencies_database, dependencies_table)) AS feeds_netmap \
             FROM system.tables WHERE database = {db:String} AND has({names:Array(String)}, name)",
        )
        .param("ndb", ch.database())
        .param("views", &super::migrate::SIGNOZ_VIEWS[..])
        .param("db", database)
        .param("names", names);
    ch.run("reading system.tables", q.fetch_all::<TableInfo>()).await
}

/// The table's `non_replicated_deduplication_window`, from its `engine_full`
/// (`None`: not set, so 0).
fn dedup_window(engine_full: &str) -> Option<u64> {
    let i = engine_full.find("non_replicated_deduplication_window")?;
    let rest = engine_full[i + "non_replicated_deduplication_window".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

/// True when the table drops a block it has seen (same token) again.
fn deduplicates(t: &TableInfo) -> bool {
    t.engine.starts_with("Replicated") || t.engine.starts_with("Shared") || dedup_window(&t.engine_full).is_some_and(|w| w > 0)
}

/// Before the first batch: the server answers, the netmap schema is there
/// and de-duplicates re-sent batches, and the SigNoz table (with `Signoz`)
/// exists and feeds the netmap database. Returns warnings (a SigNoz table
/// without a deduplication window stores a re-sent batch twice, although
/// netmap's own tables count it once).
pub async fn check_target(ch: &Ch, target: &Target) -> Result<Vec<String>> {
    ch.ping().await?;
    let mut warnings = Vec::new();
    let chain = tables(ch, ch.database(), &CHAIN_TABLES).await?;
    for name in CHAIN_TABLES {
        match chain.iter().find(|t| t.name == name) {
            None => {
                return Err(ch.error(format!(
                    "database {} has no netmap schema (no table {name}): run netmap apply-schema first",
                    ch.database()
                )))
            }
            Some(t) if !deduplicates(t) => {
                return Err(ch.error(format!(
                    "table {}.{name} keeps no insert deduplication window, so a batch sent again would be counted twice: \
                     run netmap apply-schema (migration 0016 sets non_replicated_deduplication_window)",
                    ch.database()
                )))
            }
            Some(_) => {}
        }
    }
    if let Target::Signoz { .. } = target {
        let shown = target.display(ch);
        let db = target.database(ch);
        let found = tables(ch, db, &[target.table()]).await?;
        let Some(t) = found.first() else {
            return Err(ch.error(format!("no table {shown}: give SigNoz's trace table with --signoz-table DB.TABLE")));
        };
        if t.feeds_netmap == 0 {
            return Err(ch.error(format!(
                "table {shown} does not feed database {} (no view {}.signoz_probe_mv reads it): \
                 run netmap apply-schema --source signoz --signoz-table {shown}",
                ch.database(),
                ch.database()
            )));
        }
        if !deduplicates(t) {
            warnings.push(format!(
                "table {shown} keeps no insert deduplication window: a batch sent again is stored twice there \
                 (netmap's tables still count it once); ALTER TABLE {shown} MODIFY SETTING non_replicated_deduplication_window = 1000 fixes that"
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(line: u64, dest: &'a str) -> SpanRef<'a> {
        SpanRef { line, timestamp: "t", timestamp_ns: 1_000, cluster: "c", src: "s", dest, dest_ip: "10.0.0.1", protocol: "http", duration_ns: 5, is_error: true }
    }

    fn sealed(rows: &[SpanRef<'_>], shift: i64, tokens: &Tokens) -> Batch {
        let mut b = Batch::new(4);
        for r in rows {
            b.push(r, shift).unwrap();
        }
        b.seal(tokens);
        b
    }

    #[test]
    fn tokens_follow_content_lines_and_run_constants() {
        let t = Tokens::new(&Target::Spans, "", "");
        let a = sealed(&[row(2, "a"), row(3, "b")], 0, &t);
        assert_eq!(a.lines(), "lines 2-3");
        assert!(a.token().starts_with("netmap-replay-") && a.token().len() == 14 + 64);
        // Same rows, same lines: same token (a retry or a re-run is de-duplicated).
        assert_eq!(a.token(), sealed(&[row(2, "a"), row(3, "b")], 0, &t).token());
        // The shift moves the stored time but not the token: `--time-shift now` re-runs resume.
        let shifted = sealed(&[row(2, "a"), row(3, "b")], 7, &t);
        assert_eq!(a.token(), shifted.token());
        assert_eq!(shifted.rows[0].timestamp_ns, 1_007);
        // Different content, lines, target, run id or shift spec: a different token.
        assert_ne!(a.token(), sealed(&[row(2, "a"), row(3, "c")], 0, &t).token());
        assert_ne!(a.token(), sealed(&[row(3, "a"), row(4, "b")], 0, &t).token());
        assert_ne!(a.token(), sealed(&[row(2, "ab"), row(3, "")], 0, &t).token());
        let sz = Target::signoz("db.t").unwrap();
        for other in [Tokens::new(&sz, "", ""), Tokens::new(&Target::Spans, "x", ""), Tokens::new(&Target::Spans, "", "now")] {
            assert_ne!(a.token(), sealed(&[row(2, "a"), row(3, "b")], 0, &other).token());
        }
        let mut b = Batch::new(1);
        assert!(b.push(&SpanRef { timestamp_ns: i64::MAX, ..row(1, "a") }, 1).unwrap_err().contains("out of range"));
    }

    #[test]
    fn transient_errors() {
        use clickhouse::error::Error as E;
        let io = || E::Network(Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)));
        assert!(is_transient(&io()));
        assert!(is_transient(&E::TimedOut));
        assert!(is_transient(&E::BadResponse("Code: 252. DB::Exception: Too many parts. (TOO_MANY_PARTS)".into())));
        assert!(is_transient(&E::BadResponse("Code: 394. DB::Exception: Query was cancelled".into())));
        assert!(is_transient(&E::BadResponse("503 Service Unavailable".into())));
        assert!(!is_transient(&E::BadResponse("Code: 60. DB::Exception: Table x does not exist. (UNKNOWN_TABLE)".into())));
        assert!(!is_transient(&E::BadResponse("Code: 516. DB::Exception: default: Authentication failed".into())));
        assert!(!is_transient(&E::BadResponse("404 Not Found".into())));
        assert!(!is_transient(&E::SchemaMismatch("x".into())));
    }

    #[test]
    fn backoff_doubles_from_half_a_second() {
        let r = Retry::default();
        let d: Vec<u128> = (1..=7).map(|n| r.delay(n).as_millis()).collect();
        assert_eq!(d, [500, 1000, 2000, 4000, 8000, 16000, 30000]);
        assert_eq!(r.delay(40), Duration::from_secs(30));
    }

    #[test]
    fn dedup_windows_from_engine_full() {
        assert_eq!(dedup_window("MergeTree ORDER BY x SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000"), Some(1000));
        assert_eq!(dedup_window("MergeTree ORDER BY x SETTINGS index_granularity = 8192"), None);
        let t = |engine: &str, full: &str| TableInfo { name: "t".into(), engine: engine.into(), engine_full: full.into(), feeds_netmap: 0 };
        assert!(deduplicates(&t("ReplicatedMergeTree", "")));
        assert!(!deduplicates(&t("MergeTree", "SETTINGS non_replicated_deduplication_window = 0")));
        assert!(deduplicates(&t("SummingMergeTree", "SETTINGS non_replicated_deduplication_window = 5")));
    }

    #[test]
    fn signoz_names_and_protocols() {
        assert_eq!(Target::signoz("a.b").unwrap(), Target::Signoz { database: Some("a".into()), table: "b".into() });
        assert_eq!(Target::signoz("b").unwrap(), Target::Signoz { database: None, table: "b".into() });
        for bad in ["a.b.c", "", "a;b", ".b"] {
            assert!(Target::signoz(bad).is_err(), "{bad}");
        }
        assert_eq!(protocol_attribute("PostgreSQL"), "db.system");
        assert_eq!(protocol_attribute("kafka"), "messaging.system");
        assert_eq!(protocol_attribute("grpc"), "rpc.system");
        assert_eq!(protocol_attribute("http"), "network.protocol.name");
        let mut h = [0u8; 16];
        hex_into(&mut h, 0x0123_4567_89ab_cdef);
        assert_eq!(&h, b"0123456789abcdef");
    }
}
