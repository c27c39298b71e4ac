use hallows_macros::multiversion_contention;

struct Counter;

#[multiversion_contention]
impl Clone for Counter {
    fn clone(&self) -> Self {
        Counter
    }
}

fn main() {}
