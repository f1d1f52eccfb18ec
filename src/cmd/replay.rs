//! `netmap replay`: load a trace dump into ClickHouse so the materialized
//! views classify it — netmap's own `spans` table, or a SigNoz-shaped trace
//! table with `--source signoz`.
//!
//! Reads the dump with the readers of `classify` (same formats, `--cluster`,
//! `--rejects`, `--strict`), packs rows into batches and inserts each with a
//! deduplication token (`clickhouse::replay`), so running the same replay
//! again after a failure stores every row exactly once. The reader runs on
//! this thread and the inserts on another, one batch apart. A progress bar
//! (bytes read, rows inserted, rows/s, ETA) is drawn when stderr is a
//! terminal; the summary line says: records read = rows inserted + rejected
//! (+ skipped).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::clickhouse::migrate::{Source, DEFAULT_SIGNOZ_TABLE};
use crate::clickhouse::replay::{self, Batch, Retry, Target, Tokens, DEFAULT_BATCH_SIZE};
use crate::clickhouse::{runtime, Ch};
use crate::cmd::{ChArgs, Messages, EXIT_STATUS};
use crate::error::{Error, Origin, Result};
use crate::input::{Event, Format, Input};
use crate::output::Rejects;

/// Load a trace dump into ClickHouse (spans, or SigNoz's trace table).
///
/// Rows are inserted in batches, each with a deduplication token derived from
/// its rows and line range: a batch sent again (a retry after a dropped
/// connection, or the same replay run again after a failure) is stored once.
/// Transient errors (connection refused or reset, timeouts, an overloaded
/// server) are retried with backoff; any other error stops the replay with
/// the batch's line range, and running it again resumes. To fix rejected rows,
/// write them with --rejects FILE, fix them there and replay that file.
///
/// Examples:
///   netmap replay --input spans.csv
///   netmap replay --input traces.json --cluster prod --time-shift now
///   netmap replay --input spans.csv --source signoz --signoz-table signoz_traces.signoz_index_v3
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXIT_STATUS)]
pub struct Args {
    /// The trace dump to load (`-` = stdin).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub input: PathBuf,

    /// Format of --input [default: from the extension, else the content].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// The cluster of rows with an empty k8s_cluster_name.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Where rows go: netmap's `spans` table, or SigNoz's trace table (read by the view
    /// `netmap apply-schema --source signoz` creates).
    #[arg(long, value_enum, default_value_t = Source::Native)]
    pub source: Source,

    /// SigNoz's trace table (with --source signoz).
    #[arg(long, value_name = "DB.TABLE", default_value = DEFAULT_SIGNOZ_TABLE)]
    pub signoz_table: String,

    /// Rows per insert.
    #[arg(long, value_name = "ROWS", default_value_t = DEFAULT_BATCH_SIZE, value_parser = batch_size)]
    pub batch_size: usize,

    /// Retries of a batch after a transient error (waits 0.5 s, 1 s, 2 s, ... at most 30 s).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,

    /// Move every timestamp: `now` (the last row becomes now; reads a file twice), or a
    /// duration such as +3d, -90m, +1d12h (units s, m, h, d, w).
    #[arg(long, value_name = "SHIFT", allow_hyphen_values = true)]
    pub time_shift: Option<String>,

    /// Part of every batch's deduplication token: the same input replayed with
    /// the same id stores nothing new; a new id stores it again.
    #[arg(long, value_name = "ID", default_value = "")]
    pub run_id: String,

    /// Write every rejected input record, whole, to FILE.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,

    /// Stop at the first bad row with exit status 1 (full batches before it are already stored).
    #[arg(long)]
    pub strict: bool,

    /// Connection.
    #[command(flatten)]
    pub ch: ChArgs,
}

fn batch_size(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a positive number of rows")),
    }
}

/// A parsed `--time-shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeShift {
    /// Move the dump so its latest row is now.
    Now,
    /// Move every row by this many nanoseconds.
    By(i64),
}

/// Parse `--time-shift`: `now`, or a signed sum of `<n><unit>` with units
/// s, m, h, d, w (`+3d`, `-90m`, `1d12h`; no sign = later).
pub fn parse_time_shift(s: &str) -> std::result::Result<TimeShift, String> {
    let bad = || format!("--time-shift {s:?}: expected `now` or a duration such as +3d, -90m, +1d12h (units s, m, h, d, w)");
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(TimeShift::Now);
    }
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1i64, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    if body.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| v.checked_mul(1_000_000_000))
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(TimeShift::By(sign * total))
}

