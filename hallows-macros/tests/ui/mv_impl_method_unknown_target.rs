use hallows_macros::multiversion;

struct Kernel;

trait Run {
    fn run(&self, xs: &[f32]) -> f32;
}

#[multiversion]
impl Run for Kernel {
    #[multiversion(targets("x86-64-v9"))]
    fn run(&self, xs: &[f32]) -> f32 {
        xs.iter().sum()
    }
}

fn main() {}
