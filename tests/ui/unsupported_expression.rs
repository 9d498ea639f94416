use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let y = 'scaled: { 2.0 * x };
    y
}

fn main() {}
