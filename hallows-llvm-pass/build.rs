//! Builds the C++ registration shim against the LLVM that rustc itself uses.
//!
//! `llvm-config` is found from `LLVM_CONFIG` (a full path), else `llvm-config-<major>` on `PATH`,
//! else `/usr/lib/llvm-<major>/bin/llvm-config`, where `<major>` is the LLVM major version of
//! the rustc building this crate (`rustc -vV`). The shim is compiled with clang++ of the same
//! major version, `-fPIC -fno-rtti`, and the plugin is linked with `-z now` but without
//! `-lLLVM`: LLVM's symbols bind to the libLLVM already loaded in rustc, opt or the linker.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

fn main() {
    println!("cargo:rerun-if-changed=shim/hallows_shim.cpp");
    println!("cargo:rerun-if-changed=shim/hallows_shim.h");
    println!("cargo:rerun-if-changed=src/prefetch/prefetch_shim.cpp");
    println!("cargo:rerun-if-changed=src/railway/dispatch_shim.cpp");
    println!("cargo:rerun-if-env-changed=LLVM_CONFIG");
    println!("cargo:rerun-if-env-changed=CXX");

    let major = rustc_llvm_major().unwrap_or_else(|message| fail(&message, None));
    let llvm_config = find_llvm_config(major);
    let version = run(&llvm_config, &["--version"]);
    let config_major = version.split('.').next().unwrap_or("").trim();
    if config_major != major.to_string() {
        fail(
            &format!(
                "{} reports LLVM {}, but rustc uses LLVM {major}; the plugin must be built \
                 against rustc's LLVM major version (set LLVM_CONFIG to llvm-config-{major})",
                llvm_config.display(),
                version.trim()
            ),
            Some(major),
        );
    }

    let cxxflags = run(&llvm_config, &["--cxxflags"]);
    let bindir = PathBuf::from(run(&llvm_config, &["--bindir"]).trim());
    let libdir = run(&llvm_config, &["--libdir"]).trim().to_owned();

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .compiler(find_cxx(major, &bindir))
        .file("shim/hallows_shim.cpp")
        .file("src/prefetch/prefetch_shim.cpp")
        .file("src/railway/dispatch_shim.cpp")
        .include("shim")
        .warnings(false)
        .flag("-fPIC")
        .flag("-fno-rtti");
    for flag in cxxflags.split_whitespace() {
        // The shim must not use RTTI or exceptions: rustc's libLLVM has neither.
        if flag == "-frtti" || flag == "-fexceptions" {
            continue;
        }
        build.flag(flag);
    }
    build.compile("hallows_shim");

    // Bind every symbol when the plugin is loaded, so a symbol missing from the host's libLLVM
    // fails the load with a clear "undefined symbol" instead of crashing the compiler later.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,now");
    // The unit-test executable (and only it, through `#[cfg(test)] #[link(name = "LLVM")]` in
    // lib.rs) links the system libLLVM of the same major version found here.
    println!("cargo:rustc-link-search=native={libdir}");
}

/// The LLVM major version of the rustc that builds this crate.
fn rustc_llvm_major() -> Result<u32, String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("failed to run `{rustc} -vV`: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("LLVM version: "))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.trim().parse().ok())
        .ok_or_else(|| format!("`{rustc} -vV` did not print an `LLVM version:` line"))
}

fn find_llvm_config(major: u32) -> PathBuf {
    if let Some(path) = env::var_os("LLVM_CONFIG") {
        let path = PathBuf::from(path);
        if works(&path) {
            return path;
        }
        fail(
            &format!("LLVM_CONFIG={} does not run", path.display()),
            Some(major),
        );
    }
    let suffixed = PathBuf::from(format!("llvm-config-{major}"));
    if works(&suffixed) {
        return suffixed;
    }
    let debian = PathBuf::from(format!("/usr/lib/llvm-{major}/bin/llvm-config"));
    if works(&debian) {
        return debian;
    }
    fail(
        &format!("could not find llvm-config for LLVM {major} (rustc's LLVM)"),
        Some(major),
    )
}

fn find_cxx(major: u32, bindir: &Path) -> PathBuf {
    if let Some(cxx) = env::var_os("CXX") {
        return PathBuf::from(cxx);
    }
    for candidate in [
        PathBuf::from(format!("clang++-{major}")),
        bindir.join("clang++"),
    ] {
        if works(&candidate) {
            return candidate;
        }
    }
    eprintln!(
        "error: could not find clang++-{major}; install the Debian package `clang-{major}` \
         (or set CXX to a C++17 compiler)"
    );
    exit(1);
}

fn works(program: &Path) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn run(program: &Path, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => fail(
            &format!(
                "`{} {}` failed: {}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            None,
        ),
        Err(e) => fail(&format!("failed to run `{}`: {e}", program.display()), None),
    }
}

fn fail(message: &str, major: Option<u32>) -> ! {
    eprintln!("error: {message}");
    if let Some(major) = major {
        eprintln!(
            "help: install the Debian package `llvm-{major}-dev` (apt-get install llvm-{major}-dev), \
             or set LLVM_CONFIG to the full path of an llvm-config for LLVM {major}"
        );
    }
    exit(1);
}
