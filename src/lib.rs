//! netmap: which service calls in your traces leave the Kubernetes cluster.
//!
//! A network map draws an edge for every `source service → destination` seen
//! in traces; netmap decides `is_external` for each edge the way Cilium does,
//! with the source cluster's own CIDRs: pod → service → node → remote-node →
//! otherwise world. The rule is written once in Rust ([`rule`]) and once in
//! SQL (`sql/`), and the live tests prove the two agree.
//!
//! Modules: [`cidr`] (CIDR records and lookup tables), [`rule`] (the rule),
//! [`input`] (trace-dump readers), [`edges`] (aggregation), [`output`]
//! (writers), [`graph`] (dot, mermaid, svg, html pictures of edges),
//! [`k8s`] (a cluster's own CIDRs from its API server or dumps), [`gen`]
//! (synthetic data for tests and benchmarks), [`clickhouse`] (schema, CIDR
//! pushes and the map in ClickHouse), [`cmd`] (the command line, one file per
//! subcommand).
#![warn(missing_docs)]

pub mod cidr;
pub mod clickhouse;
pub mod cmd;
pub mod edges;
pub mod error;
pub mod gen;
pub mod graph;
pub mod input;
pub mod k8s;
pub mod output;
pub mod rule;

pub use cidr::{CidrConfig, CidrRecord, NetworkType};
pub use error::{Error, Result};
pub use rule::{Classifier, Hint, Kind, Verdict};
