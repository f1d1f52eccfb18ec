//! The one error type of the library and its mapping to exit codes.
//!
//! Owns: how a failure is described (`file:line: what: value`) and which exit
//! status it gives. Leaves printing to `src/bin/netmap.rs`, the only place that
//! exits. Invariant: every message already names where the problem is, so
//! callers add context only when they know more (a URL, a batch's line range).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a value came from: a file (or `<stdin>`) and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as the user named it; `-` is shown as `<stdin>`.
    pub file: String,
    /// 1-based line number; 0 when the whole file is meant.
    pub line: u64,
}

impl Origin {
    /// An origin in `file` at `line`.
    pub fn new(file: impl Into<String>, line: u64) -> Self {
        Origin { file: file.into(), line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// Display name for a path argument: `-` is standard input.
pub fn display_path(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// An I/O error as a lowercase phrase without the `(os error N)` suffix.
pub fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Everything that can stop a netmap command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {}", display_path(path), io_message(source))]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A value in an input file is invalid; the message names the column and value.
    #[error("{origin}: {message}")]
    Input {
        /// File and line of the bad value.
        origin: Origin,
        /// What is wrong, with the value and, where possible, the fix.
        message: String,
    },
    /// Bad command-line usage that clap could not catch (conflicting inputs, ...).
    #[error("{0}")]
    Usage(String),
    /// A ClickHouse server could not be reached or refused a statement.
    #[error("clickhouse at {url}: {message}")]
    ClickHouse {
        /// The server URL (never with a password).
        url: String,
        /// One-line cause.
        message: String,
    },
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
    /// A clean "no" (exit status 1): `--strict` found a bad row, `diff` found
    /// differences, `--check` found pending work. The message is a summary.
    #[error("{0}")]
    No(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// A bad value at `origin`.
    pub fn input(origin: Origin, message: impl Into<String>) -> Self {
        Error::Input { origin, message: message.into() }
    }

    /// The exit status this error maps to: 1 for a clean "no", 2 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::No(_) => 1,
            _ => 2,
        }
    }

    /// True when the error is a closed pipe on output (`netmap ... | head`), which exits 0.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io { path: PathBuf::from("<stdout>"), source: e }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
