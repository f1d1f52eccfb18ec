//! Schema migrations: the `sql/` files, their checksums, the version table,
//! and applying what is pending (`netmap apply-schema`).
//!
//! Owns: loading migrations (embedded in the binary, or from a directory for
//! tests), validating names (`NNNN_snake_case.sql`; any other file is an
//! error), rendering placeholders (`${database}`, `${on_cluster}`,
//! `${replicated}`, `${signoz_table}`), splitting a file into statements, the
//! append-only version table `schema_migrations` (a `started` row, then a
//! `done` row with checksum and duration) and the status of each migration.
//! Leaves printing to `cmd::apply_schema`.
//!
//! Invariants: the checksum is the SHA-384 of the file text as written (not
//! of the rendered SQL), so the same file has the same checksum in every
//! database and on every cluster. An applied file whose checksum changed is
//! drift: reported, never re-run. A migration started but never done blocks
//! everything until it is resumed. Nothing is ever dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha384};

use super::Ch;
use crate::error::{Error, Result};

/// The migrations compiled into the binary, in order. A unit test checks
/// this list against the files in `sql/`, so a forgotten file fails a test.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("0001_cluster_network_config.sql", include_str!("../../sql/0001_cluster_network_config.sql")),
    ("0002_cluster_config_versions.sql", include_str!("../../sql/0002_cluster_config_versions.sql")),
    ("0003_active_cidrs.sql", include_str!("../../sql/0003_active_cidrs.sql")),
    ("0004_cidr_trie.sql", include_str!("../../sql/0004_cidr_trie.sql")),
    ("0005_cidr_trie_versions.sql", include_str!("../../sql/0005_cidr_trie_versions.sql")),
    ("0006_cidr_trie_dict.sql", include_str!("../../sql/0006_cidr_trie_dict.sql")),
    ("0007_classify_functions.sql", include_str!("../../sql/0007_classify_functions.sql")),
    ("0008_network_raw.sql", include_str!("../../sql/0008_network_raw.sql")),
    ("0009_span_stream.sql", include_str!("../../sql/0009_span_stream.sql")),
    ("0010_classify_spans.sql", include_str!("../../sql/0010_classify_spans.sql")),
    ("0011_spans.sql", include_str!("../../sql/0011_spans.sql")),
    ("0012_spans_to_stream.sql", include_str!("../../sql/0012_spans_to_stream.sql")),
    ("0013_network_connections.sql", include_str!("../../sql/0013_network_connections.sql")),
    ("0014_network_connections_mv.sql", include_str!("../../sql/0014_network_connections_mv.sql")),
    ("0015_signoz_to_stream.sql", include_str!("../../sql/0015_signoz_to_stream.sql")),
    ("0016_deduplication_window.sql", include_str!("../../sql/0016_deduplication_window.sql")),
    ("0017_cidr_trie_dict_credentials.sql", include_str!("../../sql/0017_cidr_trie_dict_credentials.sql")),
    ("0018_classify_per_peer.sql", include_str!("../../sql/0018_classify_per_peer.sql")),
    ("0019_cluster_domains.sql", include_str!("../../sql/0019_cluster_domains.sql")),
    ("0020_classify_cluster_domain.sql", include_str!("../../sql/0020_classify_cluster_domain.sql")),
    ("0021_classify_address_forms.sql", include_str!("../../sql/0021_classify_address_forms.sql")),
    ("0022_classify_memo.sql", include_str!("../../sql/0022_classify_memo.sql")),
    ("0023_memo_dictionaries.sql", include_str!("../../sql/0023_memo_dictionaries.sql")),
    ("0024_verdict_enums.sql", include_str!("../../sql/0024_verdict_enums.sql")),
    ("0025_probe_in_feeder.sql", include_str!("../../sql/0025_probe_in_feeder.sql")),
    ("0026_signoz_probe_in_feeder.sql", include_str!("../../sql/0026_signoz_probe_in_feeder.sql")),
];

/// The version table (created by `apply-schema` itself, like sqlx's).
pub const VERSION_TABLE: &str = "schema_migrations";

/// SigNoz's trace table, read with `--source signoz`.
pub const DEFAULT_SIGNOZ_TABLE: &str = "signoz_traces.signoz_index_v3";

