use chainrule::differentiate;
use chainrule::faer::Col;

#[differentiate]
fn f(x: &Col<f64>) -> f64 {
    let mut total = 0.0;
    let partial = Col::from_fn(x.nrows(), |i| {
        total += x[i];
        total
    });
    partial.sum()
}

fn main() {}
