use hallows_macros::multiversion_contention;
use hallows_runtime::contention::Probe;

struct Counter(u64);

#[multiversion_contention]
impl Counter {
    #[contention_versions(add_fast, add_slow)]
    fn add(&self, n: u64) -> u64 {}

    fn add_fast(&self, n: u64, _probe: Probe) -> u64 {
        self.0 + n
    }

    fn add_slow(&mut self, n: u64, _probe: Probe) -> u64 {
        self.0 += n;
        self.0
    }
}

fn main() {}
