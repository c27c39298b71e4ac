//! Loads the built plugin into rustc itself (`-Z llvm-plugins`) and checks the inventory record
//! it writes for a known function.

use std::path::PathBuf;
use std::process::Command;

/// The plugin cargo built for this test run. Cargo builds the cdylib beside this test executable
/// in `<target>/<profile>/deps/` (and copies it to `<target>/<profile>/` for `cargo build`).
fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("HALLOWS_PLUGIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe
        .parent()
        .expect("test executable lives in <target>/<profile>/deps");
    let name = format!(
        "{}hallows_llvm_pass{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let beside = deps.join(&name);
    if beside.is_file() {
        return beside;
    }
    deps.parent().map(|p| p.join(&name)).unwrap_or(beside)
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hallows-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

const SOURCE: &str = r#"
#[inline(never)]
pub fn nested_sum(grid: &[[u32; 8]]) -> u32 {
    let mut total = 0u32;
    for row in grid {
        for cell in row.iter() {
            total = total.wrapping_add(*cell);
        }
    }
    total
}
"#;

#[test]
fn rustc_runs_inventory_and_writes_a_record_for_a_known_function() {
    let plugin = plugin_path();
    assert!(
        plugin.is_file(),
        "plugin {} not found; build it with `cargo build -p hallows-llvm-pass` or set HALLOWS_PLUGIN",
        plugin.display()
    );
    let dir = scratch_dir("rustc-load");
    let reports = dir.join("reports");
    let src = dir.join("probe.rs");
    std::fs::write(&src, SOURCE).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("HALLOWS_REPORT_DIR", &reports)
        .env("HALLOWS_PASSES", "inventory")
        .env_remove("HALLOWS_REPORT_STDERR")
        .arg(format!("-Zllvm-plugins={}", plugin.display()))
        .args([
            "-C",
            "opt-level=2",
            "--crate-type=lib",
            "--crate-name=probe",
        ])
        .arg("--emit=obj")
        .arg("-o")
        .arg(dir.join("probe.o"))
        .arg(&src)
        .output()
        .expect("run rustc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "rustc failed:\n{stderr}");

    let mut inventory = Vec::new();
    for entry in std::fs::read_dir(&reports).expect("report dir created") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "temporary file left: {name}");
        assert!(
            name.ends_with(".inventory.jsonl"),
            "unexpected report {name}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON line");
            inventory.push(v);
        }
    }
    let record = inventory
        .iter()
        .find(|r| r["function"] == "probe::nested_sum")
        .unwrap_or_else(|| panic!("no inventory record for probe::nested_sum in {inventory:?}"));
    assert_eq!(record["schema"], 1);
    assert_eq!(record["producer"], "plugin");
    assert_eq!(record["pass"], "hallows-inventory");
    assert_eq!(record["crate"], "probe");
    assert_eq!(record["action"], "analyzed");
    assert_eq!(record["data"]["has_profile"], false);
    assert!(record["data"]["blocks"].as_u64().unwrap() >= 2);
    assert!(
        record["data"]["max_loop_depth"].as_u64().unwrap() >= 1,
        "the loops over the grid must be found: {record}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
