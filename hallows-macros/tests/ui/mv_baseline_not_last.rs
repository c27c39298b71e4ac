use hallows_macros::multiversion;

#[multiversion(targets("baseline", "x86-64-v3"))]
fn f() {}

fn main() {}
