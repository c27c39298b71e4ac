use hallows_macros::cacheline_aligned;

#[cacheline_aligned(isolate(head, tial))]
struct Queue {
    head: u64,
    tail: u64,
}

fn main() {}
