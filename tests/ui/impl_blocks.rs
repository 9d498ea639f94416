use chainrule::differentiate;

struct Model {
    scale: f64,
}

trait Energy {
    fn energy(x: f64) -> f64;
}

// The generated functions cannot be items of a trait.
#[differentiate]
impl Energy for Model {
    #[differentiate]
    fn energy(x: f64) -> f64 {
        x * x
    }
}

// Options belong on each function.
#[differentiate(forward)]
impl Model {
    #[differentiate]
    fn cube(x: f64) -> f64 {
        x * x * x
    }
}

// Nothing to differentiate.
#[differentiate]
impl Model {
    fn scaled(model: &Self, x: f64) -> f64 {
        model.scale * x
    }
}

// `self` is taken by shared reference only.
#[differentiate]
impl Model {
    #[differentiate]
    fn times(&mut self, x: f64) -> f64 {
        self.scale * x
    }

    #[differentiate]
    fn owned(self, x: f64) -> f64 {
        self.scale * x
    }
}

fn main() {}
