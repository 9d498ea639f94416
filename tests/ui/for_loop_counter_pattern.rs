use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    for ref _i in 0..3 {
        y *= x;
    }
    y
}

fn main() {}
