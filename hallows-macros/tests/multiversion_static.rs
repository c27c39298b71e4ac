//! With `-C target-cpu`/`-C target-feature` guaranteeing the first target, the dispatcher calls
//! that clone directly and never runs CPU detection; otherwise it detects once.
//! `scripts/checks/macros.sh` runs this file again with `-C target-cpu=x86-64-v3`.

use hallows_macros::multiversion;

#[multiversion(targets("x86_64+avx2+fma", "x86-64-v2"))]
fn add_all(xs: &[u32]) -> u32 {
    xs.iter().sum()
}

#[test]
fn detection_runs_only_when_the_build_does_not_guarantee_the_features() {
    assert!(!hallows_runtime::cpu_features::detection_ran());
    assert_eq!(add_all(&[1, 2, 3]), 6);
    let guaranteed = cfg!(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma"
    ));
    let x86 = cfg!(target_arch = "x86_64");
    assert_eq!(
        hallows_runtime::cpu_features::detection_ran(),
        x86 && !guaranteed
    );
}
