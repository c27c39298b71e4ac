use hallows_macros::cacheline_aligned;

#[cacheline_aligned]
#[repr(align(64))]
struct S {
    a: u64,
}

fn main() {}
