//! CLI behaviour pinned by golden files: every `tests/cli/*.toml` case runs the
//! real `netmap` binary (trycmd); `TRYCMD=overwrite` rewrites expectations.

#[test]
fn cli() {
    // The cases pin what a user with no configuration sees: the connection
    // variables of the live suite (scripts/test) must not leak into them.
    for var in ["CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "NETMAP_DATABASE", "NETMAP_CLUSTER_NAME", "KUBECONFIG"] {
        std::env::remove_var(var);
    }
    trycmd::TestCases::new().case("tests/cli/*.toml");
}
