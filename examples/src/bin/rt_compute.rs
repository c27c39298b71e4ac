//! `rt_compute`: the `compute` Mandelbrot kernel, its rows split across the Hallows runtime's
//! workers with fork-join [`hallows_runtime::join`].
//!
//! Same input, same escape-time iteration and the same result line as `compute` (see its module
//! docs for the algorithm, after Peitgen & Richter, "The Beauty of Fractals", 1986). The grid's
//! rows are halved recursively with `join` down to [`ROWS_PER_JOB`] rows, in the divide-and-
//! conquer style of Cilk (Blumofe & Leiserson, "Scheduling Multithreaded Computations by Work
//! Stealing", JACM 1999): the rows near the set cost up to [`MAX_ITERATIONS`] iterations per
//! pixel and the others a handful, so the halves are unbalanced and idle workers steal the
//! pending ones. Each job writes its rows' totals into its own part of one slice; the checksum
//! is folded over that slice in row order afterwards, so it is bit-identical to `compute`'s
//! whatever the number of workers and whoever ran which row.

mod rt_support;

use hallows_examples::checksum::Checksum;
use hallows_examples::cli::Workload;
use hallows_examples::rng::Rng;
use hallows_runtime::Runtime;
use rt_support::{Outcome, RtOptions, Stopwatch};
use std::process::ExitCode;

/// Iteration cap per pixel (as in `compute`).
const MAX_ITERATIONS: u32 = 256;

/// Rows one fork-join job computes without splitting further: at the default 1600 pixels per
/// side that is 6400 pixels, tens of microseconds to a few milliseconds, far above a `join`'s
/// cost, and still 400 jobs for the workers to balance.
const ROWS_PER_JOB: usize = 4;

const WORKLOAD: Workload = Workload {
    name: "rt_compute",
    about: "Mandelbrot escape time over a square grid, rows split with fork-join on the Hallows runtime",
    size_unit: "pixels per side",
    small_size: 64,
    default_size: || 1600,
    min_size: 2,
    max_size: 1 << 16,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

fn main() -> ExitCode {
    rt_support::main(&WORKLOAD, run)
}

/// The grid: pixel size and the seed's sub-pixel jitter.
#[derive(Clone, Copy)]
struct Grid {
    side: usize,
    pixel: f64,
    jitter_x: f64,
    jitter_y: f64,
}

/// The result of one row.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Row {
    /// Sum of the row's escape times.
    iterations: u64,
    /// Pixels that never escaped.
    inside: u64,
}

fn run(options: &RtOptions) -> Result<Outcome, String> {
    let side = options.options.size;
    // As in `compute`: the seed jitters the grid by under one pixel.
    let mut rng = Rng::new(options.options.seed);
    let pixel = 2.5 / side as f64;
    let grid = Grid {
        side,
        pixel,
        jitter_x: rng.next_f64() * pixel,
        jitter_y: rng.next_f64() * pixel,
    };
    let mut builder = Runtime::builder();
    if let Some(n) = options.workers {
        builder = builder.workers(n);
    }
    let runtime = builder
        .build()
        .map_err(|e| format!("failed to start the Hallows runtime: {e}"))?;
    let mut rows = hallows_examples::cli::try_vec(side, Row::default(), "row results")?;
    let watch = Stopwatch::start();
    // `join` called inside `block_on` runs on the runtime's workers.
    runtime.block_on(async { compute_rows(&mut rows, 0, &grid) });
    let kernel = watch.stop();
    let stats = runtime.stats();
    drop(runtime);
    let (checksum, inside, iterations) = fold(&rows);
    Ok(Outcome {
        report: hallows_examples::cli::Report::new(checksum)
            .field("pixels", side * side)
            .field("inside", inside)
            .field("iterations", iterations),
        kernel,
        stats,
    })
}

/// Computes `rows`, which start at grid row `first`, splitting them with `join`.
fn compute_rows(rows: &mut [Row], first: usize, grid: &Grid) {
    if rows.len() <= ROWS_PER_JOB {
        for (k, slot) in rows.iter_mut().enumerate() {
            *slot = compute_row(first + k, grid);
        }
        return;
    }
    let mid = rows.len() / 2;
    let (low, high) = rows.split_at_mut(mid);
    hallows_runtime::join(
        || compute_rows(low, first, grid),
        || compute_rows(high, first + mid, grid),
    );
}

/// One row of the grid, with exactly `compute`'s arithmetic (so the same bits).
fn compute_row(row: usize, grid: &Grid) -> Row {
    let ci = -1.25 + row as f64 * grid.pixel + grid.jitter_y;
    let mut result = Row::default();
    for column in 0..grid.side {
        let cr = -2.0 + column as f64 * grid.pixel + grid.jitter_x;
        let n = escape_time(cr, ci);
        result.inside += u64::from(n == MAX_ITERATIONS);
        result.iterations += u64::from(n);
    }
    result
}

/// `compute`'s result from the rows, in row order: (checksum, inside, total iterations).
fn fold(rows: &[Row]) -> (u64, u64, u64) {
    let mut sum = Checksum::new();
    let (mut inside, mut total) = (0u64, 0u64);
    for row in rows {
        sum.add_u64(row.iterations);
        inside += row.inside;
        total += row.iterations;
    }
    (sum.finish(), inside, total)
}

/// Iterations until `z` escapes the radius-2 disc, at most [`MAX_ITERATIONS`] (as in `compute`).
#[inline]
fn escape_time(cr: f64, ci: f64) -> u32 {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for n in 0..MAX_ITERATIONS {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            return n;
        }
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
    }
    MAX_ITERATIONS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(side: usize) -> Grid {
        let pixel = 2.5 / side as f64;
        Grid {
            side,
            pixel,
            jitter_x: 0.3 * pixel,
            jitter_y: 0.7 * pixel,
        }
    }

    fn sequential(grid: &Grid) -> Vec<Row> {
        (0..grid.side).map(|r| compute_row(r, grid)).collect()
    }

    #[test]
    fn fork_join_rows_equal_sequential_rows_for_any_worker_count() {
        let grid = grid(37);
        let expected = sequential(&grid);
        for workers in [1, 2, 3] {
            let runtime = Runtime::builder()
                .workers(workers)
                .pin(false)
                .report(false)
                .build()
                .unwrap();
            let mut rows = vec![Row::default(); grid.side];
            runtime.block_on(async { compute_rows(&mut rows, 0, &grid) });
            assert_eq!(rows, expected, "{workers} workers");
        }
    }

    #[test]
    fn fold_sees_row_order() {
        let a = Row {
            iterations: 1,
            inside: 0,
        };
        let b = Row {
            iterations: 2,
            inside: 1,
        };
        assert_ne!(fold(&[a, b]).0, fold(&[b, a]).0);
        assert_eq!(fold(&[a, b]).1, 1);
    }

    #[test]
    fn known_points() {
        assert_eq!(escape_time(0.0, 0.0), MAX_ITERATIONS);
        assert_eq!(escape_time(2.0, 2.0), 1);
    }
}
