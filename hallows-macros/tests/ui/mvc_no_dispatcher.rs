use hallows_macros::multiversion_contention;

struct Counter;

#[multiversion_contention]
impl Counter {
    fn add(&self, n: u64) -> u64 {
        n
    }
}

fn main() {}
