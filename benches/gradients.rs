//! What a generated gradient costs, next to the function itself, a gradient
//! written by hand in faer, and central finite differences.
//!
//! Three workloads:
//! - least squares, `L(w) = ‖Xw − y‖²`;
//! - a ReLU neuron's mean squared error, `C(w, b) = (1/N)‖y − relu(Xw + b)‖²`;
//! - a scalar function of 4 `f64`s with 20 terms of `sin`, `exp` and products,
//!   where generated code should be what one writes by hand.
//!
//! The matrix workloads run at N = 1000 and 10000 samples of d = 100 features,
//! single-threaded (faer's global parallelism, sequential without the `rayon`
//! feature). Before anything is timed, the generated gradients are checked
//! against the hand-written ones (1e-10, relative) and against finite
//! differences, so no benchmark measures wrong code.
//!
//! ```text
//! cargo bench --bench gradients                                # table, then divan
//! CHAINRULE_BENCH_TABLE_ONLY=1 cargo bench --bench gradients   # the table only
//! CHAINRULE_BENCH_NO_TABLE=1 cargo bench --bench gradients     # divan only
//! ```
//!
//! The table of ratios, all measured in the same run, is printed first and
//! written to `target/bench-table.md`; divan's own report follows, with
//! allocation counts. The table takes the median of interleaved batches of
//! calls, timed as `benches/timing` describes (thread CPU time where it can).

use std::fmt;
use std::hint::black_box;
use std::io::Write as _;
use std::sync::LazyLock;
use std::time::Duration;

use chainrule::fd;
use chainrule::prelude::*;
use divan::Bencher;
use faer::linalg::matmul::matmul;
use faer::{Accum, unzip, zip};

mod timing;
use timing::{BATCHES, clock_name, env_flag, format_time, median_times, ratio};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

// ----- workloads ---------------------------------------------------------------

/// L(w) = ‖Xw − y‖²
#[differentiate(wrt(w))]
fn least_squares(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    (x * w - y).squared_norm_l2()
}

