use chainrule::differentiate;

#[differentiate]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    for _ in 0..n {
        y *= x;
        let z = if y > 10.0 { return y; } else { y + 1.0 };
        y = z;
    }
    y
}

fn main() {}
