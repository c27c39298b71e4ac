//! Command-line interface: one struct per subcommand (clap 4 derive).
//!
//! Cargo runs `cargo-hallows hallows <args>` for `cargo hallows <args>`; `main` drops that extra
//! `hallows` before parsing, so the binary also works when run directly.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Build Rust programs with the Hallows LLVM passes, read their reports, check the toolchain.
#[derive(Debug, Parser)]
#[command(name = "cargo hallows", bin_name = "cargo hallows", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run `cargo build` with the Hallows pass plugin loaded (takes every `cargo build` argument).
    Build(BuildArgs),
    /// Show what the passes did in the last `cargo hallows build`.
    Report(ReportArgs),
    /// Check rustc, LLVM tools, the plugin and hardware counters.
    Doctor(DoctorArgs),
    /// Build a bin of the workspace's examples package with the plugin (release) and run it.
    Run(RunArgs),
    /// Collect a PGO and an access-pattern profile: build instrumented, run, merge; later builds
    /// use them.
    Profile(ProfileArgs),
}

/// How the plugin gets into the compilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Inside rustc, per codegen unit (`-Z llvm-plugins` with `RUSTC_BOOTSTRAP=1`, set only for
    /// the crate compilations cargo starts).
    Rustc,
    /// At link time on stable (`-C linker-plugin-lto` and the linker's `--load-pass-plugin`).
    Lto,
}

impl Mode {
    /// The name used on the command line and in status lines.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Rustc => "rustc",
            Mode::Lto => "lto",
        }
    }
}

/// Options shared by every command that builds with the plugin.
#[derive(Debug, Clone, Args)]
pub struct PluginOptions {
    /// Where the plugin runs.
    #[arg(long, value_enum, default_value = "rustc")]
    pub mode: Mode,
    /// Comma list of passes: inventory, railway, prefetch (default: inventory,railway, plus
    /// prefetch when `cargo hallows profile` collected an access-pattern profile).
    #[arg(long)]
    pub passes: Option<String>,
    /// Use neither profile collected by `cargo hallows profile` (PGO and access pattern).
    #[arg(long)]
    pub no_profile: bool,
}

/// `cargo hallows build`.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Plugin options (may also appear among the cargo arguments).
    #[command(flatten)]
    pub plugin: PluginOptions,
    /// Arguments for `cargo build` (`--release`, `-p`, `--features`, `--target`, ...).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CARGO_BUILD_ARGS"
    )]
    pub cargo_args: Vec<String>,
}

/// `cargo hallows report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only this crate: its functions, and other crates' functions compiled into it (generic
    /// instances, inlined callees).
    #[arg(long = "crate", value_name = "CRATE")]
    pub krate: Option<String>,
    /// Only functions whose path contains this.
    #[arg(long, value_name = "SUBSTR")]
    pub function: Option<String>,
    /// Only this pass (`railway` or `hallows-railway`).
    #[arg(long, value_name = "PASS")]
    pub pass: Option<String>,
    /// Target directory of the build (default: the one cargo uses here).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Build profile whose reports to show (default: the most recently written).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

/// `cargo hallows doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Do not build the plugin when it is not cached yet.
    #[arg(long)]
    pub no_build: bool,
}

/// `cargo hallows run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Plugin options.
    #[command(flatten)]
    pub plugin: PluginOptions,
    /// Name of the bin (or example) in the workspace's examples package.
    pub name: String,
    /// Target directory (default: the one cargo uses here).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Arguments for the program (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// `cargo hallows profile`.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// Profile this bin target.
    #[arg(long, conflicts_with = "example")]
    pub bin: Option<String>,
    /// Profile this example target.
    #[arg(long)]
    pub example: Option<String>,
    /// Package holding the target.
    #[arg(long, short = 'p')]
    pub package: Option<String>,
    /// Target directory (default: the one cargo uses here).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Collect only the PGO profile, not the access-pattern profile for `hallows-prefetch`.
    #[arg(long)]
    pub no_prefetch_profile: bool,
    /// Arguments for the training run (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}
