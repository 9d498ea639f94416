use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    let double = |t: f64| t * 2.0;
    y = double(y);
    let z = x.rem_euclid(2.0);
    let w = y % 3.0;
    format!("{w}");
    z + w
}

fn main() {}
