use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    while y < 10.0 {
        y *= x;
    }
    let z = x.to_degrees();
    let w = y % 3.0;
    println!("{w}");
    z + w
}

fn main() {}
