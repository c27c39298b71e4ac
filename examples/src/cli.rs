//! The command line every workload shares, and the output contract.
//!
//! ```text
//! <name> [--small | --size N] [--seed S] [--variant plain|prefetch]
//! ```
//!
//! - stdout gets exactly one line, `<name>: checksum=<16 hex digits> key=value ...`, which
//!   depends only on the size and the seed: never on the build, the variant or the timing, so
//!   builds can be compared with `cmp`;
//! - stderr gets `<name>: variant=... size=... seed=... kernel_s=... kernel_cpu_s=...
//!   elapsed_s=...`, where `kernel_s` is the wall-clock time of the measured kernel alone (input
//!   generation excluded), `kernel_cpu_s` the CPU time the kernel's thread got (less disturbed
//!   by other processes on a shared machine) and `elapsed_s` the whole run; the bench scripts
//!   read these;
//! - bad arguments print `error: ...` and the usage on stderr and exit with status 2; a
//!   workload that fails at run time (e.g. out of memory) exits with status 1.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The seed used when `--seed` is not given (the evaluation input of the bench scripts).
pub const DEFAULT_SEED: u64 = 42;

/// The seed the bench scripts train PGO profiles with: a different input from [`DEFAULT_SEED`].
pub const TRAINING_SEED: u64 = 1;

/// Exit status for unusable command-line arguments (as `sysexits.h`' `EX_USAGE` is for BSD tools,
/// 2 is the common convention of Rust and GNU tools).
const EXIT_USAGE: u8 = 2;

/// Which implementation of a kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The straightforward code, as a programmer would write it.
    Plain,
    /// The same computation with hand-tuned software prefetches.
    Prefetch,
}

impl Variant {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Prefetch => "prefetch",
        }
    }
}

/// The static description of one workload binary.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Binary name, first word of every output line.
    pub name: &'static str,
    /// One line on what the workload does.
    pub about: &'static str,
    /// What `--size` counts, e.g. `"keys"`.
    pub size_unit: &'static str,
    /// The size `--small` selects (CI-sized: well under a second even in a debug build).
    pub small_size: usize,
    /// The default size (a function: memory-bound kernels derive it from the LLC size).
    pub default_size: fn() -> usize,
    /// Smallest accepted `--size`.
    pub min_size: usize,
    /// Largest accepted `--size` (keeps memory use and index types in range).
    pub max_size: usize,
    /// Whether `--size` must be a power of two (hash-indexed tables).
    pub size_power_of_two: bool,
    /// Whether `--variant prefetch` exists.
    pub has_prefetch_variant: bool,
}

/// The parsed command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Problem size, in the workload's [`Workload::size_unit`].
    pub size: usize,
    /// PRNG seed of the generated input.
    pub seed: u64,
    /// Which implementation runs.
    pub variant: Variant,
}

/// What a workload prints: a checksum, extra result fields and the kernel's time.
#[derive(Clone, Debug)]
pub struct Report {
    checksum: u64,
    fields: Vec<(&'static str, String)>,
    kernel: Option<Timing>,
}

impl Report {
    /// A report with the given checksum of the results.
    pub fn new(checksum: u64) -> Self {
        Report {
            checksum,
            fields: Vec::new(),
            kernel: None,
        }
    }

    /// Adds a `key=value` result field (must not depend on timing or variant).
    pub fn field(mut self, key: &'static str, value: impl std::fmt::Display) -> Self {
        self.fields.push((key, value.to_string()));
        self
    }

    /// Records how long the measured kernel took.
    pub fn kernel_time(mut self, kernel: Timing) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// The stdout line.
    ///
    /// ```
    /// use hallows_examples::cli::Report;
    /// let line = Report::new(0xab).field("n", 3).stdout_line("demo");
    /// assert_eq!(line, "demo: checksum=00000000000000ab n=3");
    /// ```
    pub fn stdout_line(&self, name: &str) -> String {
        let mut line = format!("{name}: checksum={:016x}", self.checksum);
        for (key, value) in &self.fields {
            let _ = write!(line, " {key}={value}");
        }
        line
    }
}

/// How long something took: wall-clock time and the CPU time of the calling thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Wall-clock time.
    pub wall: Duration,
    /// CPU time of the thread that ran it (equal to `wall` where the platform cannot tell).
    pub cpu: Duration,
}

/// Runs `f` and returns its result with the time it took.
///
/// ```
/// let (v, t) = hallows_examples::cli::timed(|| 2 + 2);
/// assert_eq!(v, 4);
/// assert!(t.wall.as_secs() < 1 && t.cpu.as_secs() < 1);
/// ```
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Timing) {
    let cpu_start = thread_cpu_time();
    let start = Instant::now();
    let value = f();
    let wall = start.elapsed();
    let cpu = match (cpu_start, thread_cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall,
    };
    (value, Timing { wall, cpu })
}

