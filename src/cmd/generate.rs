//! `netmap generate` (hidden): write the seeded synthetic CIDR configuration
//! and trace dump used by the parity tests and the benchmarks (`src/gen.rs`).

use std::io::Write;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::gen::{write_cidrs_csv, write_spans_csv, GenSpec};
use crate::output;

/// Write a synthetic CIDR configuration and trace dump (for tests and benchmarks).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// PRNG seed: the same seed and sizes always give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of clusters.
    #[arg(long, default_value_t = 4)]
    pub clusters: usize,
    /// CIDRs per cluster (>= 3).
    #[arg(long, default_value_t = 8)]
    pub cidrs_per_cluster: usize,
    /// Span rows.
    #[arg(long, default_value_t = 1000)]
    pub rows: u64,
    /// Leave out empty and garbage peers.
    #[arg(long)]
    pub no_garbage: bool,
    /// Where to write the CIDR CSV.
    #[arg(long, value_name = "FILE")]
    pub cidrs_out: Option<PathBuf>,
    /// Where to write the spans CSV (`-` = stdout).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub spans_out: PathBuf,
}

/// Run `netmap generate`.
pub fn run(a: Args) -> Result<()> {
    let spec = GenSpec { seed: a.seed, clusters: a.clusters.max(1), cidrs_per_cluster: a.cidrs_per_cluster.max(3), rows: a.rows, garbage: !a.no_garbage };
    if let Some(p) = &a.cidrs_out {
        let mut w = output::create(p)?;
        write_cidrs_csv(&spec, &mut w).and_then(|()| w.flush()).map_err(|e| Error::io(p, e))?;
    }
    let mut w = output::create(&a.spans_out)?;
    write_spans_csv(&spec, &mut w)
}