/// Where spans come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// netmap's own `spans` table (what `netmap replay` writes).
    Native,
    /// SigNoz's trace table, in addition to `spans`.
    Signoz,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Native => "native",
            Source::Signoz => "signoz",
        })
    }
}

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The number before the first `_`.
    pub version: u32,
    /// The file name (`0001_cluster_network_config.sql`).
    pub name: String,
    /// The file text, as written.
    pub text: String,
    /// Hex SHA-384 of `text`.
    pub checksum: String,
    /// `Some` when the file applies to one source only (`-- netmap: source signoz`).
    pub source: Option<Source>,
}

/// Hex SHA-384 of a text.
pub fn checksum(text: &str) -> String {
    Sha384::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Migration {
    /// Parse one file; `where_` names its directory in messages.
    pub fn new(file_name: &str, text: String, where_: &str) -> Result<Migration> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "{where_}/{file_name}: {why} (migrations are NNNN_snake_case.sql and nothing else lives in sql/)"
            ))
        };
        let stem = file_name.strip_suffix(".sql").ok_or_else(|| bad("not a .sql file"))?;
        let (num, desc) = stem.split_once('_').ok_or_else(|| bad("no _description after the number"))?;
        if num.len() != 4 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the name must start with a four-digit number"));
        }
        if desc.is_empty() || !desc.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(bad("the description must be snake_case"));
        }
        let version: u32 = num.parse().map_err(|_| bad("bad number"))?;
        if version == 0 {
            return Err(bad("version 0000 is reserved"));
        }
        let mut source = None;
        for line in text.lines().take_while(|l| l.trim_start().starts_with("--")) {
            if let Some(s) = line.trim_start().trim_start_matches('-').trim().strip_prefix("netmap: source ") {
                source = Some(match s.trim() {
                    "signoz" => Source::Signoz,
                    "native" => Source::Native,
                    other => return Err(bad(&format!("unknown source {other:?} in its netmap: header"))),
                });
            }
        }
        let checksum = checksum(&text);
        let m = Migration { version, name: file_name.to_string(), text, checksum, source };
        // Fail on a bad placeholder now, not halfway through an apply.
        m.render(&Render::default())
            .map_err(|e| Error::Usage(format!("{where_}/{file_name}: {e}")))?;
        Ok(m)
    }

    /// The description: the name without number and extension, `_` as spaces.
    pub fn description(&self) -> String {
        self.name
            .trim_end_matches(".sql")
            .split_once('_')
            .map_or(String::new(), |(_, d)| d.replace('_', " "))
    }

    /// The text with its placeholders filled in.
    pub fn render(&self, r: &Render) -> std::result::Result<String, String> {
        render(&self.text, r)
    }

    /// The rendered statements, in order.
    pub fn statements(&self, r: &Render) -> Result<Vec<String>> {
        let sql = self.render(r).map_err(|e| Error::Usage(format!("{}: {e}", self.name)))?;
        Ok(split_statements(&sql))
    }

    /// True when this migration applies to `source`.
    pub fn applies_to(&self, source: Source) -> bool {
        self.source.is_none_or(|s| s == source)
    }
}

/// The migrations compiled into the binary.
pub fn embedded() -> Result<Vec<Migration>> {
    check_set(
        EMBEDDED
            .iter()
            .map(|(n, t)| Migration::new(n, (*t).to_string(), "sql"))
            .collect::<Result<Vec<_>>>()?,
        "sql",
    )
}

/// The migrations in a directory (`--sql-dir`, for tests); every file must be one.
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>> {
    let shown = dir.display().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        out.push(Migration::new(&name, text, &shown)?);
    }
    check_set(out, &shown)
}

fn check_set(mut ms: Vec<Migration>, where_: &str) -> Result<Vec<Migration>> {
    ms.sort_by(|a, b| a.version.cmp(&b.version).then(a.name.cmp(&b.name)));
    for w in ms.windows(2) {
        if w[0].version == w[1].version {
            return Err(Error::Usage(format!(
                "{where_}: {} and {} have the same version {:04}",
                w[0].name, w[1].name, w[0].version
            )));
        }
    }
    Ok(ms)
}

