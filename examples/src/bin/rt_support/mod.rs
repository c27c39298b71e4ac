//! What the workloads ported to the Hallows runtime (`rt_json`, `rt_compute`) share on top of
//! [`hallows_examples::cli`]: the `--workers N` flag, the timing line and the scheduler summary.
//!
//! ```text
//! <name> [--small | --size N] [--seed S] [--workers N]
//! ```
//!
//! The output contract is the one of [`hallows_examples::cli`], with two additions on stderr
//! only: the timing line carries `workers=N`, and a second line
//! `<name>: scheduler workers=N polls=... steals=... migrations=...` summarises the runtime's
//! per-core counters. `kernel_cpu_s` is the CPU time of the whole process during the kernel
//! (all workers together), since the kernel no longer runs on a single thread.
//!
//! This module lives in a directory under `src/bin/` so that Cargo does not take it for a binary
//! of its own; each ported workload includes it with `mod rt_support;`.

use hallows_examples::cli::{self, process_cpu_time, Command, Options, Report, Timing, Workload};
use hallows_runtime::{RuntimeStats, MAX_WORKERS};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Exit status for unusable arguments (the same as [`hallows_examples::cli`]'s).
const EXIT_USAGE: u8 = 2;

/// The parsed command line of a ported workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtOptions {
    /// The shared options (size, seed, variant).
    pub options: Options,
    /// `--workers N`, or `None` for one worker per CPU (the runtime's default).
    pub workers: Option<usize>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum RtCommand {
    /// Run the workload.
    Run(RtOptions),
    /// Print the usage.
    Help,
}

/// The usage text: the shared one plus `--workers`.
pub fn usage(workload: &Workload) -> String {
    let shared = cli::usage(workload);
    let mut text = shared.replacen("[--seed S]", "[--seed S] [--workers N]", 1);
    let option = format!(
        "  --workers N      runtime worker threads, 1..={MAX_WORKERS} (default: one per CPU); the\n                   \
         result does not depend on it\n"
    );
    match text.find("  -h, --help") {
        Some(at) => text.insert_str(at, &option),
        None => text.push_str(&option),
    }
    text
}

/// Parses the arguments after the program name: takes `--workers N` (or `--workers=N`) out and
/// hands the rest to [`cli::parse`].
pub fn parse<I, S>(workload: &Workload, args: I) -> Result<RtCommand, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut workers = None;
    let mut rest = Vec::new();
    let mut args = args.into_iter().map(|a| a.as_ref().to_owned());
    while let Some(arg) = args.next() {
        let value = if arg == "--workers" {
            Some(
                args.next()
                    .ok_or_else(|| "`--workers` needs a value".to_owned())?,
            )
        } else {
            arg.strip_prefix("--workers=").map(str::to_owned)
        };
        match value {
            Some(text) => {
                if workers.is_some() {
                    return Err("`--workers` is given twice".to_owned());
                }
                workers = Some(parse_workers(&text)?);
            }
            None => rest.push(arg),
        }
    }
    Ok(match cli::parse(workload, rest)? {
        Command::Help => RtCommand::Help,
        Command::Run(options) => RtCommand::Run(RtOptions { options, workers }),
    })
}

fn parse_workers(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`--workers` expects a number of threads from 1 to {MAX_WORKERS}, found `{text}`"
        )),
    }
}

/// A kernel's result: what goes to stdout, and how long the kernel took.
pub struct Outcome {
    /// The result line's contents.
    pub report: Report,
    /// Wall-clock and whole-process CPU time of the kernel alone.
    pub kernel: Timing,
    /// The runtime's counters after the kernel.
    pub stats: RuntimeStats,
}

