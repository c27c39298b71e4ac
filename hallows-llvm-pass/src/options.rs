//! Every setting of the plugin in one place: environment variables and tunables.
//!
//! Plugin `cl::opt` flags cannot reach a plugin loaded into rustc (rustc parses `-C llvm-args`
//! before loading plugins), so the plugin is configured through the environment only.
//!
//! | variable | meaning |
//! |----------|---------|
//! | `HALLOWS_PASSES` | comma list of passes scheduled when loaded into rustc or a linker: `inventory`, `railway`, `prefetch` (default `inventory`) |
//! | `HALLOWS_REPORT_DIR` | absolute directory for JSON-lines reports (unset: no files) |
//! | `HALLOWS_REPORT_STDERR` | `1` also prints every record as a readable line on stderr |
//! | `HALLOWS_PREFETCH_PROFILE` | access-pattern profile for `hallows-prefetch` |
//! | `HALLOWS_PREFETCH_PROFILE_OUT` | read at run time by programs built with `prefetch-instrument`: where they write raw samples |
//! | `HALLOWS_RAILWAY_BACKEND` | `1` also switches the backend's block placement to ext-TSP for functions with profile data when `railway` is scheduled (default `0`: LLVM's profile-guided default placement, measured faster on the branchy examples) |

use std::path::PathBuf;
use std::sync::OnceLock;

/// Environment variable naming the passes to schedule automatically.
pub const ENV_PASSES: &str = "HALLOWS_PASSES";
/// Environment variable naming the report directory.
pub const ENV_REPORT_DIR: &str = "HALLOWS_REPORT_DIR";
/// Environment variable switching on readable report lines on stderr.
pub const ENV_REPORT_STDERR: &str = "HALLOWS_REPORT_STDERR";
/// Environment variable naming the prefetch access profile.
pub const ENV_PREFETCH_PROFILE: &str = "HALLOWS_PREFETCH_PROFILE";

/// Environment variable that, set to `1`, switches the backend's block placement to ext-TSP.
pub const ENV_RAILWAY_BACKEND: &str = "HALLOWS_RAILWAY_BACKEND";

/// Estimated machine-code bytes per IR instruction, for layout distances and cold-split sizes.
/// Average x86-64 instruction length is about 4 bytes, and most IR instructions lower to one or
/// two machine instructions (PHIs, which lower to none, are not counted).
pub const BYTES_PER_INSTRUCTION: u64 = 4;
/// Functions with more blocks than this are left alone by `hallows-railway` (with a reason), so
/// compile time stays bounded even for generated code; up to it the layout is ext-TSP or, above
/// `railway::layout::MAX_EXT_TSP_BLOCKS`, the linear-time greedy fallback.
pub const MAX_RAILWAY_BLOCKS: usize = 20_000;
/// A never-executed region is moved into its own cold function only from this estimated size on
/// (about 24 instructions): smaller ones cost more in the call and argument set-up than they save,
/// and stay at the function's cold tail instead.
pub const MIN_COLD_SPLIT_BYTES: u64 = 96;
/// At most this many cold regions are split out of one function (bounds compile time).
pub const MAX_COLD_SPLITS_PER_FUNCTION: usize = 8;
/// A function whose hottest block runs at least 1/`HOT_FUNCTION_DIVISOR` as often as the
/// module's hottest block gets the `hot` section prefix.
pub const HOT_FUNCTION_DIVISOR: u64 = 100;
/// A new layout must beat the current one by this fraction of its ext-TSP score to be applied;
/// below it the function keeps the order PGO's pipeline gave it (the backend's profile-guided
/// block placement then decides alone, exactly as in a PGO-only build). Session 10 (Zen 4):
/// in `json` and `lexer` the functions with a measured profile that railway reorders gain 4% to
/// 380% (median about 80%); the ones below 1% were `Vec::reserve` instances whose fall-through
/// ratio moved from 0.9980 to 0.9987, a change the backend's placement makes on its own anyway.
pub const MIN_RELATIVE_SCORE_GAIN: f64 = 0.01;
/// The same threshold for functions that dispatch or merge threading changed: their copies were
/// appended by railway, so there is no PGO order to keep; only ties and rounding are excluded.
pub const THREADED_MIN_RELATIVE_SCORE_GAIN: f64 = 1e-6;

/// Passes scheduled when `HALLOWS_PASSES` is unset: the inventory never changes the IR.
pub const DEFAULT_PASSES: &str = "inventory";

/// Prefix of every message the plugin prints.
pub const MESSAGE_PREFIX: &str = "hallows";

/// A set of the plugin's passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassSet {
    /// `hallows-inventory`.
    pub inventory: bool,
    /// `hallows-railway`.
    pub railway: bool,
    /// `hallows-prefetch`.
    pub prefetch: bool,
    /// `hallows-prefetch-instrument` (not part of `all`: it records a profile, it does not
    /// optimise).
    pub prefetch_instrument: bool,
}