/// r = Xw − y, L = ‖r‖², ∇L = 2Xᵀr: two matrix–vector products and one
/// temporary of length N.
fn least_squares_by_hand(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> (f64, Col<f64>) {
    let par = faer::get_global_parallelism();
    let mut r = Col::zeros(x.nrows());
    matmul(r.as_mat_mut(), Accum::Replace, x, w.as_mat(), 1.0, par);
    r -= y;
    let loss = r.squared_norm_l2();
    let mut grad = Col::zeros(x.ncols());
    matmul(grad.as_mat_mut(), Accum::Replace, x.transpose(), r.as_mat(), 2.0, par);
    (loss, grad)
}

/// C(w, b) = (1/N)‖y − relu(Xw + b)‖²
#[differentiate(wrt(w, b))]
fn neuron(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> f64 {
    let n = x.nrows() as f64;
    let a = relu(add_scalar(x * w, b));
    (y - &a).squared_norm_l2() / n
}

/// z = Xw + b, e = y − relu(z), m = [z > 0]; ∇_w C = −(2/N) Xᵀ(e ⊙ m) and
/// ∂C/∂b = −(2/N) Σ e ⊙ m. One temporary of length N, overwritten in place by
/// e ⊙ m in a single fused pass that also accumulates C and Σ e ⊙ m.
fn neuron_by_hand(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> (f64, Col<f64>, f64) {
    let n = x.nrows() as f64;
    let par = faer::get_global_parallelism();
    let mut r = Col::zeros(x.nrows());
    matmul(r.as_mat_mut(), Accum::Replace, x, w.as_mat(), 1.0, par);
    let (mut loss, mut masked_sum) = (0.0, 0.0);
    zip!(r.as_mut(), y.as_ref()).for_each(|unzip!(r, y)| {
        let z = *r + b;
        let e = *y - z.max(0.0);
        loss += e * e;
        *r = if z > 0.0 { e } else { 0.0 };
        masked_sum += *r;
    });
    let scale = -2.0 / n;
    let mut grad_w = Col::zeros(x.ncols());
    matmul(
        grad_w.as_mat_mut(),
        Accum::Replace,
        x.transpose(),
        r.as_mat(),
        scale,
        par,
    );
    (loss / n, grad_w, scale * masked_sum)
}

/// 20 terms of `sin`, `exp` and products of 4 variables.
#[differentiate]
fn scalar(a: f64, b: f64, c: f64, d: f64) -> f64 {
    a.sin() * b
        + (b * c).exp()
        + c.sin() * d
        + (d * a).exp()
        + a * b * c
        + (a * d).sin()
        + a.exp() * b.sin()
        + c * d.exp()
        + (b * d).sin() * a
        + c.exp() * a * d
        + (c * a).sin() * b
        + b.exp() * d
        + b * c * d
        + d.sin() * c.exp()
        + (a * b * c).exp()
        + a.sin() * c.sin()
        + a * (b * d).exp()
        + b.sin() * c * d
        + d.exp() * (a * c).sin()
        + a * b * c * d
}

/// The gradient of [`scalar`] by hand: each `sin`, `cos` and `exp` once, then
/// the partial derivatives term by term.
fn scalar_by_hand(a: f64, b: f64, c: f64, d: f64) -> (f64, f64, f64, f64, f64) {
    let (ab, ac, ad, bc, bd, cd) = (a * b, a * c, a * d, b * c, b * d, c * d);
    let (sin_a, cos_a) = a.sin_cos();
    let (sin_b, cos_b) = b.sin_cos();
    let (sin_c, cos_c) = c.sin_cos();
    let (sin_d, cos_d) = d.sin_cos();
    let (sin_ad, cos_ad) = ad.sin_cos();
    let (sin_bd, cos_bd) = bd.sin_cos();
    let (sin_ac, cos_ac) = ac.sin_cos();
    let (exp_a, exp_b, exp_c, exp_d) = (a.exp(), b.exp(), c.exp(), d.exp());
    let (exp_bc, exp_ad, exp_bd, exp_abc) = (bc.exp(), ad.exp(), bd.exp(), (ab * c).exp());

    let value = sin_a * b
        + exp_bc
        + sin_c * d
        + exp_ad
        + ab * c
        + sin_ad
        + exp_a * sin_b
        + c * exp_d
        + sin_bd * a
        + exp_c * ad
        + sin_ac * b
        + exp_b * d
        + bc * d
        + sin_d * exp_c
        + exp_abc
        + sin_a * sin_c
        + a * exp_bd
        + sin_b * cd
        + exp_d * sin_ac
        + ab * cd;
    let da = cos_a * b
        + d * exp_ad
        + bc
        + d * cos_ad
        + exp_a * sin_b
        + sin_bd
        + exp_c * d
        + bc * cos_ac
        + bc * exp_abc
        + cos_a * sin_c
        + exp_bd
        + exp_d * c * cos_ac
        + bc * d;
    let db = sin_a
        + c * exp_bc
        + ac
        + exp_a * cos_b
        + ad * cos_bd
        + sin_ac
        + exp_b * d
        + cd
        + ac * exp_abc
        + ad * exp_bd
        + cos_b * cd
        + ac * d;
    let dc = b * exp_bc
        + cos_c * d
        + ab
        + exp_d
        + exp_c * ad
        + ab * cos_ac
        + bd
        + sin_d * exp_c
        + ab * exp_abc
        + sin_a * cos_c
        + sin_b * d
        + exp_d * a * cos_ac
        + ab * d;
    let dd = sin_c
        + a * exp_ad
        + a * cos_ad
        + c * exp_d
        + ab * cos_bd
        + exp_c * a
        + exp_b
        + bc
        + cos_d * exp_c
        + ab * exp_bd
        + sin_b * c
        + exp_d * sin_ac
        + ab * c;
    (value, da, db, dc, dd)
}

// ----- data -------------------------------------------------------------------

/// SplitMix64: a tiny deterministic generator for the data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// N samples of d features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Size {
    n: usize,
    d: usize,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.n, self.d)
    }
}

const SMALL: Size = Size { n: 1_000, d: 100 };
const LARGE: Size = Size { n: 10_000, d: 100 };
const SIZES: [Size; 2] = [SMALL, LARGE];

/// The point and data at which every matrix function is evaluated.
struct Problem {
    x: Mat<f64>,
    /// Targets of the least-squares problem: Xw* + noise.
    y_linear: Col<f64>,
    /// Targets of the neuron: relu(Xw* + b*) + noise.
    y_relu: Col<f64>,
    w: Col<f64>,
    b: f64,
}

impl Problem {
    fn new(size: Size) -> Self {
        let Size { n, d } = size;
        let mut rng = Rng(0x00c0_ffee ^ n as u64);
        let x = Mat::from_fn(n, d, |_, _| rng.uniform(-1.0, 1.0));
        let w_true = Col::from_fn(d, |_| rng.uniform(-0.5, 0.5));
        let b_true = 0.1;
        let xw = &x * &w_true;
        let y_linear = Col::from_fn(n, |i| xw[i] + rng.uniform(-0.1, 0.1));
        let y_relu = Col::from_fn(n, |i| (xw[i] + b_true).max(0.0) + rng.uniform(-0.1, 0.1));
        // Away from the optimum, with about half the units active.
        let w = Col::from_fn(d, |j| 0.5 * w_true[j] + rng.uniform(-0.1, 0.1));
        Self {
            x,
            y_linear,
            y_relu,
            w,
            b: 0.05,
        }
    }
}

