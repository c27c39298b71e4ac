//! `#[multiversion]` on free functions, generic functions and methods.

use hallows_macros::multiversion;

/// Sums with whatever vector width the CPU offers.
#[multiversion(targets("x86-64-v3", "x86-64-v2", "aarch64+neon", "baseline"))]
#[must_use]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[multiversion(targets("x86_64+avx2+fma"))]
fn scale<T, const N: usize>(mut xs: [T; N], by: T) -> [T; N]
where
    T: Copy + core::ops::MulAssign,
{
    for x in &mut xs {
        *x *= by;
    }
    xs
}

#[multiversion(targets("x86-64-v2"))]
fn destructure((a, b): (u32, u32), mut c: u32) -> u32 {
    c += a;
    c * b
}

#[multiversion(targets("x86-64-v3"))]
fn sum_any(xs: impl IntoIterator<Item = u64>) -> u64 {
    xs.into_iter().sum()
}

struct Histogram<T> {
    bins: Vec<T>,
}

impl<T: Copy + Into<u64>> Histogram<T> {
    #[multiversion(targets("x86-64-v3", "x86-64-v2"))]
    fn total(&self) -> u64 {
        self.bins.iter().map(|b| (*b).into()).sum()
    }

    #[multiversion(targets("x86-64-v3"))]
    fn push_all<I: IntoIterator<Item = T>>(&mut self, items: I) -> usize {
        self.bins.extend(items);
        self.bins.len()
    }

    #[multiversion(targets("x86-64-v3"))]
    fn into_bins(self) -> Vec<T> {
        self.bins
    }
}

#[multiversion(targets("x86-64-v3"))]
fn lifetimes<'a>(xs: &'a [u8], ys: &'a [u8]) -> &'a [u8] {
    if xs.len() >= ys.len() {
        xs
    } else {
        ys
    }
}

#[test]
fn free_functions_give_the_same_results_as_the_plain_code() {
    let a: Vec<f32> = (0..100).map(|i| i as f32).collect();
    let b = vec![2.0f32; 100];
    assert_eq!(dot(&a, &b), 9900.0);
    assert_eq!(destructure((2, 3), 1), 9);
    assert_eq!(sum_any(vec![1, 2, 3]), 6);
    assert_eq!(lifetimes(b"ab", b"c"), b"ab");
}

#[test]
fn generic_functions_are_cloned_per_instantiation() {
    assert_eq!(scale([1u32, 2, 3], 2), [2, 4, 6]);
    assert_eq!(scale([1.5f64], 2.0), [3.0]);
}

#[test]
fn methods_with_every_receiver_kind() {
    let mut h = Histogram {
        bins: vec![1u8, 2, 3],
    };
    assert_eq!(h.total(), 6);
    assert_eq!(h.push_all([4u8, 5]), 5);
    assert_eq!(h.total(), 15);
    assert_eq!(h.into_bins().len(), 5);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_best_supported_clone_is_chosen() {
    // The v3 clone is compiled with AVX2 enabled: `cfg!(target_feature)` inside a
    // `#[target_feature]` function does not see it, so observe the choice through detection.
    let v3 = hallows_runtime::cpu_features::mask_of(&["avx", "avx2", "fma", "bmi2"]).unwrap();
    let expected_best = hallows_runtime::cpu_features::supports(v3);
    let selection = hallows_runtime::__private::Selection::new();
    let masks = [hallows_runtime::__private::const_mask(
        "x86_64",
        &["avx", "avx2", "fma", "bmi2"],
    )];
    assert_eq!(selection.get(&masks) == 0, expected_best);
}

#[multiversion(targets("x86-64-v2"))]
fn r#match(x: u32) -> u32 {
    x + 1
}

