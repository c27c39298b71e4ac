use hallows_macros::multiversion_contention;

#[multiversion_contention]
fn push(v: u64) -> u64 {
    v
}

fn main() {}