static PROBLEMS: LazyLock<Vec<(Size, Problem)>> =
    LazyLock::new(|| SIZES.iter().map(|&size| (size, Problem::new(size))).collect());

fn problem(size: Size) -> &'static Problem {
    &PROBLEMS.iter().find(|(s, _)| *s == size).expect("a benchmarked size").1
}

/// The point at which [`scalar`] is evaluated.
const POINT: (f64, f64, f64, f64) = (0.3, -0.7, 0.5, 0.9);

// ----- finite differences -----------------------------------------------------

/// ∇L by central differences: 2d evaluations of L.
fn least_squares_fd(w: &Col<f64>, x: &Mat<f64>, y: &Col<f64>) -> Vec<f64> {
    fd::central_gradient(|v| least_squares(&fd::from_vec_like(w, v), x, y), &fd::to_vec(w))
}

/// (∇_w C, ∂C/∂b) by central differences: 2(d + 1) evaluations of C.
fn neuron_fd(w: &Col<f64>, b: f64, x: &Mat<f64>, y: &Col<f64>) -> Vec<f64> {
    let d = w.nrows();
    let mut point = fd::to_vec(w);
    point.push(b);
    fd::central_gradient(|v| neuron(&fd::from_vec_like(w, &v[..d]), v[d], x, y), &point)
}

fn scalar_fd(a: f64, b: f64, c: f64, d: f64) -> Vec<f64> {
    fd::central_gradient(|v| scalar(v[0], v[1], v[2], v[3]), &[a, b, c, d])
}

// ----- checks -----------------------------------------------------------------

/// ‖g − h‖∞ / ‖h‖∞.
fn relative_error(g: &[f64], h: &[f64]) -> f64 {
    assert_eq!(g.len(), h.len());
    let scale = h.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let diff = g.iter().zip(h).fold(0.0_f64, |m, (g, h)| m.max((g - h).abs()));
    diff / scale.max(f64::MIN_POSITIVE)
}

fn assert_close(what: &str, generated: &[f64], reference: &[f64], tolerance: f64) {
    let error = relative_error(generated, reference);
    assert!(
        error <= tolerance,
        "{what}: generated and reference gradients differ, relative error {error:e} > {tolerance:e}"
    );
}

/// Generated gradients against hand-written ones (1e-10) and finite
/// differences (1e-6), values against the primal, at every size.
fn verify() {
    for size in SIZES {
        let p = problem(size);

        let (loss, grad) = least_squares_grad(&p.w, &p.x, &p.y_linear);
        let (loss_hand, grad_hand) = least_squares_by_hand(&p.w, &p.x, &p.y_linear);
        let primal = least_squares(&p.w, &p.x, &p.y_linear);
        assert_close(
            &format!("least squares {size}, value"),
            &[loss, loss_hand],
            &[primal, primal],
            1e-12,
        );
        assert_close(
            &format!("least squares {size}"),
            &fd::to_vec(&grad),
            &fd::to_vec(&grad_hand),
            1e-10,
        );

        let (cost, grad_w, grad_b) = neuron_grad(&p.w, p.b, &p.x, &p.y_relu);
        let (cost_hand, grad_w_hand, grad_b_hand) = neuron_by_hand(&p.w, p.b, &p.x, &p.y_relu);
        let primal = neuron(&p.w, p.b, &p.x, &p.y_relu);
        assert_close(
            &format!("neuron {size}, value"),
            &[cost, cost_hand],
            &[primal, primal],
            1e-12,
        );
        let mut generated = fd::to_vec(&grad_w);
        generated.push(grad_b);
        let mut by_hand = fd::to_vec(&grad_w_hand);
        by_hand.push(grad_b_hand);
        assert_close(&format!("neuron {size}"), &generated, &by_hand, 1e-10);
        let xw = &p.x * &p.w;
        let active = (0..size.n).filter(|&i| xw[i] + p.b > 0.0).count();
        assert!(
            active > size.n / 5 && active < size.n * 4 / 5,
            "neuron {size}: {active} of {} units active, the mask should be mixed",
            size.n
        );

        if size == SMALL {
            assert_close(
                "least squares, finite differences",
                &fd::to_vec(&grad),
                &least_squares_fd(&p.w, &p.x, &p.y_linear),
                1e-6,
            );
            assert_close(
                "neuron, finite differences",
                &generated,
                &neuron_fd(&p.w, p.b, &p.x, &p.y_relu),
                1e-6,
            );
        }
    }

    let (a, b, c, d) = POINT;
    let (value, da, db, dc, dd) = scalar_grad(a, b, c, d);
    let (value_hand, da_hand, db_hand, dc_hand, dd_hand) = scalar_by_hand(a, b, c, d);
    let primal = scalar(a, b, c, d);
    assert_close("scalar, value", &[value, value_hand], &[primal, primal], 1e-12);
    assert_close(
        "scalar",
        &[da, db, dc, dd],
        &[da_hand, db_hand, dc_hand, dd_hand],
        1e-10,
    );
    assert_close(
        "scalar, finite differences",
        &[da, db, dc, dd],
        &scalar_fd(a, b, c, d),
        1e-6,
    );
}

