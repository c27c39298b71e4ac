//! Every misuse of the attributes is a compile error with a precise message on the offending
//! tokens: one file per rule under `tests/ui/`, expected output in the `.stderr` beside it.
//! Regenerate with `TRYBUILD=overwrite cargo test -p hallows-macros --test ui` and review.

#[test]
fn misuse_is_a_precise_compile_error() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
