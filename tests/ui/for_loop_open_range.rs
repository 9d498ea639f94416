use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    for i in 1.. {
        y *= x;
        if i > 3 {
            return y;
        }
    }
    y
}

fn main() {}