#[multiversion(targets("x86-64-v2"))]
unsafe fn read_first(p: *const u32) -> u32 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[test]
fn raw_identifiers_and_unsafe_functions() {
    assert_eq!(r#match(1), 2);
    let x = 7u32;
    // SAFETY: `&x` is valid for reads.
    assert_eq!(unsafe { read_first(&x) }, 7);
}

/// A trait implemented with multiversioned methods: the attribute goes on the impl block.
trait Kernel {
    type Output;
    fn run(&self, xs: &[u32]) -> Self::Output;
    fn scaled(&self, xs: &[u32], by: u32) -> u64;
    fn name(&self) -> &'static str;
}

struct SumOfSquares;

/// Per-method targets inside a trait impl; methods without the attribute stay as written.
#[multiversion]
impl Kernel for SumOfSquares {
    type Output = u64;

    /// Doc comments and other attributes stay on the trait method.
    #[multiversion(targets("x86-64-v3", "x86-64-v2", "aarch64+neon"))]
    #[inline]
    fn run(&self, xs: &[u32]) -> Self::Output {
        let total: Self::Output = xs.iter().map(|&x| u64::from(x) * u64::from(x)).sum();
        // Other trait methods are reachable from the clones.
        total + u64::from(self.name().is_empty())
    }

    #[hallows_macros::multiversion(targets("x86-64-v3"))]
    fn scaled(&self, xs: &[u32], by: u32) -> u64 {
        self.run(xs) * u64::from(by)
    }

    fn name(&self) -> &'static str {
        "sum of squares"
    }
}

/// A generic type and a generic trait, with the targets on the block (every method).
struct Weighted<T> {
    weights: Vec<T>,
}

trait Apply<U> {
    fn apply(&self, xs: &[U]) -> U;
    fn apply_n<const N: usize>(&self, xs: [U; N]) -> U;
}

#[multiversion(targets("x86-64-v3", "x86-64-v2"))]
impl<T> Apply<T> for Weighted<T>
where
    T: Copy + Default + core::ops::Mul<Output = T> + core::ops::Add<Output = T>,
{
    fn apply(&self, xs: &[T]) -> T {
        self.weights
            .iter()
            .zip(xs)
            .fold(T::default(), |acc, (w, x)| acc + *w * *x)
    }

    fn apply_n<const N: usize>(&self, xs: [T; N]) -> T {
        self.apply(&xs)
    }
}

/// An inherent impl block with block-level targets.
#[multiversion(targets("x86-64-v3"))]
impl<T: Copy + Into<u64>> Histogram<T> {
    fn max_bin(&self) -> u64 {
        self.bins.iter().map(|b| (*b).into()).max().unwrap_or(0)
    }

    pub(crate) fn count_at_least(&self, floor: u64) -> usize {
        self.bins.iter().filter(|b| (**b).into() >= floor).count()
    }
}

fn squares_input() -> Vec<u32> {
    (0..1000).map(|i| i * 7 % 1013).collect()
}

#[test]
fn trait_impl_methods_give_the_same_results_as_the_plain_code() {
    let xs = squares_input();
    let expected: u64 = xs.iter().map(|&x| u64::from(x) * u64::from(x)).sum();
    assert_eq!(SumOfSquares.run(&xs), expected);
    assert_eq!(SumOfSquares.scaled(&xs, 3), 3 * expected);
    assert_eq!(SumOfSquares.name(), "sum of squares");
    // Through a trait object and through a generic bound as well.
    let dynamic: &dyn Kernel<Output = u64> = &SumOfSquares;
    assert_eq!(dynamic.run(&xs), expected);
    fn through_bound<K: Kernel>(k: &K, xs: &[u32]) -> K::Output {
        k.run(xs)
    }
    assert_eq!(through_bound(&SumOfSquares, &xs), expected);

    let w = Weighted {
        weights: vec![1.5f64, 2.0, 0.5],
    };
    assert_eq!(w.apply(&[2.0, 1.0, 4.0]), 7.0);
    assert_eq!(w.apply_n([2.0, 1.0, 4.0]), 7.0);
    let wi = Weighted {
        weights: vec![3u32, 4],
    };
    assert_eq!(wi.apply(&[5, 6]), 39);

    let h = Histogram {
        bins: vec![3u16, 9, 4],
    };
    assert_eq!(h.max_bin(), 9);
    assert_eq!(h.count_at_least(4), 2);
}