/// The `main` of a ported workload: parses the command line, runs `run`, prints the result
/// line on stdout and the timing and scheduler lines on stderr.
pub fn main(
    workload: &Workload,
    run: impl FnOnce(&RtOptions) -> Result<Outcome, String>,
) -> ExitCode {
    let options = match parse(workload, std::env::args().skip(1)) {
        Ok(RtCommand::Run(options)) => options,
        Ok(RtCommand::Help) => {
            print!("{}", usage(workload));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{}", usage(workload));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let start = Instant::now();
    let outcome = match run(&options) {
        Ok(outcome) => outcome,
        Err(message) => {
            eprintln!("error: {}: {message}", workload.name);
            return ExitCode::FAILURE;
        }
    };
    let elapsed = start.elapsed();
    println!("{}", outcome.report.stdout_line(workload.name));
    eprintln!(
        "{}: variant={} size={} seed={} workers={} kernel_s={:.6} kernel_cpu_s={:.6} elapsed_s={:.6}",
        workload.name,
        options.options.variant.as_str(),
        options.options.size,
        options.options.seed,
        outcome.stats.workers.len(),
        outcome.kernel.wall.as_secs_f64(),
        outcome.kernel.cpu.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    eprintln!("{}", scheduler_line(workload.name, &outcome.stats));
    ExitCode::SUCCESS
}

/// The stderr summary of the runtime's counters.
pub fn scheduler_line(name: &str, stats: &RuntimeStats) -> String {
    let t = stats.total();
    format!(
        "{name}: scheduler workers={} polls={} spawns={} steals={} stolen_tasks={} far_steals={} \
         migrations={} wake_pulls={} kept_home={} injector_pulls={} parks={} idle_ms={:.3}",
        stats.workers.len(),
        t.polls,
        t.spawns,
        t.steals,
        t.stolen_tasks,
        t.far_steals,
        t.migrations,
        t.wake_pulls,
        t.kept_home,
        t.injector_pulls,
        t.parks,
        Duration::from_nanos(t.idle_ns).as_secs_f64() * 1e3,
    )
}

/// Measures the kernel: wall-clock time and the CPU time the whole process used from
/// [`Stopwatch::start`] to [`Stopwatch::stop`] (every worker thread, unlike [`cli::timed`], which
/// counts the caller's; and usable around a span containing `.await`).
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    /// Starts measuring.
    pub fn start() -> Stopwatch {
        Stopwatch {
            cpu: process_cpu_time(),
            wall: Instant::now(),
        }
    }

    /// The time since [`Stopwatch::start`].
    pub fn stop(&self) -> Timing {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, process_cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall,
        };
        Timing { wall, cpu }
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
        default_size: || 100,
        min_size: 1,
        max_size: 1000,
        size_power_of_two: false,
        has_prefetch_variant: false,
    };

    fn run(args: &[&str]) -> Result<RtOptions, String> {
        match parse(&DEMO, args)? {
            RtCommand::Run(o) => Ok(o),
            RtCommand::Help => Err("help".into()),
        }
    }

    #[test]
    fn workers_is_taken_out_and_the_rest_parsed_as_usual() {
        let o = run(&["--workers", "3", "--small"]).unwrap();
        assert_eq!((o.workers, o.options.size), (Some(3), 10));
        let o = run(&["--seed", "5", "--workers=1"]).unwrap();
        assert_eq!((o.workers, o.options.seed), (Some(1), 5));
        assert_eq!(run(&[]).unwrap().workers, None);
        assert_eq!(
            parse(&DEMO, ["--workers", "2", "-h"]).unwrap(),
            RtCommand::Help
        );
    }

    #[test]
    fn bad_worker_counts_are_rejected_with_a_reason() {
        let too_many = (MAX_WORKERS + 1).to_string();
        let cases: &[(&[&str], &str)] = &[
            (&["--workers"], "needs a value"),
            (&["--workers", "0"], "from 1 to"),
            (&["--workers", "-2"], "from 1 to"),
            (&["--workers=lots"], "from 1 to"),
            (&["--workers", &too_many], "from 1 to"),
            (&["--workers", "1", "--workers", "2"], "given twice"),
            (&["--workers", "1", "--bogus"], "unknown argument"),
        ];
        for (args, expected) in cases {
            let err = run(args).unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }

    #[test]
    fn usage_mentions_workers_in_the_synopsis_and_the_options() {
        let text = usage(&DEMO);
        assert!(text.contains("usage: demo [--small | --size N] [--seed S] [--workers N]"));
        let workers = text.find("  --workers N").expect("option listed");
        assert!(workers < text.find("  -h, --help").expect("help listed"));
    }
}