/// What the placeholders are filled with.
#[derive(Debug, Clone)]
pub struct Render {
    /// `${database}`: the netmap database (a plain identifier).
    pub database: String,
    /// `${on_cluster}` renders `ON CLUSTER `name`` and `${replicated}` renders
    /// `Replicated` when set; both render nothing otherwise.
    pub cluster: Option<String>,
    /// `${signoz_table}`: SigNoz's trace table, `db.table`.
    pub signoz_table: String,
    /// `${dictionary_auth}`: who the dictionaries' ClickHouse sources log in as.
    pub dictionary_auth: DictionaryAuth,
}

impl Default for Render {
    fn default() -> Self {
        Render {
            database: super::DEFAULT_DATABASE.into(),
            cluster: None,
            signoz_table: DEFAULT_SIGNOZ_TABLE.into(),
            dictionary_auth: DictionaryAuth::default(),
        }
    }
}

impl Render {
    /// The same rendering with the password shown as `[HIDDEN]`: for SQL
    /// that is printed (`apply-schema --dry-run`), never for SQL that runs.
    pub fn redacted(&self) -> Render {
        let mut r = self.clone();
        if r.dictionary_auth.password.is_some() {
            r.dictionary_auth.password = Some(HIDDEN.to_string());
        }
        r
    }
}

/// What netmap prints instead of a password.
pub const HIDDEN: &str = "[HIDDEN]";

/// The credentials a dictionary's `SOURCE(CLICKHOUSE(...))` logs in with:
/// the connection's own user and password. ClickHouse authenticates a
/// dictionary source's query like any client's, even when it runs inside the
/// server; without them it logs in as `default` with no password, which
/// fails on a server where `default` has one (and then every insert through
/// the views fails). The server keeps them in the dictionary's definition and
/// shows `[HIDDEN]` for the password in `SHOW CREATE` and system tables.
#[derive(Clone, PartialEq, Eq)]
pub struct DictionaryAuth {
    /// User name.
    pub user: String,
    /// Password, if any (from `CLICKHOUSE_PASSWORD`).
    pub password: Option<String>,
}

impl Default for DictionaryAuth {
    fn default() -> Self {
        DictionaryAuth { user: "default".into(), password: None }
    }
}

impl fmt::Debug for DictionaryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DictionaryAuth")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| HIDDEN))
            .finish()
    }
}

impl DictionaryAuth {
    /// `USER '...' PASSWORD '...'` for a dictionary source.
    pub fn sql(&self) -> String {
        let mut s = format!("USER {}", quote_string(&self.user));
        if let Some(p) = &self.password {
            s.push_str(" PASSWORD ");
            s.push_str(&quote_string(p));
        }
        s
    }
}

