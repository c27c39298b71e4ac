use hallows_macros::multiversion_contention;
use std::sync::Mutex;

struct Map {
    entries: Mutex<Vec<u64>>,
}

impl Map {
    #[multiversion_contention(lock = self.entries)]
    fn push(&self, v: u64) {
        let _ = v;
    }
}

fn main() {}
