use chainrule::differentiate;

macro_rules! square {
    ($x:expr) => {
        $x * $x
    };
}

#[differentiate]
fn f(x: f64) -> f64 {
    let y = square!(x);
    y + 1.0
}

fn main() {}
