//! ClickHouse: the connection every ClickHouse subcommand shares, and the
//! one-line errors it gives.
//!
//! Owns: [`Config`] (URL, user, password, database, timeout, CA file — filled by
//! `cmd::ChArgs`), [`Ch`] (an HTTP client of the official `clickhouse` crate
//! bound to the netmap database, plus one without a database for
//! bootstrapping), and the mapping of every client failure to
//! [`Error::ClickHouse`]: `clickhouse at URL: cause`, one line, never a
//! password. Leaves migrations to [`migrate`], CIDR pushes to [`cidrs`],
//! loading dumps to [`replay`], reading the map to [`edges`] and the verdict
//! memo's generations to [`memo`]. Async on
//! tokio; the command layer owns the runtime ([`runtime`]).
//!
//! Invariant: values never enter SQL text. Rows go through RowBinary
//! (`insert`) and query parameters (`{name:Type}`); the only names rendered
//! into SQL are the database and table names, and the database name is
//! checked to be a plain identifier ([`check_database_name`]).

pub mod cidrs;
pub mod domains;
pub mod edges;
pub mod memo;
pub mod migrate;
pub mod replay;
pub mod tls;

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// Default server URL.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8123";
/// Default database.
pub const DEFAULT_DATABASE: &str = "netmap";

/// The schema's dictionaries (sql/0017, sql/0019), which `push` and
/// `apply-schema --refresh-dictionary` reload.
pub const DICTIONARIES: &[&str] = &["cidr_trie_dict", "cluster_domain_dict"];

/// Where and how to connect.
#[derive(Clone)]
pub struct Config {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    /// User name.
    pub user: String,
    /// Password (from `CLICKHOUSE_PASSWORD` only); never printed.
    pub password: Option<String>,
    /// The netmap database.
    pub database: String,
    /// Limit for each request.
    pub timeout: Duration,
    /// Extra CA certificates (PEM) to trust for `https://`, besides the system's.
    pub ca_cert: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &display_url(&self.url))
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("database", &self.database)
            .field("timeout", &self.timeout)
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

/// A connection to one server and one netmap database.
#[derive(Clone)]
pub struct Ch {
    server: clickhouse::Client,
    db: clickhouse::Client,
    url: String,
    database: String,
    timeout: Duration,
    /// The password, kept only to take it out of error messages.
    secret: Option<String>,
}

impl std::fmt::Debug for Ch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ch").field("url", &self.url).field("database", &self.database).finish()
    }
}

/// A database name netmap can render into SQL: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
pub fn check_database_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "database name {name:?} is not a plain identifier (letters, digits, _; not starting with a digit)"
        )))
    }
}

/// The URL as shown in messages: without any `user:password@`.
pub fn display_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let auth_end = rest.find('/').unwrap_or(rest.len());
            match rest[..auth_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

impl Ch {
    /// A client for `cfg` (nothing is sent yet).
    pub fn new(cfg: &Config) -> Result<Ch> {
        let shown = display_url(&cfg.url);
        if !(cfg.url.starts_with("http://") || cfg.url.starts_with("https://")) {
            return Err(Error::Usage(format!("--url {shown:?} must start with http:// or https://")));
        }
        check_database_name(&cfg.database)?;
        let mut server = tls::client(&cfg.url, cfg.ca_cert.as_deref())?
            .with_url(cfg.url.trim_end_matches('/'))
            .with_user(&cfg.user);
        if let Some(p) = &cfg.password {
            server = server.with_password(p);
        }
        let db = server.clone().with_database(&cfg.database);
        let secret = cfg.password.clone().filter(|p| !p.is_empty());
        Ok(Ch { server, db, url: shown, database: cfg.database.clone(), timeout: cfg.timeout, secret })
    }

    /// This connection with a ClickHouse setting sent on every request, as a
    /// user's settings profile would set it.
    pub fn with_setting(&self, name: &str, value: &str) -> Ch {
        let mut ch = self.clone();
        ch.server = ch.server.with_setting(name, value);
        ch.db = ch.db.with_setting(name, value);
        ch
    }

    /// The server URL as shown in messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The netmap database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The limit for each request (`--timeout`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The client bound to the netmap database (for inserts and queries).
    pub fn client(&self) -> &clickhouse::Client {
        &self.db
    }

    /// The client without a database (for `CREATE DATABASE`).
    pub fn server_client(&self) -> &clickhouse::Client {
        &self.server
    }

    /// An error about this server. The password never appears in it: a
    /// server may quote a statement back (a syntax error), and a statement
    /// may hold the password (a dictionary source, sql/0017).
    pub fn error(&self, message: impl Into<String>) -> Error {
        let mut message = message.into();
        if let Some(p) = &self.secret {
            message = message.replace(p.as_str(), migrate::HIDDEN);
        }
        Error::ClickHouse { url: self.url.clone(), message }
    }

    /// Await a client future within the timeout; map its failure to one line.
    pub async fn run<T>(&self, what: &str, fut: impl Future<Output = clickhouse::error::Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(with_context(what, &describe(&e)))),
            Err(_) => Err(self.error(with_context(what, &format!("timed out after {} (--timeout)", seconds(self.timeout))))),
        }
    }

    /// Run one statement verbatim (no `?` binding) in the netmap database.
    pub async fn exec(&self, what: &str, sql: &str) -> Result<()> {
        self.run(what, self.db.query_raw(sql).execute()).await
    }

    /// Run one statement verbatim without a current database.
    pub async fn exec_server(&self, what: &str, sql: &str) -> Result<()> {
        self.run(what, self.server.query_raw(sql).execute()).await
    }

    /// `SELECT 1`: fails with the cause when the server is unreachable or refuses.
    pub async fn ping(&self) -> Result<()> {
        let _: u8 = self.run("", self.server.query_raw("SELECT 1").fetch_one::<u8>()).await?;
        Ok(())
    }

    /// An error saying `what` is missing, and to run apply-schema, unless `table` exists.
    pub async fn require_table(&self, table: &str, what: &str) -> Result<()> {
        if self.table_exists(table).await? {
            return Ok(());
        }
        Err(self.error(format!("database {} has {what}: run netmap apply-schema first", self.database)))
    }

    /// True when `table` exists in the netmap database.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let n: u64 = self
            .run(
                "",
                self.server
                    .query_raw("SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}")
                    .param("db", &self.database)
                    .param("t", table)
                    .fetch_one::<u64>(),
            )
            .await?;
        Ok(n > 0)
    }
}

