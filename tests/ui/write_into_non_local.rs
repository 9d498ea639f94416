use chainrule::differentiate;

const TABLE: [f64; 2] = [1.0, 2.0];

#[differentiate]
fn f(x: f64) -> f64 {
    TABLE[0] = x;
    x
}

fn main() {}
