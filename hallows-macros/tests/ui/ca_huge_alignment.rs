use hallows_macros::cacheline_aligned;

#[cacheline_aligned(18446744073709551615)]
struct S {
    a: u64,
}

#[cacheline_aligned(0)]
struct T {
    a: u64,
}

fn main() {}
