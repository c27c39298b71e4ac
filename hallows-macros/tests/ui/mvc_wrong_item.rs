use hallows_macros::multiversion_contention;

#[multiversion_contention]
struct Counter;

fn main() {}
