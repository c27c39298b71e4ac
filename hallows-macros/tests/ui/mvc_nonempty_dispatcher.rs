use hallows_macros::multiversion_contention;
use hallows_runtime::contention::Probe;

struct Counter;

#[multiversion_contention]
impl Counter {
    #[contention_versions(add_fast, add_slow)]
    fn add(&self, n: u64) -> u64 {
        n + 1
    }

    fn add_fast(&self, n: u64, _probe: Probe) -> u64 {
        n
    }

    fn add_slow(&self, n: u64, _probe: Probe) -> u64 {
        n
    }
}

fn main() {}