/// The plugin's settings, read once from the environment.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Passes scheduled at extension points.
    pub passes: PassSet,
    /// Where report files go.
    pub report_dir: Option<PathBuf>,
    /// Print readable records on stderr.
    pub report_stderr: bool,
    /// Access profile for the prefetch pass.
    pub prefetch_profile: Option<PathBuf>,
    /// Switch the backend's block placement to ext-TSP when railway is scheduled (off by
    /// default: on `scripts/bench-pgo.sh` LLVM's default profile-guided placement after railway's
    /// IR layout was as fast or faster on every workload, ext-TSP 1.4% slower on `lexer`).
    pub railway_backend: bool,
}

/// Reads an on/off environment switch: `1`/`true`/`yes`/`on` turn it on, `0`/`false`/`no`/`off`
/// turn it off, anything else (or unset) leaves `default`.
pub fn env_switch(var: &str, default: bool) -> bool {
    match std::env::var(var).as_deref().map(str::trim) {
        Ok("1" | "true" | "yes" | "on") => true,
        Ok("0" | "false" | "no" | "off") => false,
        _ => default,
    }
}

/// Parses a `HALLOWS_PASSES` value: the passes named, and the names not understood.
///
/// Names may carry the `hallows-` prefix; empty items are ignored; `all` names every pass.
pub fn parse_passes(text: &str) -> (PassSet, Vec<String>) {
    let mut set = PassSet::default();
    let mut unknown = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.strip_prefix("hallows-").unwrap_or(item) {
            "inventory" => set.inventory = true,
            "railway" => set.railway = true,
            "prefetch" => set.prefetch = true,
            "prefetch-instrument" => set.prefetch_instrument = true,
            "all" => {
                set = PassSet {
                    inventory: true,
                    railway: true,
                    prefetch: true,
                    ..set
                }
            }
            _ => unknown.push(item.to_owned()),
        }
    }
    (set, unknown)
}

/// Builds options from environment values (`None` = unset); returns warnings to print.
pub fn options_from(
    passes: Option<&str>,
    report_dir: Option<&str>,
    report_stderr: Option<&str>,
    prefetch_profile: Option<&str>,
    railway_backend: Option<&str>,
) -> (Options, Vec<String>) {
    let mut warnings = Vec::new();
    let (passes, unknown) = parse_passes(passes.unwrap_or(DEFAULT_PASSES));
    if !unknown.is_empty() {
        warnings.push(format!(
            "{ENV_PASSES} names unknown pass(es) {}; ignoring them (known: inventory, railway, prefetch, prefetch-instrument, all)",
            unknown
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let report_dir = match report_dir.filter(|d| !d.is_empty()) {
        Some(dir) if PathBuf::from(dir).is_absolute() => Some(PathBuf::from(dir)),
        Some(dir) => {
            warnings.push(format!(
                "{ENV_REPORT_DIR}=`{dir}` is not an absolute path; writing no report files \
                 (compilers run in changing directories: give an absolute path)"
            ));
            None
        }
        None => None,
    };
    let report_stderr = matches!(report_stderr.map(str::trim), Some("1" | "true" | "yes"));
    let prefetch_profile = prefetch_profile
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let railway_backend = matches!(railway_backend.map(str::trim), Some("1" | "true" | "yes"));
    (
        Options {
            passes,
            report_dir,
            report_stderr,
            prefetch_profile,
            railway_backend,
        },
        warnings,
    )
}

/// The process-wide options, read from the environment on first use; warnings are printed once.
pub fn options() -> &'static Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let var = |name| std::env::var(name).ok();
        let (options, warnings) = options_from(
            var(ENV_PASSES).as_deref(),
            var(ENV_REPORT_DIR).as_deref(),
            var(ENV_REPORT_STDERR).as_deref(),
            var(ENV_PREFETCH_PROFILE).as_deref(),
            var(ENV_RAILWAY_BACKEND).as_deref(),
        );
        for w in warnings {
            eprintln!("{MESSAGE_PREFIX}: warning: {w}");
        }
        options
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_inventory_only() {
        let (o, w) = options_from(None, None, None, None, None);
        assert!(o.passes.inventory && !o.passes.railway && !o.passes.prefetch);
        assert!(w.is_empty());
        assert!(o.report_dir.is_none() && !o.report_stderr);
        assert!(!o.railway_backend);
        let (o, _) = options_from(None, None, None, None, Some("1"));
        assert!(o.railway_backend);
    }

    #[test]
    fn pass_list_accepts_prefixes_and_spaces() {
        let (set, unknown) = parse_passes(" railway, hallows-prefetch ,,");
        assert_eq!(
            set,
            PassSet {
                inventory: false,
                railway: true,
                prefetch: true,
                prefetch_instrument: false,
            }
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn unknown_pass_gives_one_warning_and_is_ignored() {
        let (o, w) = options_from(Some("inventory,tunnel,bogus"), None, None, None, None);
        assert!(o.passes.inventory && !o.passes.railway);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("`tunnel`") && w[0].contains("`bogus`"),
            "{}",
            w[0]
        );
    }

    #[test]
    fn relative_report_dir_is_refused_with_a_warning() {
        let (o, w) = options_from(None, Some("reports"), Some("1"), None, Some("0"));
        assert!(o.report_dir.is_none());
        assert!(o.report_stderr);
        assert!(!o.railway_backend);
        assert!(w[0].contains("absolute"));
        let (o, _) = options_from(None, Some("/tmp/r"), None, None, None);
        assert_eq!(o.report_dir, Some(PathBuf::from("/tmp/r")));
    }
}
