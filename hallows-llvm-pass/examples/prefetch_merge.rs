//! Merges raw prefetch samples into the profile `hallows-prefetch` reads (what
//! `cargo hallows profile` does after running the instrumented program):
//!
//! ```text
//! cargo run -p hallows-llvm-pass --example prefetch_merge -- OUT.profile RAW_DIR_OR_FILE...
//! ```
//!
//! Cache sizes come from sysfs and latencies are measured here (about 2 s) unless
//! `--no-calibrate` is given.

#[path = "../src/prefetch/model/mod.rs"]
#[allow(dead_code)]
mod model;

use std::path::PathBuf;
use std::process::ExitCode;

use model::cache::CacheModel;
use model::perf::{probe, MemorySampling};
use model::profile::merge;
use model::raw::parse_raw;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let calibrate = !args.iter().any(|a| a == "--no-calibrate");
    args.retain(|a| a != "--no-calibrate");
    if args.len() < 2 {
        eprintln!("usage: prefetch_merge [--no-calibrate] OUT.profile RAW_DIR_OR_FILE...");
        return ExitCode::from(2);
    }
    let out = PathBuf::from(&args[0]);
    let mut files = Vec::new();
    for input in &args[1..] {
        let path = PathBuf::from(input);
        match std::fs::read_dir(&path) {
            Ok(dir) => files.extend(
                dir.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "raw")),
            ),
            Err(_) => files.push(path),
        }
    }
    let mut raws = Vec::new();
    for f in &files {
        let parsed = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|b| parse_raw(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) => raws.push(r),
            Err(e) => eprintln!("prefetch_merge: warning: skipping {}: {e}", f.display()),
        }
    }
    if raws.is_empty() {
        eprintln!("error: no readable raw sample files among {} input(s); run the instrumented program with HALLOWS_PREFETCH_PROFILE_OUT set first", files.len());
        return ExitCode::FAILURE;
    }
    if let MemorySampling::Unavailable(why) = probe() {
        eprintln!("prefetch_merge: {why}");
    }
    let mut machine = match CacheModel::this_machine_from_env() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if calibrate {
        machine = machine.calibrate();
    }
    let profile = merge(&raws, machine);
    if let Err(e) = std::fs::write(&out, profile.to_text()) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "prefetch_merge: {} run(s), {} site(s), LLC {} KiB, DRAM latency {:.0} ns -> {}",
        raws.len(),
        profile.sites.len(),
        machine.llc_bytes >> 10,
        machine.dram_latency_ns,
        out.display()
    );
    ExitCode::SUCCESS
}
