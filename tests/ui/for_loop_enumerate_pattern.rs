use chainrule::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    let mut y = 0.0;
    for _pair in xs.iter().enumerate() {
        y += x;
    }
    y
}

fn main() {}
