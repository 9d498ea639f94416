use chainrule::differentiate;
use chainrule::faer::Col;

#[differentiate]
fn f(x: &Col<f64>) -> f64 {
    let clipped = Col::from_fn(x.nrows(), |i| {
        if x[i] > 1.0 {
            return 1.0;
        }
        x[i]
    });
    clipped.sum()
}

fn main() {}
