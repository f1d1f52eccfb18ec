//! `netmap apply-schema`: create or upgrade the netmap schema in ClickHouse.
//!
//! Applies the pending migrations of `sql/` (compiled into the binary) in
//! order and records each in `schema_migrations`; `--check` changes nothing
//! and exits 1 when anything is pending or has drifted; `--dry-run` prints
//! the SQL it would run (passwords as `[HIDDEN]`); `--refresh-dictionary`
//! creates the dictionaries again with the current credentials. Status lines
//! go to stderr, SQL to stdout.

use std::path::PathBuf;

use crate::clickhouse::migrate::{self, DictionaryAuth, Render, Source, State, DEFAULT_SIGNOZ_TABLE};
use crate::clickhouse::{runtime, Ch};
use crate::cmd::{ChArgs, Messages, EXIT_STATUS};
use crate::error::{Error, Result};

/// Create or upgrade the netmap schema in ClickHouse.
///
/// Applies the pending migrations (sql/NNNN_*.sql, compiled in) in order and
/// records each in `<database>.schema_migrations` (a `started` row, then `done`
/// with its SHA-384 checksum and duration). Running it again applies nothing.
/// An applied migration whose file changed is drift: reported, never re-run.
///
/// Examples:
///   netmap apply-schema --check
///   netmap apply-schema --dry-run --source signoz
///   netmap apply-schema --cluster main --dry-run
///   CLICKHOUSE_PASSWORD=... netmap apply-schema --refresh-dictionary   (after a password change)
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// Print the SQL that would run; change nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Change nothing; exit 1 when a migration is pending, drifted or unfinished.
    #[arg(long)]
    pub check: bool,

    /// Where spans come from: netmap's own `spans` table, or SigNoz's traces as well.
    #[arg(long, value_enum, default_value_t = Source::Native)]
    pub source: Source,

    /// SigNoz's trace table (with --source signoz).
    #[arg(long, value_name = "DB.TABLE", default_value = DEFAULT_SIGNOZ_TABLE)]
    pub signoz_table: String,

    /// Create every object ON CLUSTER NAME, with Replicated table engines.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Run again a migration that was started but never finished (its statements are idempotent).
    #[arg(long, conflicts_with = "check")]
    pub resume: bool,

    /// Create the dictionaries again with the current CLICKHOUSE_USER and
    /// CLICKHOUSE_PASSWORD (after a password change); nothing else runs.
    #[arg(long, conflicts_with_all = ["check", "dry_run", "resume"])]
    pub refresh_dictionary: bool,

    /// Read migrations from DIR instead of the ones compiled in (for tests).
    #[arg(long, value_name = "DIR", hide = true)]
    pub sql_dir: Option<PathBuf>,

    /// Connection.
    #[command(flatten)]
    pub ch: ChArgs,
}

/// Run `netmap apply-schema`.
pub fn run(args: Args) -> Result<()> {
    let migrations = match &args.sql_dir {
        Some(d) => migrate::load_dir(d)?,
        None => migrate::embedded()?,
    };
    let config = args.ch.config()?;
    let ch = Ch::new(&config)?;
    let render = Render {
        database: ch.database().to_string(),
        cluster: args.cluster.clone(),
        signoz_table: args.signoz_table.clone(),
        dictionary_auth: DictionaryAuth { user: config.user.clone(), password: config.password.clone() },
    };
    // Fail on a bad --signoz-table before touching the server.
    for m in &migrations {
        m.statements(&render)?;
    }
    runtime()?.block_on(apply(&args, &ch, &migrations, &render))
}

