use hallows_macros::cacheline_aligned;

#[cacheline_aligned(isolate(a), isolate(b))]
struct S {
    a: u64,
    b: u64,
}

fn main() {}
