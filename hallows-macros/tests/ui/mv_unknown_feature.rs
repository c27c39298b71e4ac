use hallows_macros::multiversion;

#[multiversion(targets("x86_64+avx2+avx3"))]
fn f() {}

fn main() {}
