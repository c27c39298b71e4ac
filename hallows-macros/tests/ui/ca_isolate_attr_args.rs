use hallows_macros::cacheline_aligned;

#[cacheline_aligned]
struct S {
    #[isolate(64)]
    a: u64,
    b: u64,
}

fn main() {}
