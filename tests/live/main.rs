//! The live tests: one binary for everything that needs a real external
//! program or server (ClickHouse, a local Kubernetes API server, a browser).
//! Each module installs or finds what it needs and skips with a clear message
//! only when it cannot (under `scripts/test` nothing may be skipped).

mod graph;
mod kube;