/// A duration as `--timeout` takes it: `1s`, `0.5s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{s}s")
    }
}

fn with_context(what: &str, cause: &str) -> String {
    if what.is_empty() {
        cause.to_string()
    } else {
        format!("{what}: {cause}")
    }
}

/// One line for a client error: the deepest cause, the server's message
/// without its stack or version suffix.
pub fn describe(e: &clickhouse::error::Error) -> String {
    use clickhouse::error::Error as E;
    match e {
        E::Network(src) => {
            let mut deepest: &(dyn std::error::Error + 'static) = src.as_ref();
            let mut io_kind = None;
            // Connecting failed (refused, no route, TLS handshake), as opposed
            // to a connection that broke or a reply that was not HTTP: the
            // client says so itself (a word match would take "connection
            // closed" for a connect error).
            let is_connect = |e: &(dyn std::error::Error + 'static)| {
                e.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|h| h.is_connect())
            };
            let mut connect = is_connect(deepest);
            while let Some(next) = deepest.source() {
                if let Some(io) = next.downcast_ref::<std::io::Error>() {
                    io_kind = Some(io.kind());
                }
                connect |= is_connect(next);
                deepest = next;
            }
            connect |= matches!(io_kind, Some(std::io::ErrorKind::ConnectionRefused));
            let cause = match io_kind {
                Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
                Some(std::io::ErrorKind::ConnectionReset) => "connection reset by the server".to_string(),
                _ => strip_os_error(&deepest.to_string()),
            };
            if connect {
                format!("cannot connect: {cause}")
            } else {
                format!("network error: {cause}")
            }
        }
        E::BadResponse(msg) => server_message(msg),
        E::TimedOut => "timed out".to_string(),
        other => first_line(&other.to_string()),
    }
}

fn strip_os_error(s: &str) -> String {
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// `Code: 60. DB::Exception: Table x doesn't exist. (UNKNOWN_TABLE) (version 26.9.2.1)`
/// → `Table x doesn't exist. (UNKNOWN_TABLE, code 60)`.
fn server_message(msg: &str) -> String {
    let line = first_line(msg);
    let line = match line.rfind(" (version ") {
        Some(i) if line.ends_with(')') => &line[..i],
        _ => line.as_str(),
    };
    if let Some(rest) = line.strip_prefix("Code: ") {
        if let Some((code, text)) = rest.split_once(". ") {
            let text = text.strip_prefix("DB::Exception: ").unwrap_or(text);
            return format!("{text} (code {code})");
        }
    }
    line.to_string()
}

/// A tokio runtime for one command (current thread, timers and I/O on).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_hide_credentials() {
        assert_eq!(display_url("http://u:secret@h:8123/x"), "http://h:8123/x");
        assert_eq!(display_url("http://h:8123"), "http://h:8123");
    }

    #[test]
    fn timeouts_read_as_given() {
        assert_eq!(seconds(Duration::from_secs(1)), "1s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn database_names_are_identifiers() {
        assert!(check_database_name("netmap_t_1").is_ok());
        for bad in ["", "1x", "a-b", "a.b", "a`b", &"x".repeat(65)] {
            assert!(check_database_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_messages_are_one_line() {
        let m = "Code: 60. DB::Exception: Table netmap.x does not exist. (UNKNOWN_TABLE) (version 26.9.2.1)\nstack";
        assert_eq!(server_message(m), "Table netmap.x does not exist. (UNKNOWN_TABLE) (code 60)");
    }
}
