use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = 1.0;
    for _ in 0..(x as usize) {
        y *= x;
    }
    y
}

fn main() {}
