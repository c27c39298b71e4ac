use hallows_macros::multiversion_contention;
use std::sync::Mutex;

static ENTRIES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

#[multiversion_contention(lock = ENTRIES, guard = entries)]
const fn push(v: u64) {
    entries.push(v);
}

fn main() {}
