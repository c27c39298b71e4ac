use hallows_macros::cacheline_aligned;

#[cacheline_aligned]
fn not_a_type() {}

fn main() {}
