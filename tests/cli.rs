//! CLI behaviour pinned by golden files: every `tests/cli/*.toml` case runs the
//! real `netmap` binary (trycmd); `TRYCMD=overwrite` rewrites expectations.

#[test]
fn cli() {
    trycmd::TestCases::new().case("tests/cli/*.toml");
}
