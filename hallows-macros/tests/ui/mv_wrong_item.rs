use hallows_macros::multiversion;

#[multiversion(targets("x86-64-v3"))]
struct NotAFunction;

fn main() {}
