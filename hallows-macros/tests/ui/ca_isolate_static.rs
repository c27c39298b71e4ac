use hallows_macros::cacheline_aligned;
use std::sync::atomic::AtomicU64;

#[cacheline_aligned(isolate)]
static HITS: AtomicU64 = AtomicU64::new(0);

fn main() {}
