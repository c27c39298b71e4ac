//! `nas_cg`: the sparse matrix–vector product at the heart of NAS Conjugate Gradient.
//!
//! Models the inner loop of NPB CG (Bailey et al., "The NAS Parallel Benchmarks", RNR-94-007,
//! 1994; `conj_grad` in NPB 3.x `cg.f`), the kernel Ainsworth & Jones call ConjGrad ("Software
//! Prefetching for Indirect Memory Accesses", CGO 2017): `y[r] = Σ a[e] · x[col[e]]` over a
//! matrix in compressed sparse row (CSR) form. The gather `x[col[e]]` is the indirect access.
//! The matrix is random with 2..=6 non-zeros per row (uniform columns, like NPB's `makea`
//! sprinkles them) and `x` is twice the last-level cache, so the gather misses; the run does a
//! few power-iteration steps (`x ← A·x / ‖A·x‖∞`), each one SpMV. Values are `f32` (NPB uses
//! `f64`) to keep the default input under half a gigabyte; sums are `f64` in a fixed order, so
//! results are bit-identical across builds and variants.
//!
//! `--variant prefetch` prefetches `x[col[e + DISTANCE]]`, looking ahead across row boundaries
//! (the CSR arrays are contiguous), which is Ainsworth & Jones' scheme.

use hallows_examples::cache;
use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Variant, Workload};
use hallows_examples::prefetch::{self, prefetch_index};
use hallows_examples::rng::Rng;
use std::process::ExitCode;

/// Power-iteration steps, each one sparse matrix–vector product.
const STEPS: usize = 3;

/// Fewest and most non-zeros per row (mean 4).
const MIN_ROW_NNZ: usize = 2;
const MAX_ROW_NNZ: usize = 6;

/// How many non-zeros ahead the prefetch variant prefetches (tuned on the project's machine).
const DISTANCE: usize = 32;

/// The randomly gathered vector `x` spans this many last-level caches by default.
const X_LLC_MULTIPLE: usize = 2;

const WORKLOAD: Workload = Workload {
    name: "nas_cg",
    about: "NAS CG sparse matrix-vector product y[r] = sum a[e] * x[col[e]]",
    size_unit: "matrix rows",
    small_size: 1 << 12,
    default_size: || cache::llc_bytes() * X_LLC_MULTIPLE / std::mem::size_of::<f64>(),
    min_size: 16,
    max_size: (u32::MAX as usize) / MAX_ROW_NNZ,
    size_power_of_two: false,
    has_prefetch_variant: true,
};

/// A sparse matrix in compressed sparse row form.
struct Csr {
    row_start: Vec<u32>,
    col: Vec<u32>,
    val: Vec<f32>,
}

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let n = options.size;
    let matrix = generate(n, options.seed)?;
    let mut x = try_vec(n, 1.0f64, "vector x")?;
    let mut y = try_vec(n, 0.0f64, "vector y")?;
    let mut sum = Checksum::new();
    let ((), kernel) = timed(|| {
        for _ in 0..STEPS {
            match options.variant {
                Variant::Plain => spmv_plain(&matrix, &x, &mut y),
                Variant::Prefetch => spmv_prefetch(&matrix, &x, &mut y),
            }
            let norm = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            sum.add_f64(norm);
            let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
            for (xi, yi) in x.iter_mut().zip(&y) {
                *xi = yi * scale;
            }
        }
    });
    for v in &x {
        sum.add_f64(*v);
    }
    let total: f64 = x.iter().sum();
    Ok(Report::new(sum.finish())
        .field("rows", n)
        .field("nonzeros", matrix.col.len())
        .field("steps", STEPS)
        .field("sum_x", format_args!("{total:.9e}"))
        .kernel_time(kernel))
}

fn generate(n: usize, seed: u64) -> Result<Csr, String> {
    let mut rng = Rng::new(seed);
    let mut row_start = try_vec(n + 1, 0u32, "row index")?;
    let mut nnz = 0usize;
    for r in 0..n {
        nnz += MIN_ROW_NNZ + rng.below_usize(MAX_ROW_NNZ - MIN_ROW_NNZ + 1);
        row_start[r + 1] = nnz as u32;
    }
    let mut col = try_vec(nnz, 0u32, "column indices")?;
    let mut val = try_vec(nnz, 0.0f32, "matrix values")?;
    for (c, v) in col.iter_mut().zip(&mut val) {
        *c = rng.below_usize(n) as u32;
        // Positive values in (0.5, 1.5] keep the power iteration away from cancellation.
        *v = 1.5 - rng.next_f64() as f32;
    }
    Ok(Csr {
        row_start,
        col,
        val,
    })
}

fn spmv_plain(a: &Csr, x: &[f64], y: &mut [f64]) {
    for (r, out) in y.iter_mut().enumerate() {
        let (start, end) = (a.row_start[r] as usize, a.row_start[r + 1] as usize);
        let mut acc = 0.0f64;
        for (&c, &v) in a.col[start..end].iter().zip(&a.val[start..end]) {
            acc += f64::from(v) * x[c as usize];
        }
        *out = acc;
    }
}

fn spmv_prefetch(a: &Csr, x: &[f64], y: &mut [f64]) {
    let distance = prefetch::distance(DISTANCE);
    let nnz = a.col.len();
    for (r, out) in y.iter_mut().enumerate() {
        let (start, end) = (a.row_start[r] as usize, a.row_start[r + 1] as usize);
        let (cols, vals) = (&a.col[start..end], &a.val[start..end]);
        let mut acc = 0.0f64;
        if end + distance <= nnz {
            // The common case: the whole look-ahead window exists, one prefetch per non-zero.
            let ahead = &a.col[start + distance..end + distance];
            for ((&c, &v), &next) in cols.iter().zip(vals).zip(ahead) {
                prefetch_index(x, next as usize);
                acc += f64::from(v) * x[c as usize];
            }
        } else {
            for (&c, &v) in cols.iter().zip(vals) {
                acc += f64::from(v) * x[c as usize];
            }
        }
        *out = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spmv_matches_a_dense_product() {
        // [[1 0 2], [0 0 0], [0 3 0]] as CSR.
        let a = Csr {
            row_start: vec![0, 2, 2, 3],
            col: vec![0, 2, 1],
            val: vec![1.0, 2.0, 3.0],
        };
        let x = [1.0, 10.0, 100.0];
        let mut y = [0.0; 3];
        spmv_plain(&a, &x, &mut y);
        assert_eq!(y, [201.0, 0.0, 30.0]);
        let mut z = [9.0; 3];
        spmv_prefetch(&a, &x, &mut z);
        assert_eq!(z, y);
    }

    #[test]
    fn variants_agree_bit_for_bit_on_a_random_matrix() {
        let a = generate(5000, 3).unwrap();
        assert_eq!(a.row_start.len(), 5001);
        let x: Vec<f64> = (0..5000).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let (mut y1, mut y2) = (vec![0.0; 5000], vec![0.0; 5000]);
        spmv_plain(&a, &x, &mut y1);
        spmv_prefetch(&a, &x, &mut y2);
        assert!(y1.iter().zip(&y2).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