/// A ClickHouse string literal.
pub fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A ClickHouse identifier in backquotes.
pub fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('\\', "\\\\").replace('`', "\\`"))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Fill `${name}` placeholders; an unknown one is an error.
pub fn render(text: &str, r: &Render) -> std::result::Result<String, String> {
    if !r.signoz_table.split('.').all(is_ident) || r.signoz_table.split('.').count() > 2 {
        return Err(format!("--signoz-table {:?} is not `table` or `database.table`", r.signoz_table));
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or_else(|| "unterminated ${ placeholder".to_string())?;
        match &after[..end] {
            "database" => out.push_str(&r.database),
            "on_cluster" => {
                if let Some(c) = &r.cluster {
                    out.push_str("ON CLUSTER ");
                    out.push_str(&quote_ident(c));
                }
            }
            "replicated" => {
                if r.cluster.is_some() {
                    out.push_str("Replicated");
                }
            }
            "signoz_table" => out.push_str(&r.signoz_table),
            "dictionary_auth" => out.push_str(&r.dictionary_auth.sql()),
            other => {
                return Err(format!(
                    "unknown placeholder ${{{other}}} (known: database, on_cluster, replicated, signoz_table, dictionary_auth)"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Split SQL text into statements at `;` outside strings, quoted names and
/// comments. Statements that are only comments are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                has_code = true;
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b';' => {
                if has_code {
                    out.push(sql[start..i].trim().to_string());
                }
                has_code = false;
                i += 1;
                start = i;
            }
            c => {
                if !c.is_ascii_whitespace() {
                    has_code = true;
                }
                i += 1;
            }
        }
    }
    if has_code {
        out.push(sql[start.min(sql.len())..].trim().to_string());
    }
    out
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, clickhouse::Row, Serialize, Deserialize)]
pub struct VersionRow {
    /// Migration version.
    pub version: u32,
    /// File name.
    pub name: String,
    /// Hex SHA-384 of the file text.
    pub checksum: String,
    /// `started` or `done`.
    pub status: String,
    /// When, in milliseconds since the epoch (DateTime64(3)).
    pub at: i64,
    /// How long the statements took (0 for `started`).
    pub duration_ms: u64,
    /// The netmap version that wrote the row.
    pub netmap_version: String,
}

/// The state of one migration in one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Applied with the same checksum.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but the file changed since: never re-run.
    Drift {
        /// The checksum recorded when it was applied.
        applied: String,
    },
    /// Started but never done (a crash or a failed statement).
    Dirty {
        /// When it was started (ms since the epoch).
        started_at: i64,
    },
    /// For the other source only, and not applied.
    OtherSource(Source),
    /// Recorded as applied, but no such file exists any more.
    Missing {
        /// The recorded file name.
        name: String,
    },
}

/// One line of the status report.
#[derive(Debug, Clone)]
pub struct Status {
    /// Version.
    pub version: u32,
    /// File name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// The file's checksum (empty for `Missing`).
    pub checksum: String,
}

impl Status {
    /// `0001 cluster_network_config.sql: applied`, `... drift (applied 1a2b3c4d, file 5e6f7a8b)`.
    pub fn line(&self) -> String {
        let state = match &self.state {
            State::Applied => "applied".to_string(),
            State::Pending => "pending".to_string(),
            State::Drift { applied } => format!(
                "drift: applied with checksum {}, the file now has {}; an applied migration is never edited or re-run: restore the file and add a new migration",
                short(applied),
                short(&self.checksum)
            ),
            State::Dirty { .. } => "started but never finished (a crash or a failed statement): fix the cause, then run apply-schema --resume".to_string(),
            State::OtherSource(s) => format!("not applicable (--source {s} only)"),
            State::Missing { .. } => "applied, but the file is missing from this netmap".to_string(),
        };
        format!("{} {}", self.name, state)
    }

    /// True for states that stop `apply` (drift, dirty, missing).
    pub fn is_blocking(&self) -> bool {
        matches!(self.state, State::Drift { .. } | State::Dirty { .. } | State::Missing { .. })
    }
}

fn short(c: &str) -> &str {
    &c[..c.len().min(8)]
}

/// Bootstrap statements: the database and the version table.
pub fn bootstrap_statements(r: &Render) -> Vec<String> {
    let oc = r.cluster.as_ref().map(|c| format!(" ON CLUSTER {}", quote_ident(c))).unwrap_or_default();
    let repl = if r.cluster.is_some() { "Replicated" } else { "" };
    vec![
        format!("CREATE DATABASE IF NOT EXISTS {}{oc}", r.database),
        format!(
            "CREATE TABLE IF NOT EXISTS {}.{VERSION_TABLE}{oc} (version UInt32, name String, checksum String, \
             status LowCardinality(String), at DateTime64(3, 'UTC'), duration_ms UInt64, netmap_version String) \
             ENGINE = {repl}MergeTree ORDER BY (version, at)",
            r.database
        ),
    ]
}

/// The views that read SigNoz's trace table: sql/0015's, and sql/0026's that replaces it.
pub const SIGNOZ_VIEWS: [&str; 2] = ["signoz_to_stream", "signoz_probe_mv"];

/// The table (`database.table`) a view of [`SIGNOZ_VIEWS`] in this database
/// reads, and the view; `None` when there is none (SigNoz's source never applied).
pub async fn signoz_feed(ch: &Ch) -> Result<Option<(String, String)>> {
    let sql = "SELECT concat(database, '.', name), view FROM system.tables \
               ARRAY JOIN dependencies_database AS view_db, dependencies_table AS view \
               WHERE view_db = {db:String} AND has({views:Array(String)}, view) ORDER BY view LIMIT 1";
    let q = ch.server_client().query_raw(sql).param("db", ch.database()).param("views", &SIGNOZ_VIEWS[..]);
    Ok(ch.run("reading which table feeds the SigNoz view", q.fetch_all::<(String, String)>()).await?.pop())
}

/// The recorded rows, or none when the version table does not exist yet.
pub async fn recorded(ch: &Ch) -> Result<Vec<VersionRow>> {
    if !ch.table_exists(VERSION_TABLE).await? {
        return Ok(Vec::new());
    }
    ch.run(
        "reading schema_migrations",
        ch.client()
            .query("SELECT ?fields FROM schema_migrations ORDER BY version, at")
            .fetch_all::<VersionRow>(),
    )
    .await
}

/// The state of every migration (and of recorded versions without a file).
pub fn status(migrations: &[Migration], rows: &[VersionRow], source: Source) -> Vec<Status> {
    let mut by_version: BTreeMap<u32, Vec<&VersionRow>> = BTreeMap::new();
    for r in rows {
        by_version.entry(r.version).or_default().push(r);
    }
    let mut out = Vec::new();
    for m in migrations {
        let recs = by_version.remove(&m.version).unwrap_or_default();
        let done = recs.iter().filter(|r| r.status == "done").max_by_key(|r| r.at);
        let last = recs.iter().max_by_key(|r| r.at);
        let state = match (done, last) {
            (Some(d), Some(l)) if l.status == "started" && l.at > d.at => State::Dirty { started_at: l.at },
            (Some(d), _) if d.checksum == m.checksum => State::Applied,
            (Some(d), _) => State::Drift { applied: d.checksum.clone() },
            (None, Some(l)) => State::Dirty { started_at: l.at },
            (None, None) if !m.applies_to(source) => State::OtherSource(m.source.unwrap_or(source)),
            (None, None) => State::Pending,
        };
        out.push(Status { version: m.version, name: m.name.clone(), state, checksum: m.checksum.clone() });
    }
    for (v, recs) in by_version {
        if recs.iter().any(|r| r.status == "done") {
            let name = recs[0].name.clone();
            out.push(Status { version: v, name: name.clone(), state: State::Missing { name }, checksum: String::new() });
        }
    }
    out.sort_by_key(|s| s.version);
    out
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn record(ch: &Ch, m: &Migration, status: &str, duration_ms: u64) -> Result<()> {
    let row = VersionRow {
        version: m.version,
        name: m.name.clone(),
        checksum: m.checksum.clone(),
        status: status.to_string(),
        at: now_ms(),
        duration_ms,
        netmap_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let what = format!("recording {} as {status}", m.name);
    let mut ins = ch.run(&what, ch.client().insert::<VersionRow>(VERSION_TABLE)).await?;
    ch.run(&what, ins.write(&row)).await?;
    ch.run(&what, ins.end()).await
}

/// Create the database and the version table if needed.
pub async fn bootstrap(ch: &Ch, r: &Render) -> Result<()> {
    for s in bootstrap_statements(r) {
        ch.exec_server("creating the database and schema_migrations", &s).await?;
    }
    Ok(())
}

/// Apply one migration: a `started` row, its statements, a `done` row.
/// Returns the time taken.
pub async fn apply_one(ch: &Ch, m: &Migration, r: &Render) -> Result<std::time::Duration> {
    let statements = m.statements(r)?;
    record(ch, m, "started", 0).await?;
    let t = Instant::now();
    for (i, s) in statements.iter().enumerate() {
        let what = format!("{} statement {} of {}", m.name, i + 1, statements.len());
        ch.exec(&what, s).await?;
    }
    let took = t.elapsed();
    record(ch, m, "done", u64::try_from(took.as_millis()).unwrap_or(u64::MAX)).await?;
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_sql_dir() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let listed: Vec<String> = EMBEDDED.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(listed, on_disk, "src/clickhouse/migrate.rs EMBEDDED must list every file in sql/");
        let ms = embedded().unwrap();
        assert_eq!(load_dir(Path::new(dir)).unwrap(), ms);
        let signoz: Vec<&str> =
            ms.iter().filter(|m| m.source == Some(Source::Signoz)).map(|m| m.name.as_str()).collect();
        assert_eq!(signoz, ["0015_signoz_to_stream.sql", "0026_signoz_probe_in_feeder.sql"]);
    }

    #[test]
    fn every_replayed_table_keeps_a_deduplication_window() {
        let ms = embedded().unwrap();
        let r = Render { cluster: Some("main".into()), ..Render::default() };
        let sql: Vec<String> = ms.iter().flat_map(|m| m.statements(&r).unwrap()).collect();
        for t in crate::clickhouse::replay::CHAIN_TABLES {
            let want = format!("ALTER TABLE netmap.{t} ON CLUSTER `main` MODIFY SETTING non_replicated_deduplication_window = 1000");
            assert!(sql.iter().any(|s| s.contains(&want)), "no migration sets a deduplication window on {t}");
        }
    }

    #[test]
    fn dictionary_auth_renders_quoted_and_redacts() {
        let auth = DictionaryAuth { user: "net'map".into(), password: Some("p'a\\ss; DROP".into()) };
        assert_eq!(auth.sql(), "USER 'net\\'map' PASSWORD 'p\\'a\\\\ss; DROP'");
        assert_eq!(DictionaryAuth::default().sql(), "USER 'default'");
        assert!(!format!("{auth:?}").contains("DROP"), "{auth:?}");
        let r = Render { dictionary_auth: auth, ..Render::default() };
        let m = embedded().unwrap().into_iter().find(|m| m.text.contains("${dictionary_auth}")).expect("a migration logs the dictionary in");
        let run: String = m.statements(&r).unwrap().join(";");
        assert!(run.contains("PASSWORD 'p\\'a\\\\ss; DROP'"), "{run}");
        let shown: String = m.statements(&r.redacted()).unwrap().join(";");
        assert!(!shown.contains("DROP") && shown.contains("PASSWORD '[HIDDEN]'"), "{shown}");
        // The secret appears once, in the source clause: never in a comment.
        assert_eq!(run.matches("DROP").count(), 1, "{run}");
    }

    #[test]
    fn names_are_checked() {
        for bad in ["1_x.sql", "0001-x.sql", "0001_X.sql", "0001_.sql", "0001_x.txt", "README.md", "0000_x.sql"] {
            assert!(Migration::new(bad, String::new(), "sql").is_err(), "{bad}");
        }
        let e = Migration::new("0001_x.sql", "SELECT ${nope}".into(), "sql").unwrap_err().to_string();
        assert!(e.contains("unknown placeholder ${nope}"), "{e}");
        let dir = std::env::temp_dir().join(format!("netmap-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0001_a.sql"), "SELECT 1").unwrap();
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        let e = load_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("notes.txt: not a .sql file"), "{e}");
        std::fs::remove_file(dir.join("notes.txt")).unwrap();
        std::fs::write(dir.join("0001_b.sql"), "SELECT 2").unwrap();
        let e = load_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("same version 0001"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checksum_is_of_the_file_text() {
        let m = Migration::new("0001_a.sql", "CREATE TABLE ${database}.t".into(), "sql").unwrap();
        assert_eq!(m.checksum.len(), 96);
        assert_eq!(m.checksum, checksum("CREATE TABLE ${database}.t"));
        assert_eq!(m.description(), "a");
    }

    #[test]
    fn split_respects_quotes_and_comments() {
        let s = "-- a; comment\nSELECT 'x;y', `a;b` /* ; */ ;\n\nSELECT \"q\\\";\" ; -- only a comment;\n";
        assert_eq!(split_statements(s), ["-- a; comment\nSELECT 'x;y', `a;b` /* ; */", "SELECT \"q\\\";\""]);
        assert!(split_statements("-- nothing\n").is_empty());
    }

    /// The Enum8 of a column (`kind`, ...) at each place sql/0024 spells it: its names, in value order.
    fn enum8_names(sql: &str, column: &str) -> Vec<Vec<String>> {
        let needle = format!("{column} Enum8(");
        let mut out = Vec::new();
        for (at, _) in sql.match_indices(&needle) {
            let body = &sql[at + needle.len()..];
            let body = &body[..body.find(')').expect("an Enum8 is closed")];
            let mut names = Vec::new();
            for (i, item) in body.split(',').enumerate() {
                let (name, value) = item.trim().rsplit_once(" = ").expect("'name' = value");
                assert_eq!(value.trim().parse::<usize>().unwrap(), i, "{column}: values 0, 1, ... in order: {body}");
                names.push(name.trim().trim_matches('\'').to_string());
            }
            out.push(names);
        }
        out
    }

    #[test]
    fn verdict_enums_hold_every_name_the_rule_gives() {
        use crate::cidr::NetworkType;
        use crate::rule::{Hint, Kind};
        let sql = include_str!("../../sql/0024_verdict_enums.sql");
        let expect = |names: Vec<&str>| -> Vec<String> {
            std::iter::once("").chain(names).map(str::to_string).collect()
        };
        let columns = [
            ("kind", expect(Kind::ALL.iter().map(|k| k.as_str()).collect())),
            ("matched_type", expect(NetworkType::ALL.iter().map(|t| t.as_str()).collect())),
            ("hint", expect(Hint::ALL.iter().map(|h| h.as_str()).collect())),
        ];
        for (column, want) in columns {
            let found = enum8_names(sql, column);
            // network_raw's ALTER, verdict_memo, probed_spans and the probe's empty entry.
            assert_eq!(found.len(), 4, "{column}: {found:?}");
            for names in found {
                assert_eq!(names, want, "{column}");
            }
        }
    }

    #[test]
    fn cluster_rendering() {
        let r = Render { database: "nm".into(), cluster: Some("prod`x".into()), signoz_table: "s.t".into(), ..Render::default() };
        let ms = embedded().unwrap();
        let all: Vec<String> = ms.iter().flat_map(|m| m.statements(&r).unwrap()).collect();
        let creates: Vec<&String> = all.iter().filter(|s| s.contains("CREATE ")).collect();
        assert!(creates.len() >= 15);
        for s in &creates {
            assert!(s.contains("ON CLUSTER `prod\\`x`"), "{s}");
            assert!(!s.contains("${"), "{s}");
        }
        // Null tables store nothing; the verdict memo and what it was started after (sql/0022, 0023: Join
        // tables) are each server's own.
        for s in all.iter().filter(|s| s.contains("ENGINE = ") && !s.contains("ENGINE = Null") && !s.contains("ENGINE = Join")) {
            assert!(s.contains("ENGINE = Replicated"), "{s}");
        }
        let plain = Render { database: "nm".into(), ..Render::default() };
        for s in ms.iter().flat_map(|m| m.statements(&plain).unwrap()) {
            assert!(!s.contains("ON CLUSTER") && !s.contains("Replicated"), "{s}");
        }
        for s in bootstrap_statements(&r) {
            assert!(s.contains("ON CLUSTER `prod\\`x`"), "{s}");
        }
        assert!(render("${signoz_table}", &Render { signoz_table: "a;b".into(), ..Render::default() }).is_err());
    }

    fn row(v: u32, status: &str, sum: &str, at: i64) -> VersionRow {
        VersionRow { version: v, name: format!("{v:04}_x.sql"), checksum: sum.into(), status: status.into(), at, duration_ms: 0, netmap_version: String::new() }
    }

    #[test]
    fn states() {
        let m = |v: u32, t: &str| Migration::new(&format!("{v:04}_x.sql"), t.into(), "sql").unwrap();
        let ms = vec![m(1, "a"), m(2, "b"), m(3, "c"), m(4, "-- netmap: source signoz\nd"), m(5, "e")];
        let rows = vec![
            row(1, "started", &ms[0].checksum, 1),
            row(1, "done", &ms[0].checksum, 2),
            row(2, "started", "old", 3),
            row(2, "done", "old", 4),
            row(3, "started", &ms[2].checksum, 5),
            row(9, "done", "x", 6),
        ];
        let st = status(&ms, &rows, Source::Native);
        let states: Vec<State> = st.iter().map(|s| s.state.clone()).collect();
        assert_eq!(
            states,
            [
                State::Applied,
                State::Drift { applied: "old".into() },
                State::Dirty { started_at: 5 },
                State::OtherSource(Source::Signoz),
                State::Pending,
                State::Missing { name: "0009_x.sql".into() },
            ]
        );
        assert!(st[1].line().contains("drift: applied with checksum old"), "{}", st[1].line());
        assert_eq!(status(&ms, &rows, Source::Signoz)[3].state, State::Pending);
    }
}
