use hallows_macros::multiversion;

#[multiversion(targets("x86-64-v5"))]
fn f() {}

fn main() {}
