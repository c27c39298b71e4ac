use hallows_macros::multiversion;

#[multiversion(targets("x86-64-v3"))]
fn evens(n: u32) -> impl Iterator<Item = u32> {
    (0..n).filter(|x| x % 2 == 0)
}

fn main() {}
