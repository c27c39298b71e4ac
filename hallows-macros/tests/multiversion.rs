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
