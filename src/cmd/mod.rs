//! The command line: the `Cli` definition (clap derive), the subcommand list,
//! and the option groups every subcommand shares (`OutputArgs`, ...).
//! Each subcommand lives in its own file with its `Args` and `run`.
//!
//! This is the CLI layer: it may write to stdout (data) and stderr (warnings,
//! summaries) through [`Messages`]; the modules under it (`rule`, `cidr`,
//! `input`, ...) never print. Only `src/bin/netmap.rs` exits.

pub mod apply_schema;
pub mod classify;
pub mod diff;
pub mod generate;
pub mod collect_cidrs;
pub mod push;
pub mod replay;

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
    /// Learn a cluster's pod, service and node CIDRs from Kubernetes (live or kubectl dumps).
    #[command(long_about = collect_cidrs::LONG_ABOUT)]
    CollectCidrs(collect_cidrs::Args),
    /// Replace clusters' CIDR sets in ClickHouse atomically.
    Push(push::Args),
    /// Create or upgrade the netmap schema in ClickHouse (migrations in sql/).
    ApplySchema(apply_schema::Args),
    /// Classify addresses, or whole trace dumps into edges, offline.
    Classify(classify::Args),
    /// Load a trace dump into ClickHouse (spans, or SigNoz's trace table).
    Replay(replay::Args),
    /// Compare two edge sets, or one dump under two CIDR configurations.
    Diff(diff::Args),
    /// Write a synthetic CIDR configuration and trace dump (tests, benchmarks).
    #[command(hide = true)]
    Generate(generate::Args),
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

/// `--top` and `--collapse`, shared by every command that prints edges; they
/// shape the graph outputs (`-o dot|mermaid|svg|html`) only.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Graph output (-o dot|mermaid|svg|html)")]
pub struct GraphArgs {
    /// Draw only the N edges with the most calls; the picture says how many were left out.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Merge nodes: namespace (ns/pod-abc and svc.ns.svc.cluster.local become ns/*),
    /// cluster (all of a cluster's outside destinations become one node), none [default: none].
    #[arg(long, value_enum, value_name = "HOW")]
    pub collapse: Option<crate::graph::Collapse>,
}

impl GraphArgs {
    /// The graph options for `format`; an error when `--top`/`--collapse` are given for a
    /// row format (they would be silently ignored there).
    pub fn opts(&self, format: OutputFormat, title: Option<String>) -> Result<crate::graph::GraphOpts> {
        if !format.is_graph() && (self.top.is_some() || self.collapse.is_some()) {
            return Err(crate::error::Error::Usage(
                "--top and --collapse shape graph output: use them with -o dot, mermaid, svg or html".into(),
            ));
        }
        Ok(crate::graph::GraphOpts { top: self.top, collapse: self.collapse.unwrap_or_default(), title })
    }
}

/// `--cluster-domain`, shared by the commands that run the rule offline
/// (`classify`, `diff --cidrs`).
#[derive(Debug, Clone, clap::Args)]
pub struct DomainArgs {
    /// Kubernetes cluster domain: names under it are services. `CLUSTER=DOMAIN` sets one cluster's (repeatable); with classify --clickhouse, a cluster's domain stored by push --cluster-domain beats DOMAIN, and CLUSTER=DOMAIN beats both.
    #[arg(long = "cluster-domain", value_name = "[CLUSTER=]DOMAIN", default_value = crate::rule::DEFAULT_CLUSTER_DOMAIN)]
    pub values: Vec<String>,
}

impl DomainArgs {
    /// The default domain and the per-cluster ones, each normalised
    /// ([`crate::rule::normalize_cluster_domain`]); a usage error names a bad value.
    pub fn parse(&self) -> Result<(String, Vec<(String, String)>)> {
        let mut default = crate::rule::DEFAULT_CLUSTER_DOMAIN.to_string();
        let mut per_cluster = Vec::new();
        for v in &self.values {
            let (cluster, domain) = match v.rsplit_once('=') {
                Some((c, d)) => (Some(c), d),
                None => (None, v.as_str()),
            };
            let d = crate::rule::normalize_cluster_domain(domain)
                .map_err(|m| crate::error::Error::Usage(format!("--cluster-domain {v:?}: {m}")))?;
            match cluster {
                Some(c) => per_cluster.push((c.to_string(), d)),
                None => default = d,
            }
        }
        Ok((default, per_cluster))
    }

    /// The rule over `config` with these domains; `stored` (cluster → domain, from
    /// ClickHouse) sits between the default and the `CLUSTER=DOMAIN` values.
    pub fn classifier(&self, config: crate::cidr::CidrConfig, stored: Vec<(String, String)>) -> Result<crate::rule::Classifier> {
        let (default, per_cluster) = self.parse()?;
        Ok(crate::rule::Classifier::new(config, &default).with_cluster_domains(stored).with_cluster_domains(per_cluster))
    }
}

/// How to reach ClickHouse; flattened into every ClickHouse subcommand.
/// The password comes only from `CLICKHOUSE_PASSWORD` (never a flag, never printed).
#[derive(Debug, Clone, clap::Args)]
pub struct ChArgs {
    /// ClickHouse HTTP(S) URL.
    #[arg(long, env = "CLICKHOUSE_URL", hide_env_values = true, value_name = "URL", default_value = crate::clickhouse::DEFAULT_URL)]
    pub url: String,

    /// ClickHouse user (the password is read from CLICKHOUSE_PASSWORD).
    #[arg(long, env = "CLICKHOUSE_USER", value_name = "USER", default_value = "default")]
    pub user: String,

    /// The netmap database.
    #[arg(long, env = "NETMAP_DATABASE", value_name = "NAME", default_value = crate::clickhouse::DEFAULT_DATABASE)]
    pub database: String,

    /// Seconds to wait for each request to ClickHouse.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,

    /// CA certificate(s), PEM, to trust for an https:// URL besides the system's
    /// (which SSL_CERT_FILE and SSL_CERT_DIR replace).
    #[arg(long, env = "NETMAP_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
}

impl ChArgs {
    /// The connection settings, with the password from the environment.
    pub fn config(&self) -> Result<crate::clickhouse::Config> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(crate::Error::Usage(format!("--timeout {}: must be a positive number of seconds", self.timeout)));
        }
        Ok(crate::clickhouse::Config {
            url: self.url.clone(),
            user: self.user.clone(),
            password: std::env::var("CLICKHOUSE_PASSWORD").ok().filter(|p| !p.is_empty()),
            database: self.database.clone(),
            timeout: std::time::Duration::from_secs_f64(self.timeout),
            ca_cert: self.ca_cert.clone(),
        })
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Classify(a) => classify::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Generate(a) => generate::run(a),
        Command::CollectCidrs(a) => collect_cidrs::run(a),
        Command::ApplySchema(a) => apply_schema::run(a),
        Command::Push(a) => push::run(a),
        Command::Replay(a) => replay::run(a),
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