// ----- the ratio table --------------------------------------------------------

/// The least time of one batch, with as many calls as that takes.
const BATCH_TIME: Duration = Duration::from_millis(10);

/// One line of the table.
struct Line {
    workload: &'static str,
    size: String,
    primal: Duration,
    generated: Duration,
    by_hand: Duration,
    finite_differences: Option<Duration>,
}

/// Times the primal, the generated gradient, the hand-written one and (when
/// given) finite differences of one workload at one size.
fn line<'a>(
    workload: &'static str,
    size: String,
    primal: &'a mut dyn FnMut(),
    generated: &'a mut dyn FnMut(),
    by_hand: &'a mut dyn FnMut(),
    finite_differences: Option<&'a mut dyn FnMut()>,
) -> Line {
    let mut closures: Vec<&'a mut dyn FnMut()> = vec![primal, generated, by_hand];
    let with_fd = finite_differences.is_some();
    closures.extend(finite_differences);
    let times = median_times(&mut closures, BATCH_TIME);
    Line {
        workload,
        size,
        primal: times[0],
        generated: times[1],
        by_hand: times[2],
        finite_differences: with_fd.then(|| times[3]),
    }
}

fn measure() -> Vec<Line> {
    let mut lines = Vec::new();
    for size in SIZES {
        let p = problem(size);
        let (w, x, y) = (&p.w, &p.x, &p.y_linear);
        let mut fd = || {
            black_box(least_squares_fd(black_box(w), black_box(x), black_box(y)));
        };
        lines.push(line(
            "least squares ‖Xw − y‖²",
            format!("{} × {}", size.n, size.d),
            &mut || {
                black_box(least_squares(black_box(w), black_box(x), black_box(y)));
            },
            &mut || {
                black_box(least_squares_grad(black_box(w), black_box(x), black_box(y)));
            },
            &mut || {
                black_box(least_squares_by_hand(black_box(w), black_box(x), black_box(y)));
            },
            (size == SMALL).then_some(&mut fd as &mut dyn FnMut()),
        ));
    }
    for size in SIZES {
        let p = problem(size);
        let (w, b, x, y) = (&p.w, p.b, &p.x, &p.y_relu);
        let mut fd = || {
            black_box(neuron_fd(black_box(w), black_box(b), black_box(x), black_box(y)));
        };
        lines.push(line(
            "ReLU neuron (1/N)‖y − relu(Xw + b)‖²",
            format!("{} × {}", size.n, size.d),
            &mut || {
                black_box(neuron(black_box(w), black_box(b), black_box(x), black_box(y)));
            },
            &mut || {
                black_box(neuron_grad(black_box(w), black_box(b), black_box(x), black_box(y)));
            },
            &mut || {
                black_box(neuron_by_hand(black_box(w), black_box(b), black_box(x), black_box(y)));
            },
            (size == SMALL).then_some(&mut fd as &mut dyn FnMut()),
        ));
    }
    let (a, b, c, d) = POINT;
    let args = || (black_box(a), black_box(b), black_box(c), black_box(d));
    lines.push(line(
        "scalar, 20 terms of sin/exp/·",
        "4 f64".to_owned(),
        &mut || {
            let (a, b, c, d) = args();
            black_box(scalar(a, b, c, d));
        },
        &mut || {
            let (a, b, c, d) = args();
            black_box(scalar_grad(a, b, c, d));
        },
        &mut || {
            let (a, b, c, d) = args();
            black_box(scalar_by_hand(a, b, c, d));
        },
        Some(&mut || {
            let (a, b, c, d) = args();
            black_box(scalar_fd(a, b, c, d));
        }),
    ));
    lines
}

