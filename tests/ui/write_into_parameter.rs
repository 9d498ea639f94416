use chainrule::differentiate;

#[differentiate]
fn f(x: f64, v: &mut Vec<i32>) -> f64 {
    v[0] = 1;
    x
}

fn main() {}
