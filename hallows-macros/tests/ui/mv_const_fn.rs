use hallows_macros::multiversion;

#[multiversion(targets("x86-64-v3"))]
const fn f() -> u32 {
    1
}

fn main() {}
