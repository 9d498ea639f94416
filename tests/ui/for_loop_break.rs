use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..10 {
        if y > 100.0 {
            break;
        }
        y *= x;
    }
    y
}

fn main() {}
