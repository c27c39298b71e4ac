use hallows_macros::multiversion;

#[multiversion(targets("x86_64+avx2+fma", "x86_64+fma+avx2"))]
fn f() {}

fn main() {}
