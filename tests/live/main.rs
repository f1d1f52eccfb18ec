//! The `live` test binary: tests against real servers started by the tests
//! (a local Kubernetes API server built here; ClickHouse modules are added
//! beside it). Each module is self-contained.

mod kube;
