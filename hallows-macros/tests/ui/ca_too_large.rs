use hallows_macros::cacheline_aligned;

#[cacheline_aligned(8192)]
struct S {
    a: u64,
}

fn main() {}
