use hallows_macros::multiversion;

#[multiversion(targets("x86-64-v3"), targets("x86-64-v2"))]
fn f() {}

fn main() {}
