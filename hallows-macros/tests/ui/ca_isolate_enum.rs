use hallows_macros::cacheline_aligned;

#[cacheline_aligned(isolate)]
enum State {
    Idle,
    Busy(u32),
}

fn main() {}
