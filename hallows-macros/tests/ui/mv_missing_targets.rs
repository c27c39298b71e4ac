use hallows_macros::multiversion;

#[multiversion]
fn f() {}

fn main() {}