/// Every clone the running CPU can execute computes what the baseline clone computes.
#[cfg(target_arch = "x86_64")]
#[test]
fn every_runnable_clone_of_a_trait_method_agrees_with_the_baseline() {
    use hallows_runtime::cpu_features::{mask_of, supports};
    let xs = squares_input();
    let k = SumOfSquares;
    // The baseline clone enables no target feature: a safe function.
    let baseline = SumOfSquares::__hallows_mv_run_baseline(&k, &xs);
    assert_eq!(baseline, k.run(&xs));
    let v3 = mask_of(&["avx", "avx2", "fma", "bmi2"]).unwrap();
    let v2 = mask_of(&["sse4.2", "popcnt"]).unwrap();
    let mut checked = 0;
    if supports(v3) {
        // SAFETY: the CPU has the x86-64-v3 features this clone is compiled for.
        let run = unsafe { SumOfSquares::__hallows_mv_run_0(&k, &xs) };
        assert_eq!(run, baseline);
        // SAFETY: as above.
        let scaled = unsafe { SumOfSquares::__hallows_mv_scaled_0(&k, &xs, 2) };
        assert_eq!(scaled, 2 * baseline);
        // SAFETY: as above.
        let w = unsafe {
            Weighted::__hallows_mv_apply_0(
                &Weighted {
                    weights: vec![2u64, 3],
                },
                &[4, 5],
            )
        };
        assert_eq!(w, 23);
        checked += 1;
    }
    if supports(v2) {
        // SAFETY: the CPU has the x86-64-v2 features this clone is compiled for.
        let run = unsafe { SumOfSquares::__hallows_mv_run_1(&k, &xs) };
        assert_eq!(run, baseline);
        checked += 1;
    }
    if checked == 0 {
        eprintln!(
            "note: this CPU has neither x86-64-v3 nor v2; only the baseline clone was checked"
        );
    }
}

/// A sum with x86-64-v4 (AVX-512) as the first target.
#[multiversion(targets("x86-64-v4", "x86-64-v3", "x86-64-v2"))]
fn sum_v4(xs: &[u32]) -> u32 {
    xs.iter()
        .fold(0u32, |a, &x| a.wrapping_add(x.wrapping_mul(x)))
}

/// x86-64-v4 is detected exactly when the CPU reports all five AVX-512 features of the level,
/// and the v4 clone (run directly when detected) computes what the dispatcher and the baseline
/// compute. Session 10 ran on an AVX-512 CPU (AMD Zen 4), where the v4 clone is exercised.
#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_v4_is_detected_from_the_avx512_features_and_its_clone_agrees() {
    use hallows_runtime::cpu_features::{mask_of, supports};
    use std::arch::is_x86_feature_detected as has;
    let v4 = mask_of(&["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]).unwrap();
    let std_says = has!("avx512f")
        && has!("avx512bw")
        && has!("avx512cd")
        && has!("avx512dq")
        && has!("avx512vl");
    assert_eq!(supports(v4), std_says);
    let xs: Vec<u32> = (0..1000u32).map(|i| i.wrapping_mul(2654435761)).collect();
    let baseline = __hallows_mv_sum_v4_baseline(&xs);
    assert_eq!(sum_v4(&xs), baseline);
    if std_says {
        // SAFETY: the CPU has every x86-64-v4 feature this clone is compiled for.
        assert_eq!(unsafe { __hallows_mv_sum_v4_0(&xs) }, baseline);
    } else {
        eprintln!("note: this CPU lacks x86-64-v4; its clone was not run");
    }
}
