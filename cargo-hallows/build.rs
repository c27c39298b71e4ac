//! Embeds the pass plugin's sources into `cargo-hallows` so an installed binary can build the
//! plugin anywhere (see `src/plugin.rs`).
//!
//! Walks `../hallows-llvm-pass` (skipping `target/`, `test/` and hidden entries) plus the
//! workspace `Cargo.lock`, and writes `$OUT_DIR/plugin_sources.rs` with one `include_bytes!` per
//! file, sorted by path so the content hash is stable.

use std::env;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Directories of the plugin crate that are not needed to build it.
const SKIPPED_DIRS: &[&str] = &["target", "test"];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("cargo-hallows lives inside the workspace");
    let plugin_dir = workspace.join("hallows-llvm-pass");
    let lock = workspace.join("Cargo.lock");

    let mut files = Vec::new();
    if plugin_dir.join("Cargo.toml").is_file() {
        collect(&plugin_dir, &plugin_dir, &mut files);
        println!("cargo:rerun-if-changed={}", plugin_dir.display());
    } else {
        println!(
            "cargo:warning=plugin sources not found at {}; this cargo-hallows can only use HALLOWS_PLUGIN",
            plugin_dir.display()
        );
    }
    files.sort();

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("plugin_sources.rs");
    let mut code =
        String::from("/// Plugin crate files: path relative to the crate root, contents.\n");
    code.push_str("pub const PLUGIN_FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    code.push_str(
        "/// The workspace `Cargo.lock`, so the plugin builds with the same dependency versions.\n",
    );
    if lock.is_file() {
        println!("cargo:rerun-if-changed={}", lock.display());
        code.push_str(&format!(
            "pub const WORKSPACE_LOCK: Option<&[u8]> = Some(include_bytes!({:?}));\n",
            lock.display().to_string()
        ));
    } else {
        code.push_str("pub const WORKSPACE_LOCK: Option<&[u8]> = None;\n");
    }
    fs::File::create(&out)
        .and_then(|mut f| f.write_all(code.as_bytes()))
        .unwrap_or_else(|e| panic!("failed to write {}: {e}", out.display()));
}

/// Adds every file under `dir` to `files` as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("failed to read {}: {e}", dir.display()));
    for entry in entries {
        let entry =
            entry.unwrap_or_else(|e| panic!("failed to read an entry of {}: {e}", dir.display()));
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| panic!("failed to stat {}: {e}", path.display()));
        if kind.is_dir() {
            if dir == root && SKIPPED_DIRS.contains(&name.as_str()) {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).expect("walked below root");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            println!("cargo:rerun-if-changed={}", path.display());
            files.push((rel, path));
        }
    }
}
