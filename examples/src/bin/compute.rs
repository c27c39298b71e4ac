//! `compute`: a compute-bound Mandelbrot-set kernel, the control without memory traffic.
//!
//! The escape-time algorithm (Peitgen & Richter, "The Beauty of Fractals", 1986; the form used
//! by the Computer Language Benchmarks Game's `mandelbrot`): for each pixel `c` of a square grid
//! over `[-2, 0.5] × [-1.25, 1.25]`, iterate `z ← z² + c` until `|z| > 2` or `MAX_ITERATIONS`.
//! Everything lives in registers, so prefetching has nothing to do and branch layout only the
//! escape test; results are bit-identical because Rust never contracts or reassociates `f64`.

use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, Options, Report, Workload};
use hallows_examples::rng::Rng;
use std::process::ExitCode;

/// Iteration cap per pixel (points still bounded then count as members of the set).
const MAX_ITERATIONS: u32 = 256;

const WORKLOAD: Workload = Workload {
    name: "compute",
    about: "Mandelbrot escape-time iteration over a square grid (no prefetch variant)",
    size_unit: "pixels per side",
    small_size: 64,
    default_size: || 1600,
    min_size: 2,
    max_size: 1 << 16,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let side = options.size;
    // The seed jitters the grid by under one pixel, so inputs differ but the picture does not.
    let mut rng = Rng::new(options.seed);
    let pixel = 2.5 / side as f64;
    let (jitter_x, jitter_y) = (rng.next_f64() * pixel, rng.next_f64() * pixel);
    let ((sum, inside, total), kernel) = timed(|| {
        let mut sum = Checksum::new();
        let (mut inside, mut total) = (0u64, 0u64);
        for row in 0..side {
            let ci = -1.25 + row as f64 * pixel + jitter_y;
            let mut row_total = 0u64;
            for column in 0..side {
                let cr = -2.0 + column as f64 * pixel + jitter_x;
                let n = escape_time(cr, ci);
                inside += u64::from(n == MAX_ITERATIONS);
                row_total += u64::from(n);
            }
            sum.add_u64(row_total);
            total += row_total;
        }
        (sum.finish(), inside, total)
    });
    Ok(Report::new(sum)
        .field("pixels", side * side)
        .field("inside", inside)
        .field("iterations", total)
        .kernel_time(kernel))
}

/// Iterations until `z` escapes the radius-2 disc, at most [`MAX_ITERATIONS`].
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

    #[test]
    fn known_points() {
        assert_eq!(
            escape_time(0.0, 0.0),
            MAX_ITERATIONS,
            "the origin is in the set"
        );
        assert_eq!(escape_time(-1.0, 0.0), MAX_ITERATIONS, "a period-2 point");
        assert_eq!(
            escape_time(2.0, 2.0),
            1,
            "far outside: escapes after one step"
        );
        assert!(
            escape_time(0.26, 0.0) > 10,
            "just outside the cusp escapes slowly"
        );
    }
}
