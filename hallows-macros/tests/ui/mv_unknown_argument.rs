use hallows_macros::multiversion;

#[multiversion(targets("x86-64-v3"), dispatch = "static")]
fn f() {}

fn main() {}