/// A shift as people read it: `+1d 2h 3m 4.5s`.
pub fn format_shift(ns: i64) -> String {
    let sign = if ns < 0 { '-' } else { '+' };
    let mut rest = ns.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, name) in [(86_400_000_000_000u64, "d"), (3_600_000_000_000, "h"), (60_000_000_000, "m")] {
        if rest >= unit {
            parts.push(format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    if rest > 0 || parts.is_empty() {
        let s = format!("{:.3}", rest as f64 / 1e9);
        parts.push(format!("{}s", s.trim_end_matches('0').trim_end_matches('.')));
    }
    format!("{sign}{}", parts.join(" "))
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The latest timestamp of the dump (a first pass over the file).
fn latest_timestamp(input: &Input) -> Result<Option<i64>> {
    let mut max = None;
    input.read(&mut |ev| {
        if let Event::Row(r) = ev {
            max = Some(max.map_or(r.timestamp_ns, |m: i64| m.max(r.timestamp_ns)));
        }
        Ok(())
    })?;
    Ok(max)
}

fn progress_bar(total_bytes: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = match total_bytes {
        Some(n) => {
            let pb = ProgressBar::new(n);
            pb.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} [{wide_bar}] {percent:>3}% {msg}, ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        }
        None => {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {binary_bytes} read, {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb
        }
    };
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn rate(rows: u64, secs: f64) -> u64 {
    if secs > 0.0 {
        (rows as f64 / secs) as u64
    } else {
        0
    }
}

/// Run `netmap replay`.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let shift = args.time_shift.as_deref().map(parse_time_shift).transpose().map_err(Error::Usage)?;
    if shift == Some(TimeShift::Now) && args.input.as_os_str() == "-" {
        return Err(Error::Usage(
            "--time-shift now reads the input twice (to find its last row): give a file, or a duration such as +3d".into(),
        ));
    }
    if args.input.as_os_str() != "-" {
        std::fs::File::open(&args.input).map_err(|e| Error::io(&args.input, e))?;
    }
    let target = match args.source {
        Source::Native => Target::Spans,
        Source::Signoz => Target::signoz(&args.signoz_table)?,
    };
    let ch = Ch::new(&args.ch.config()?)?;
    let table = target.display(&ch);
    let bytes = Arc::new(AtomicU64::new(0));
    let input = Input::new(args.input.clone(), args.format).default_cluster(args.cluster.clone()).progress(bytes.clone());
    let name = input.name();

    let (warnings, known, ch) = runtime()?.block_on(async {
        let w = replay::check_target(&ch, &target).await?;
        let sets = crate::clickhouse::cidrs::current_sets(&ch).await?;
        let known: BTreeSet<String> =
            sets.into_iter().filter(|(_, s)| s.items.iter().any(|i| i.is_active)).map(|(c, _)| c).collect();
        Ok::<_, Error>((w, known, replay::for_inserts(&ch).await?))
    })?;
    for w in &warnings {
        Messages::warn(w);
    }

    let shift_ns = match shift {
        None => 0,
        Some(TimeShift::By(ns)) => ns,
        Some(TimeShift::Now) => match latest_timestamp(&input)? {
            Some(last) => now_ns() - last,
            None => 0,
        },
    };
    bytes.store(0, Ordering::Relaxed);
    if shift_ns != 0 {
        Messages::say(format!("{name}: timestamps moved by {}", format_shift(shift_ns)));
    }
    let tokens = Tokens::new(&target, &args.run_id, args.time_shift.as_deref().unwrap_or("").trim());

    let total_bytes = if args.input.as_os_str() == "-" { None } else { std::fs::metadata(&args.input).ok().map(|m| m.len()) };
    let pb = progress_bar(total_bytes);
    pb.set_message("0 rows inserted");
    let inserted = Arc::new(AtomicU64::new(0));

    // The inserter: its own thread and runtime, one batch behind the reader.
    let (tx, rx) = sync_channel::<Batch>(1);
    let inserter = {
        let (ch, target, pb, inserted) = (ch.clone(), target.clone(), pb.clone(), inserted.clone());
        let retry = Retry { retries: args.retries, ..Retry::default() };
        std::thread::Builder::new()
            .name("netmap-replay-insert".into())
            .spawn(move || -> Result<()> {
                let rt = runtime()?;
                for batch in rx {
                    let mut on_retry = |e: &replay::RetryEvent| {
                        pb.suspend(|| {
                            Messages::warn(format!(
                                "replay: batch {}: attempt {}/{} failed: {}; retrying in {:.1}s",
                                batch.lines(),
                                e.attempt,
                                e.attempts,
                                e.cause,
                                e.delay.as_secs_f64()
                            ))
                        })
                    };
                    rt.block_on(replay::insert_batch(&ch, &target, &batch, &retry, &mut on_retry))?;
                    let n = inserted.fetch_add(batch.len() as u64, Ordering::Relaxed) + batch.len() as u64;
                    pb.set_message(format!("{n} rows inserted, {} rows/s", rate(n, started.elapsed().as_secs_f64())));
                }
                Ok(())
            })
            .map_err(|e| Error::Other(format!("cannot start the insert thread: {e}")))?
    };

    let mut rejects = Rejects::new(&name, args.rejects.as_deref())?;
    let mut rows = 0u64;
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    let mut batch = Batch::new(args.batch_size);
    let stopped = || Error::Other("the insert thread stopped".into());
    let read = input.read(&mut |ev| {
        match ev {
            Event::Row(r) => {
                rows += 1;
                if unknown.len() < 100 && !known.contains(r.cluster) && !unknown.contains(r.cluster) {
                    unknown.insert(r.cluster.to_string());
                }
                batch.push(&r, shift_ns).map_err(|m| Error::input(Origin::new(name.clone(), r.line), m))?;
                if batch.len() >= args.batch_size {
                    let mut full = std::mem::replace(&mut batch, Batch::new(args.batch_size));
                    full.seal(&tokens);
                    tx.send(full).map_err(|_| stopped())?;
                }
                if rows % 4096 == 0 {
                    pb.set_position(bytes.load(Ordering::Relaxed));
                }
            }
            Event::Reject(r) => {
                if args.strict {
                    return Err(Error::No(format!("{} (--strict)", rejects.message(&r))));
                }
                rejects.add(&r)?;
            }
            Event::Skip(why) => rejects.skip(why),
        }
        Ok(())
    });
    let read = read.and_then(|format| {
        if !batch.is_empty() {
            batch.seal(&tokens);
            tx.send(batch).map_err(|_| stopped())?;
        }
        Ok(format)
    });
    drop(tx);
    let inserted_result = inserter.join().unwrap_or_else(|_| Err(Error::Other("the insert thread panicked".into())));
    pb.finish_and_clear();
    rejects.finish()?;
    // The insert error explains a reader stopped by it; otherwise the reader's error comes first.
    let format = match (read, inserted_result) {
        (_, Err(e)) => return Err(e),
        (Err(e), Ok(())) => return Err(e),
        (Ok(f), Ok(())) => f,
    };
    for line in rejects.report() {
        Messages::say(line);
    }
    for u in &unknown {
        Messages::warn(format!(
            "cluster {u:?} has no CIDRs in clickhouse database {}: its IPs are all world (netmap push its CIDRs before replaying)",
            ch.database()
        ));
    }
    let n = inserted.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    Messages::say(format!(
        "{name} ({format}): {} records read, {n} rows inserted into {table}, {} in {secs:.2}s ({} rows/s)",
        rows + rejects.total() + rejects.skipped(),
        rejects.summary_phrase(),
        rate(n, secs),
    ));
    debug_assert_eq!(n, rows);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_shifts() {
        const S: i64 = 1_000_000_000;
        assert_eq!(parse_time_shift("now"), Ok(TimeShift::Now));
        assert_eq!(parse_time_shift("+3d"), Ok(TimeShift::By(3 * 86_400 * S)));
        assert_eq!(parse_time_shift("-90m"), Ok(TimeShift::By(-90 * 60 * S)));
        assert_eq!(parse_time_shift("1d12h"), Ok(TimeShift::By(36 * 3600 * S)));
        assert_eq!(parse_time_shift("2w"), Ok(TimeShift::By(14 * 86_400 * S)));
        for bad in ["", "+", "3", "3x", "d", "+-3d", "99999999999999999d", "now-1h"] {
            assert!(parse_time_shift(bad).is_err(), "{bad}");
        }
        assert_eq!(format_shift(36 * 3600 * S + 4_500_000_000), "+1d 12h 4.5s");
        assert_eq!(format_shift(-90 * 60 * S), "-1h 30m");
        assert_eq!(format_shift(0), "+0s");
    }
}