async fn apply(args: &Args, ch: &Ch, migrations: &[migrate::Migration], render: &Render) -> Result<()> {
    ch.ping().await?;
    let rows = migrate::recorded(ch).await?;
    let status = migrate::status(migrations, &rows, args.source);
    let where_ = format!("database {} at {}", ch.database(), ch.url());
    if args.refresh_dictionary {
        return refresh_dictionary(ch, migrations, &status, render, &where_).await;
    }
    if args.check {
        let mut not_ok = 0;
        for s in &status {
            if !matches!(s.state, State::Applied | State::OtherSource(_)) {
                not_ok += 1;
                Messages::say(s.line());
            }
        }
        let applied = status.iter().filter(|s| s.state == State::Applied).count();
        if not_ok > 0 {
            return Err(Error::No(format!("{where_}: {not_ok} migration(s) not applied as written ({applied} applied)")));
        }
        Messages::say(format!("{where_}: schema up to date ({applied} migrations applied)"));
        return Ok(());
    }
    let blocking: Vec<&migrate::Status> = status
        .iter()
        .filter(|s| s.is_blocking() && !(args.resume && matches!(s.state, State::Dirty { .. })))
        .collect();
    if !blocking.is_empty() {
        for s in &blocking {
            Messages::say(s.line());
        }
        return Err(Error::Other(format!("{where_}: nothing applied: {} migration(s) need attention (above)", blocking.len())));
    }
    let todo: Vec<&migrate::Migration> = status
        .iter()
        .filter(|s| matches!(s.state, State::Pending | State::Dirty { .. }))
        .filter_map(|s| migrations.iter().find(|m| m.version == s.version))
        .collect();
    if todo.is_empty() {
        let applied = status.iter().filter(|s| s.state == State::Applied).count();
        Messages::say(format!("{where_}: nothing to apply ({applied} migrations applied)"));
        return Ok(());
    }
    if todo.iter().any(|m| m.source == Some(Source::Signoz)) {
        same_signoz_table(ch, render).await?;
    }
    if args.dry_run {
        use std::io::Write;
        let mut out = crate::output::stdout();
        if rows.is_empty() {
            writeln!(out, "-- bootstrap (if missing)")?;
            for s in migrate::bootstrap_statements(render) {
                writeln!(out, "{s};")?;
            }
        }
        let shown = render.redacted();
        for m in &todo {
            writeln!(out, "\n-- {} (can apply)", m.name)?;
            for s in m.statements(&shown)? {
                writeln!(out, "{s};")?;
            }
        }
        out.flush()?;
        Messages::say(format!("{where_}: would apply {} migration(s) (--dry-run: nothing changed)", todo.len()));
        return Ok(());
    }
    migrate::bootstrap(ch, render).await?;
    for m in &todo {
        let took = migrate::apply_one(ch, m, render).await?;
        Messages::say(format!("applied {} in {:.2}s", m.name, took.as_secs_f64()));
    }
    Messages::say(format!("{where_}: applied {} migration(s)", todo.len()));
    Ok(())
}

/// Before a SigNoz migration runs on a database that already reads a SigNoz
/// table: `--signoz-table` must name that table. sql/0026 builds its view on
/// the table given and drops the one that read the table given before, so
/// another name (the default, left out by mistake) would move netmap to
/// another table without a word.
async fn same_signoz_table(ch: &Ch, render: &Render) -> Result<()> {
    let Some((reads, view)) = migrate::signoz_feed(ch).await? else { return Ok(()) };
    let given = crate::clickhouse::replay::Target::signoz(&render.signoz_table)?.display(ch);
    if reads != given {
        return Err(Error::Usage(format!(
            "database {}'s view {view} reads {reads}, not {given}: give --signoz-table {reads} (nothing applied)",
            ch.database()
        )));
    }
    Ok(())
}

/// Whether one of `ms` creates the dictionary `name`.
fn creates_dictionary(ms: &[&migrate::Migration], name: &str) -> bool {
    ms.iter().any(|m| m.text.contains(&format!("DICTIONARY ${{database}}.{name} ")))
}

/// `--refresh-dictionary`: run again the applied migrations that log a
/// dictionary in (`${dictionary_auth}`), with the current credentials. Their
/// statements are `CREATE OR REPLACE DICTIONARY`, so this is idempotent; no
/// version row is written (the files did not change).
async fn refresh_dictionary(
    ch: &Ch,
    migrations: &[migrate::Migration],
    status: &[migrate::Status],
    render: &Render,
    where_: &str,
) -> Result<()> {
    let applied = |m: &&migrate::Migration| status.iter().any(|s| s.version == m.version && s.state == State::Applied);
    let todo: Vec<&migrate::Migration> =
        migrations.iter().filter(|m| m.text.contains("${dictionary_auth}")).filter(applied).collect();
    if todo.is_empty() {
        return Err(Error::Other(format!(
            "{where_}: no dictionary to refresh: apply the schema first (netmap apply-schema)"
        )));
    }
    for m in &todo {
        for (i, s) in m.statements(render)?.iter().enumerate() {
            ch.exec(&format!("{} statement {} (--refresh-dictionary)", m.name, i + 1), s).await?;
        }
        Messages::say(format!("ran {} again with the current credentials", m.name));
    }
    let dicts: Vec<&str> =
        crate::clickhouse::DICTIONARIES.iter().copied().filter(|d| creates_dictionary(&todo, d)).collect();
    crate::clickhouse::memo::reload_dictionaries(ch, &dicts).await?;
    Messages::say(format!("{where_}: dictionary credentials refreshed"));
    Ok(())
}
