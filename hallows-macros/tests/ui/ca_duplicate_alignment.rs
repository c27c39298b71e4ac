use hallows_macros::cacheline_aligned;

#[cacheline_aligned(64, align = 128)]
struct S {
    a: u64,
}

fn main() {}