fn markdown(lines: &[Line]) -> String {
    let mut table = String::from(
        "| workload | N × d | primal | generated `_grad` | hand-written | central FD | generated ÷ primal | \
         generated ÷ hand-written |\n|---|---|--:|--:|--:|--:|--:|--:|\n",
    );
    for l in lines {
        let fd = l.finite_differences.map_or_else(|| "—".to_owned(), format_time);
        table += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            l.workload,
            l.size,
            format_time(l.primal),
            format_time(l.generated),
            format_time(l.by_hand),
            fd,
            ratio(l.generated, l.primal),
            ratio(l.generated, l.by_hand),
        );
    }
    table += &format!(
        "\nMedian {} per call over {BATCHES} interleaved batches of at least {} ms each, one thread. \
         The gradients return the value too. Central FD: 2d evaluations of the primal (2(d + 1) for the neuron), \
         at the small size only.\n",
        clock_name(),
        BATCH_TIME.as_millis()
    );
    table
}

fn main() {
    verify();

    let table_only = env_flag("CHAINRULE_BENCH_TABLE_ONLY");
    // `cargo bench` passes `--bench`; `cargo test` runs this binary without it
    // (divan then runs every benchmark once, as a test) and needs no table.
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");

    if table_only || (benchmarking && !env_flag("CHAINRULE_BENCH_NO_TABLE")) {
        let table = markdown(&measure());
        println!("{table}");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-table.md");
        let written = std::fs::create_dir_all(path.parent().expect("a directory"))
            .and_then(|()| std::fs::File::create(&path))
            .and_then(|mut file| file.write_all(table.as_bytes()));
        match written {
            Ok(()) => println!("(written to {})\n", path.display()),
            Err(error) => eprintln!("could not write {}: {error}", path.display()),
        }
    }
    if !table_only {
        divan::main();
    }
}

// ----- divan --------------------------------------------------------------------

mod least_squares {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn primal(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| least_squares(black_box(&p.w), black_box(&p.x), black_box(&p.y_linear)));
    }

    #[divan::bench(args = SIZES)]
    fn generated(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| least_squares_grad(black_box(&p.w), black_box(&p.x), black_box(&p.y_linear)));
    }

    #[divan::bench(args = SIZES)]
    fn by_hand(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| least_squares_by_hand(black_box(&p.w), black_box(&p.x), black_box(&p.y_linear)));
    }

    #[divan::bench(args = [SMALL])]
    fn finite_differences(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| least_squares_fd(black_box(&p.w), black_box(&p.x), black_box(&p.y_linear)));
    }
}

mod relu_neuron {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn primal(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| neuron(black_box(&p.w), black_box(p.b), black_box(&p.x), black_box(&p.y_relu)));
    }

    #[divan::bench(args = SIZES)]
    fn generated(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| neuron_grad(black_box(&p.w), black_box(p.b), black_box(&p.x), black_box(&p.y_relu)));
    }

    #[divan::bench(args = SIZES)]
    fn by_hand(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| neuron_by_hand(black_box(&p.w), black_box(p.b), black_box(&p.x), black_box(&p.y_relu)));
    }

    #[divan::bench(args = [SMALL])]
    fn finite_differences(bencher: Bencher, size: Size) {
        let p = problem(size);
        bencher.bench_local(|| neuron_fd(black_box(&p.w), black_box(p.b), black_box(&p.x), black_box(&p.y_relu)));
    }
}

mod scalar_20_terms {
    use super::*;

    fn point() -> (f64, f64, f64, f64) {
        let (a, b, c, d) = POINT;
        (black_box(a), black_box(b), black_box(c), black_box(d))
    }

    #[divan::bench(sample_size = 1000)]
    fn primal() -> f64 {
        let (a, b, c, d) = point();
        scalar(a, b, c, d)
    }

    #[divan::bench(sample_size = 1000)]
    fn generated() -> (f64, f64, f64, f64, f64) {
        let (a, b, c, d) = point();
        scalar_grad(a, b, c, d)
    }

    #[divan::bench(sample_size = 1000)]
    fn by_hand() -> (f64, f64, f64, f64, f64) {
        let (a, b, c, d) = point();
        scalar_by_hand(a, b, c, d)
    }

    #[divan::bench(sample_size = 1000)]
    fn finite_differences() -> Vec<f64> {
        let (a, b, c, d) = point();
        scalar_fd(a, b, c, d)
    }
}
