//! The command line: the `Cli` definition (clap derive), the subcommand list,
//! and the option groups every subcommand shares (`OutputArgs`, ...).
//! Each subcommand lives in its own file with its `Args` and `run`.
//!
//! This is the CLI layer: it may write to stdout (data) and stderr (warnings,
//! summaries) through [`Messages`]; the modules under it (`rule`, `cidr`,
//! `input`, ...) never print. Only `src/bin/netmap.rs` exits.

pub mod classify;
pub mod collect_cidrs;

use std::io::Write;

use clap::{Parser, Subcommand};

use crate::error::Result;
use crate::output::OutputFormat;

/// Exit status section shared by every subcommand's long help.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  a clean \"no\": --strict found a bad row, diff found differences, --check found pending work
  2  an error (bad usage, unreadable input, server unreachable)";

/// netmap: which service calls in your traces leave the Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "netmap", version, about, after_long_help = EXIT_STATUS, propagate_version = true)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify addresses, or whole trace dumps into edges, offline.
    Classify(classify::Args),
    /// Learn a cluster's pod, service and node CIDRs from Kubernetes (live or kubectl dumps).
    #[command(long_about = collect_cidrs::LONG_ABOUT)]
    CollectCidrs(collect_cidrs::Args),
}

/// `-o/--output`, shared by every command that prints rows.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(short = 'o', long = "output", value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

impl OutputArgs {
    /// The chosen format, or the default for stdout.
    pub fn format(&self) -> OutputFormat {
        self.output.unwrap_or_else(OutputFormat::default_for_stdout)
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Classify(a) => classify::run(a),
        Command::CollectCidrs(a) => collect_cidrs::run(a),
    }
}

/// Warnings and summaries on stderr, all with the `netmap: ` prefix.
pub struct Messages;

impl Messages {
    /// Print one line to stderr (errors writing to stderr are ignored).
    pub fn say(msg: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "netmap: {}", msg.as_ref());
    }

    /// Print a warning.
    pub fn warn(msg: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "netmap: warning: {}", msg.as_ref());
    }
}