/// CPU time consumed so far by the calling thread (`CLOCK_THREAD_CPUTIME_ID`, POSIX.1-2008).
fn thread_cpu_time() -> Option<Duration> {
    cpu_clock(CpuClock::Thread)
}

/// CPU time consumed so far by all threads of the process (`CLOCK_PROCESS_CPUTIME_ID`,
/// POSIX.1-2008); `None` where the clock cannot be read.
pub fn process_cpu_time() -> Option<Duration> {
    cpu_clock(CpuClock::Process)
}

/// Which CPU-time clock to read.
#[derive(Clone, Copy)]
enum CpuClock {
    Thread,
    Process,
}

#[cfg(unix)]
fn cpu_clock(clock: CpuClock) -> Option<Duration> {
    let id = match clock {
        CpuClock::Thread => libc::CLOCK_THREAD_CPUTIME_ID,
        CpuClock::Process => libc::CLOCK_PROCESS_CPUTIME_ID,
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` for the duration of the call, and both CPU
    // clock ids are ones every supported Unix accepts; the call only writes `ts` and reports
    // failure through its return value, which is checked.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    if rc != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(ts.tv_sec).ok()?,
        u32::try_from(ts.tv_nsec).ok()?,
    ))
}

#[cfg(not(unix))]
fn cpu_clock(_clock: CpuClock) -> Option<Duration> {
    None
}

/// Allocates a vector of `len` copies of `value`, or explains that the size is too large.
///
/// ```
/// let v = hallows_examples::cli::try_vec(4, 0u8, "demo buffer").unwrap();
/// assert_eq!(v, [0; 4]);
/// assert!(hallows_examples::cli::try_vec(usize::MAX / 2, 0u64, "huge").is_err());
/// ```
pub fn try_vec<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>, String> {
    let mut v = Vec::new();
    let bytes = len.saturating_mul(std::mem::size_of::<T>());
    v.try_reserve_exact(len).map_err(|_| {
        format!(
            "could not allocate {} MiB for the {what}; pass a smaller --size",
            bytes >> 20
        )
    })?;
    v.resize(len, value);
    Ok(v)
}

/// The usage text of `workload`.
pub fn usage(workload: &Workload) -> String {
    let mut text = format!(
        "{name}: {about}\n\nusage: {name} [--small | --size N] [--seed S]{variant}\n\n\
         options:\n  \
         --small          CI-sized input ({small} {unit})\n  \
         --size N         problem size in {unit}, {min}..={max}; suffix K, M or G multiplies by\n                   \
         2^10, 2^20 or 2^30 (default {default})\n  \
         --seed S         seed of the generated input (default {seed}; the bench scripts train\n                   \
         PGO profiles with seed {train})\n",
        name = workload.name,
        about = workload.about,
        variant = if workload.has_prefetch_variant { " [--variant plain|prefetch]" } else { "" },
        small = workload.small_size,
        unit = workload.size_unit,
        min = workload.min_size,
        max = workload.max_size,
        default = (workload.default_size)(),
        seed = DEFAULT_SEED,
        train = TRAINING_SEED,
    );
    if workload.has_prefetch_variant {
        text.push_str(
            "  --variant V      `plain` or `prefetch` (hand-tuned software prefetches); both print\n                   \
             the same result\n",
        );
    }
    text.push_str("  -h, --help       print this help\n");
    text
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the workload.
    Run(Options),
    /// Print the usage.
    Help,
}

/// Parses the arguments after the program name.
///
/// ```
/// use hallows_examples::cli::{parse, Command, Variant, Workload};
/// let w = Workload {
///     name: "demo", about: "a demo", size_unit: "items", small_size: 10,
///     default_size: || 1000, min_size: 1, max_size: 1 << 20, size_power_of_two: false,
///     has_prefetch_variant: true,
/// };
/// let Command::Run(o) = parse(&w, ["--size", "2K", "--variant", "prefetch"]).unwrap() else {
///     panic!()
/// };
/// assert_eq!((o.size, o.variant), (2048, Variant::Prefetch));
/// assert!(parse(&w, ["--size", "0"]).is_err());
/// ```
pub fn parse<I, S>(workload: &Workload, args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut size: Option<usize> = None;
    let mut small = false;
    let mut seed = DEFAULT_SEED;
    let mut variant = Variant::Plain;
    let mut args = args.into_iter().map(|a| a.as_ref().to_owned());
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline_value
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--small" => small = true,
            "--size" => size = Some(parse_size(&value("--size")?, workload)?),
            "--seed" => {
                let text = value("--seed")?;
                seed = parse_u64(&text).ok_or_else(|| {
                    format!("`--seed` expects an unsigned integer, found `{text}`")
                })?;
            }
            "--variant" => {
                variant = match value("--variant")?.as_str() {
                    "plain" => Variant::Plain,
                    "prefetch" if workload.has_prefetch_variant => Variant::Prefetch,
                    "prefetch" => {
                        return Err(format!(
                            "`{}` has no prefetch variant (it is a control workload); use \
                             `--variant plain` or leave the flag out",
                            workload.name
                        ))
                    }
                    other => {
                        return Err(format!(
                            "`--variant` expects `plain` or `prefetch`, found `{other}`"
                        ))
                    }
                }
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let size = match (small, size) {
        (true, Some(_)) => return Err("`--small` and `--size` cannot be combined".to_owned()),
        (true, None) => workload.small_size,
        (false, Some(n)) => n,
        (false, None) => {
            let n = (workload.default_size)().clamp(workload.min_size, workload.max_size);
            if workload.size_power_of_two && !n.is_power_of_two() {
                n.next_power_of_two()
            } else {
                n
            }
        }
    };
    Ok(Command::Run(Options {
        size,
        seed,
        variant,
    }))
}

fn parse_u64(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_size(text: &str, workload: &Workload) -> Result<usize, String> {
    let bad = || {
        format!(
            "`--size` expects a number of {} such as `4096` or `64K`, found `{text}`",
            workload.size_unit
        )
    };
    let (number, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let n = parse_u64(number).ok_or_else(bad)?;
    let n = n
        .checked_mul(1u64 << shift)
        .and_then(|n| usize::try_from(n).ok());
    match n {
        Some(n) if !(workload.min_size..=workload.max_size).contains(&n) => Err(format!(
            "`--size {text}` is out of range: {} takes {}..={} {}",
            workload.name, workload.min_size, workload.max_size, workload.size_unit
        )),
        Some(n) if workload.size_power_of_two && !n.is_power_of_two() => Err(format!(
            "`--size {text}` is not a power of two: {} indexes its table with a bit mask; try `--size {}`",
            workload.name,
            n.next_power_of_two() >> 1
        )),
        Some(n) => Ok(n),
        None => Err(format!(
            "`--size {text}` is out of range: {} takes {}..={} {}",
            workload.name, workload.min_size, workload.max_size, workload.size_unit
        )),
    }
}

/// The `main` of every workload: parses the command line, runs `run`, prints the report.
pub fn main(workload: &Workload, run: impl FnOnce(&Options) -> Result<Report, String>) -> ExitCode {
    let options = match parse(workload, std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{}", usage(workload));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{}", usage(workload));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (result, elapsed) = timed(|| run(&options));
    let elapsed = elapsed.wall;
    match result {
        Ok(report) => {
            println!("{}", report.stdout_line(workload.name));
            let kernel = report.kernel.unwrap_or(Timing {
                wall: elapsed,
                cpu: elapsed,
            });
            eprintln!(
                "{}: variant={} size={} seed={} kernel_s={:.6} kernel_cpu_s={:.6} elapsed_s={:.6}",
                workload.name,
                options.variant.as_str(),
                options.size,
                options.seed,
                kernel.wall.as_secs_f64(),
                kernel.cpu.as_secs_f64(),
                elapsed.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {}: {message}", workload.name);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: Workload = Workload {
        name: "demo",
        about: "a demo",
        size_unit: "items",
        small_size: 10,
        default_size: || 1 << 30,
        min_size: 2,
        max_size: 1 << 20,
        size_power_of_two: false,
        has_prefetch_variant: false,
    };

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(&DEMO, args)? {
            Command::Run(o) => Ok(o),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_are_clamped_to_the_range() {
        let o = run(&[]).unwrap();
        assert_eq!(
            o,
            Options {
                size: 1 << 20,
                seed: DEFAULT_SEED,
                variant: Variant::Plain
            }
        );
    }

    #[test]
    fn accepts_every_spelling() {
        assert_eq!(run(&["--small"]).unwrap().size, 10);
        assert_eq!(run(&["--size=1_000"]).unwrap().size, 1000);
        assert_eq!(run(&["--size", "1M"]).unwrap().size, 1 << 20);
        assert_eq!(run(&["--seed", "7"]).unwrap().seed, 7);
        assert_eq!(parse(&DEMO, ["--help"]).unwrap(), Command::Help);
    }

    #[test]
    fn rejects_bad_arguments_with_a_reason() {
        let cases: &[(&[&str], &str)] = &[
            (&["--size"], "needs a value"),
            (&["--size", "lots"], "expects a number"),
            (&["--size", "1"], "out of range"),
            (&["--size", "2G"], "out of range"),
            (&["--size", "99999999999999999999"], "expects a number"),
            (&["--seed", "-1"], "unsigned integer"),
            (&["--variant", "fast"], "`plain` or `prefetch`"),
            (&["--variant", "prefetch"], "no prefetch variant"),
            (&["--small", "--size", "5"], "cannot be combined"),
            (&["--frobnicate"], "unknown argument"),
        ];
        for (args, expected) in cases {
            let err = run(args).unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }

    #[test]
    fn usage_mentions_every_option() {
        let text = usage(&DEMO);
        for flag in ["--small", "--size", "--seed", "--help"] {
            assert!(text.contains(flag), "{flag} missing");
        }
        assert!(!text.contains("--variant"));
    }
}
