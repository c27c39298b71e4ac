use hallows_macros::cacheline_aligned;

#[cacheline_aligned(padding)]
struct S {
    a: u64,
}

fn main() {}
