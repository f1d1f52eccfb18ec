//! The fuzz corpus as regression tests, on stable Rust: every file under
//! `fuzz/corpus/<target>/` (the inputs `cargo fuzz` kept) and
//! `fuzz/regressions/<target>/` (inputs that once crashed, kept after the
//! fix) goes through the same target function the fuzzer runs
//! (`fuzz/src/lib.rs`, included here by path). A panic or a failed invariant
//! fails the test and names the file. See fuzz/README.md.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Replay one target's corpus and regressions; returns how many inputs ran.
fn replay(name: &str, f: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for sub in ["seeds", "corpus", "regressions"] {
        for p in files(&root.join(sub).join(name)) {
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "fuzz target {name} fails on {}", p.display());
            n += 1;
        }
    }
    n
}

macro_rules! target_test {
    ($name:ident) => {
        #[test]
        fn $name() {
            let n = replay(stringify!($name), targets::$name);
            // The seeds are committed: an empty directory means a broken checkout.
            assert!(n > 0, "no inputs under fuzz/corpus/{} or fuzz/regressions/{}", stringify!($name), stringify!($name));
        }
    };
}

target_test!(peer);
target_test!(cidr);
target_test!(input_csv);
target_test!(input_jsonl);
target_test!(input_otlp);
target_test!(input_hubble);
target_test!(input_detect);

/// Every target is listed in fuzz/Cargo.toml and here.
#[test]
fn every_target_has_a_test() {
    let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/Cargo.toml")).unwrap();
    for (name, _) in targets::TARGETS {
        assert!(toml.contains(&format!("name = \"{name}\"")), "{name} missing from fuzz/Cargo.toml");
        assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fuzz/fuzz_targets/{name}.rs")).exists());
    }
}

/// A smoke run without the fuzzer: seeds, cut at every length, through each
/// target (what a fuzzer tries first), so the suite covers truncation even
/// with an empty corpus.
#[test]
fn truncated_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (name, f) in targets::TARGETS {
        for p in files(&root.join(name)) {
            let data = std::fs::read(&p).unwrap();
            let step = (data.len() / 200).max(1);
            for cut in (0..=data.len()).step_by(step) {
                let r = std::panic::catch_unwind(|| f(&data[..cut]));
                assert!(r.is_ok(), "fuzz target {name} fails on {} cut at {cut}", p.display());
            }
        }
    }
}
