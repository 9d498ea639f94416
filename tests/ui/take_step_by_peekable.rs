// `take` of anything but a range or sequences' elements (here a `map`),
// and `step_by` of anything but a range, have no rule: the error points at
// the adapter and gives the range or stepped range to write instead. An adapter with no usual
// rewrite (`peekable`) gets the list of what a loop may walk.
use chainrule::differentiate;

#[differentiate]
fn head_cubes(xs: &[f64]) -> f64 {
    xs.iter().map(|x| x * x * x).take(2).sum::<f64>()
}

#[differentiate]
fn even_sines(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for x in xs.iter().step_by(2) {
        s += x.sin();
    }
    s
}

#[differentiate]
fn peeked_energy(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in xs.iter().peekable() {
        s += v * v;
    }
    s
}

fn main() {}
