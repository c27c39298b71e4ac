use hallows_macros::cacheline_aligned;

#[cacheline_aligned]
#[repr(C, packed)]
struct S {
    a: u64,
}

fn main() {}
