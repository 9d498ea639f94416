use chainrule::differentiate;

macro_rules! larger {
    ($a:expr, $b:expr) => {
        if $a > $b { $a } else { $b }
    };
}

#[differentiate]
fn f(x: f64) -> f64 {
    let y = x * larger!(x, 1.0);
    y * y
}

fn main() {}
