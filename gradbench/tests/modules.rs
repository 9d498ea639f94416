//! Each module's functions against an independent plain implementation
//! written here, and each generated gradient against central finite
//! differences (`chainrule::fd::check_gradient`) and, where one is simple,
//! against the derivative worked out by hand.

// The reference implementations index their arrays as the formulas do.
#![allow(clippy::needless_range_loop)]

use chainrule::fd;
use chainrule_gradbench::modules::{det, gmm, hello, llsq, lse, ode};
use chainrule_gradbench::rng::Rng;
use faer::{Col, Mat};

/// Worst relative error allowed against central differences.
const FD_TOLERANCE: f64 = 1e-6;

#[track_caller]
fn assert_close(a: f64, b: f64, tolerance: f64) {
    let error = (a - b).abs() / a.abs().max(b.abs()).max(1.0);
    assert!(
        error <= tolerance,
        "{a:e} vs {b:e}: relative error {error:e} > {tolerance:e}"
    );
}

#[track_caller]
fn assert_all_close(a: &[f64], b: &[f64], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let error = (x - y).abs() / x.abs().max(y.abs()).max(1.0);
        assert!(
            error <= tolerance,
            "entry {i}: {x:e} vs {y:e}: relative error {error:e}"
        );
    }
}

// ----- hello --------------------------------------------------------------------

#[test]
fn hello_square_and_its_derivative() {
    for x in [-3.0, 0.0, 1.5, 128.0] {
        assert_eq!(hello::square(x), x * x);
        assert_eq!(hello::double(x), 2.0 * x);
    }
}

// ----- lse -------------------------------------------------------------------------

/// ln Σ exp(xᵢ), directly (fine for small |xᵢ|).
fn naive_lse(x: &[f64]) -> f64 {
    x.iter().map(|v| v.exp()).sum::<f64>().ln()
}

#[test]
fn lse_value_and_gradient() {
    let mut rng = Rng::new(1);
    for n in [1, 2, 7, 50] {
        let x: Vec<f64> = (0..n).map(|_| 4.0 * rng.uniform() - 2.0).collect();
        assert_close(lse::logsumexp(&x), naive_lse(&x), 1e-14);
        let (value, gradient) = lse::logsumexp_grad(&x);
        assert_close(value, naive_lse(&x), 1e-14);
        // The gradient is the softmax.
        let total: f64 = x.iter().map(|v| v.exp()).sum();
        let softmax: Vec<f64> = x.iter().map(|v| v.exp() / total).collect();
        assert_all_close(&gradient, &softmax, 1e-14);
        fd::check_gradient(lse::logsumexp, &x, &gradient).assert_within(FD_TOLERANCE);
    }
}

#[test]
fn lse_is_stable_for_large_values() {
    let x = [1000.0, 1000.0, 990.0];
    let expected = 1000.0 + (2.0 + (-10.0_f64).exp()).ln();
    assert_close(lse::logsumexp(&x), expected, 1e-15);
    let (_, gradient) = lse::logsumexp_grad(&x);
    assert!(gradient.iter().all(|g| g.is_finite()));
    assert_close(gradient.iter().sum(), 1.0, 1e-15);
}

// ----- llsq ------------------------------------------------------------------------

/// The C++ reference's loop: powers of tᵢ by `pow`.
fn reference_llsq(x: &[f64], n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let ti = -1.0 + i as f64 * 2.0 / (n as f64 - 1.0);
        let mut inner = (if ti > 0.0 { 1.0 } else { 0.0 }) - (if ti < 0.0 { 1.0 } else { 0.0 });
        for (j, xj) in x.iter().enumerate() {
            inner -= xj * ti.powi(j as i32);
        }
        sum += inner * inner;
    }
    sum / 2.0
}

#[test]
fn llsq_value_and_gradient() {
    let mut rng = Rng::new(2);
    for (n, m) in [(2, 1), (5, 3), (16, 8), (33, 12)] {
        let x = rng.uniform_vec(m);
        assert_close(llsq::llsq(&x, n), reference_llsq(&x, n), 1e-12);
        let (value, gradient) = llsq::llsq_grad(&x, n);
        assert_close(value, reference_llsq(&x, n), 1e-12);
        // ∂/∂xⱼ = −Σᵢ rᵢ tᵢʲ with rᵢ = sᵢ − Σₖ xₖ tᵢᵏ.
        let expected: Vec<f64> = (0..m)
            .map(|j| {
                (0..n)
                    .map(|i| {
                        let ti = llsq::t(i, n);
                        let r = llsq::s(ti) - x.iter().enumerate().map(|(k, xk)| xk * ti.powi(k as i32)).sum::<f64>();
                        -r * ti.powi(j as i32)
                    })
                    .sum()
            })
            .collect();
        assert_all_close(&gradient, &expected, 1e-12);
        fd::check_gradient(|p| llsq::llsq(p, n), &x, &gradient).assert_within(FD_TOLERANCE);
    }
}

#[test]
fn llsq_targets_are_signs_with_zero_at_zero() {
    assert_eq!(llsq::t(2, 5), 0.0);
    assert_eq!((llsq::s(-0.5), llsq::s(0.0), llsq::s(0.25)), (-1.0, 0.0, 1.0));
    // With x = 0 the residuals are the targets: ½ Σ sᵢ² = ½ (n − 1) for odd n.
    assert_eq!(llsq::llsq(&[0.0, 0.0], 5), 2.0);
}

// ----- gmm -------------------------------------------------------------------------

struct GmmCase {
    d: usize,
    k: usize,
    n: usize,
    m: usize,
    gamma: f64,
    x: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    mu: Vec<Vec<f64>>,
    q: Vec<Vec<f64>>,
    l: Vec<Vec<f64>>,
}

impl GmmCase {
    fn random(rng: &mut Rng, d: usize, k: usize, n: usize, m: usize, gamma: f64) -> Self {
        let rows = |rng: &mut Rng, count: usize, width: usize, scale: f64| -> Vec<Vec<f64>> {
            (0..count)
                .map(|_| rng.normal_vec(width).iter().map(|v| scale * v).collect())
                .collect()
        };
        GmmCase {
            d,
            k,
            n,
            m,
            gamma,
            x: rows(rng, n, d, 1.0),
            alpha: rng.normal_vec(k),
            mu: (0..k).map(|_| rng.uniform_vec(d)).collect(),
            q: rows(rng, k, d, 0.5),
            l: rows(rng, k, d * (d - 1) / 2, 0.5),
        }
    }

    /// The input as the eval sends it, with one run asked for.
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "d": self.d, "k": self.k, "n": self.n, "m": self.m, "gamma": self.gamma,
            "x": self.x, "alpha": self.alpha, "mu": self.mu, "q": self.q, "l": self.l,
            "min_runs": 1, "min_seconds": 0,
        })
    }

    fn input(&self) -> gmm::Input {
        gmm::Input::from_raw(serde_json::from_value(self.json()).unwrap())
            .unwrap()
            .0
    }

    /// alpha, mu, q, l flattened (rows in order).
    fn parameters(&self) -> Vec<f64> {
        let mut p = self.alpha.clone();
        for rows in [&self.mu, &self.q, &self.l] {
            p.extend(rows.iter().flatten());
        }
        p
    }

    fn with_parameters(&self, p: &[f64]) -> GmmCase {
        let (d, k) = (self.d, self.k);
        let lsize = d * (d - 1) / 2;
        let take = |offset: usize, width: usize| -> Vec<Vec<f64>> {
            (0..k)
                .map(|i| p[offset + i * width..offset + (i + 1) * width].to_vec())
                .collect()
        };
        GmmCase {
            alpha: p[..k].to_vec(),
            mu: take(k, d),
            q: take(k + k * d, d),
            l: take(k + 2 * k * d, lsize),
            x: self.x.clone(),
            ..*self
        }
    }

    /// Q_k as a dense matrix: diagonal exp(q), strict lower part from l
    /// column by column.
    fn q_matrix(&self, k: usize) -> Vec<Vec<f64>> {
        let d = self.d;
        let mut q = vec![vec![0.0; d]; d];
        let mut next = 0;
        for c in 0..d {
            q[c][c] = self.q[k][c].exp();
            for row in q.iter_mut().skip(c + 1) {
                row[c] = self.l[k][next];
                next += 1;
            }
        }
        q
    }

    /// The log posterior written directly from its definition.
    fn naive_objective(&self) -> f64 {
        let (d, kk, n) = (self.d, self.k, self.n);
        let lse = |v: &[f64]| {
            let top = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            top + v.iter().map(|x| (x - top).exp()).sum::<f64>().ln()
        };
        let qs: Vec<_> = (0..kk).map(|k| self.q_matrix(k)).collect();
        let mut total = -(n as f64) * d as f64 / 2.0 * (2.0 * std::f64::consts::PI).ln() - n as f64 * lse(&self.alpha);
        for x in &self.x {
            let beta: Vec<f64> = (0..kk)
                .map(|k| {
                    let y: Vec<f64> = (0..d).map(|j| x[j] - self.mu[k][j]).collect();
                    let z2: f64 = (0..d)
                        .map(|r| (0..d).map(|c| qs[k][r][c] * y[c]).sum::<f64>().powi(2))
                        .sum();
                    self.alpha[k] + self.q[k].iter().sum::<f64>() - 0.5 * z2
                })
                .collect();
            total += lse(&beta);
        }
        let nw = (d + self.m + 1) as f64;
        let log_gamma_d = 0.25 * (d * (d - 1)) as f64 * std::f64::consts::PI.ln()
            + (1..=d)
                .map(|j| ln_gamma_by_recurrence(nw / 2.0 + (1.0 - j as f64) / 2.0))
                .sum::<f64>();
        let c = nw * d as f64 * (self.gamma / 2f64.sqrt()).ln() - log_gamma_d;
        for k in 0..kk {
            let frobenius: f64 =
                self.q[k].iter().map(|v| (2.0 * v).exp()).sum::<f64>() + self.l[k].iter().map(|v| v * v).sum::<f64>();
            total += c - self.gamma * self.gamma / 2.0 * frobenius + self.m as f64 * self.q[k].iter().sum::<f64>();
        }
        total
    }

    /// The hand derivation of GRADBENCH.md, flattened like `parameters`.
    fn hand_gradient(&self) -> Vec<f64> {
        let (d, kk, n) = (self.d, self.k, self.n);
        let qs: Vec<_> = (0..kk).map(|k| self.q_matrix(k)).collect();
        let mut g_alpha = vec![0.0; kk];
        let mut g_mu = vec![vec![0.0; d]; kk];
        let mut g_q = vec![vec![0.0; d]; kk];
        let mut g_l = vec![vec![0.0; d * (d - 1) / 2]; kk];
        for x in &self.x {
            let mut ys = Vec::new();
            let mut zs = Vec::new();
            let mut beta = Vec::new();
            for k in 0..kk {
                let y: Vec<f64> = (0..d).map(|j| x[j] - self.mu[k][j]).collect();
                let z: Vec<f64> = (0..d).map(|r| (0..d).map(|c| qs[k][r][c] * y[c]).sum()).collect();
                beta.push(self.alpha[k] + self.q[k].iter().sum::<f64>() - 0.5 * z.iter().map(|v| v * v).sum::<f64>());
                ys.push(y);
                zs.push(z);
            }
            let top = beta.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = beta.iter().map(|b| (b - top).exp()).sum();
            for k in 0..kk {
                let w = (beta[k] - top).exp() / total;
                g_alpha[k] += w;
                for c in 0..d {
                    g_mu[k][c] += w * (0..d).map(|r| qs[k][r][c] * zs[k][r]).sum::<f64>();
                    g_q[k][c] += w * (1.0 - zs[k][c] * ys[k][c] * self.q[k][c].exp());
                }
                let mut next = 0;
                for c in 0..d {
                    for r in c + 1..d {
                        g_l[k][next] -= w * zs[k][r] * ys[k][c];
                        next += 1;
                    }
                }
            }
        }
        let total_alpha: f64 = self.alpha.iter().map(|a| a.exp()).sum();
        let g2 = self.gamma * self.gamma;
        for k in 0..kk {
            g_alpha[k] -= n as f64 * self.alpha[k].exp() / total_alpha;
            for c in 0..d {
                g_q[k][c] += -g2 * (2.0 * self.q[k][c]).exp() + self.m as f64;
            }
            for (g, l) in g_l[k].iter_mut().zip(&self.l[k]) {
                *g -= g2 * l;
            }
        }
        let mut out = g_alpha;
        for rows in [g_mu, g_q, g_l] {
            out.extend(rows.into_iter().flatten());
        }
        out
    }
}

/// ln Γ(x) for x a positive multiple of ½, exactly by the recurrence from
/// Γ(1) = 1 and Γ(½) = √π (independent of the module's Lanczos formula).
fn ln_gamma_by_recurrence(x: f64) -> f64 {
    let (mut value, mut start) = if (x - x.round()).abs() < 1e-12 {
        (0.0, 1.0)
    } else {
        (0.5 * std::f64::consts::PI.ln(), 0.5)
    };
    while start < x - 1e-12 {
        value += start.ln();
        start += 1.0;
    }
    value
}

fn flatten(g: &(f64, Col<f64>, Mat<f64>, Mat<f64>, Mat<f64>)) -> Vec<f64> {
    let mut out: Vec<f64> = g.1.iter().copied().collect();
    // mu, q and l have a column per component; the case's rows are components.
    for a in [&g.2, &g.3, &g.4] {
        for k in 0..a.ncols() {
            out.extend(a.col(k).iter().copied());
        }
    }
    out
}

#[test]
fn gmm_log_gamma() {
    for x in [0.5, 1.0, 1.5, 2.0, 3.5, 7.0, 33.5] {
        assert_close(gmm::ln_gamma(x), ln_gamma_by_recurrence(x), 1e-14);
    }
}

#[test]
fn gmm_objective_and_gradient() {
    let mut rng = Rng::new(3);
    for (d, k, n, m, gamma) in [
        (1, 1, 1, 0, 1.0),
        (2, 3, 5, 0, 1.0),
        (3, 2, 4, 2, 0.7),
        (4, 3, 6, 1, 1.3),
    ] {
        let case = GmmCase::random(&mut rng, d, k, n, m, gamma);
        let input = case.input();
        let naive = case.naive_objective();
        assert_close(input.objective(), naive, 1e-12);
        let gradient = input.gradient();
        assert_close(gradient.0, naive, 1e-12);
        let flat = flatten(&gradient);
        assert_all_close(&flat, &case.hand_gradient(), 1e-10);
        let objective = |p: &[f64]| case.with_parameters(p).input().objective();
        fd::check_gradient(objective, &case.parameters(), &flat).assert_within(FD_TOLERANCE);
    }
}

#[test]
fn gmm_workload_sized_case_matches_the_hand_derivation() {
    let mut rng = Rng::new(4);
    let case = GmmCase::random(&mut rng, 10, 5, 40, 0, 1.0);
    let input = case.input();
    assert_close(input.objective(), case.naive_objective(), 1e-12);
    assert_all_close(&flatten(&input.gradient()), &case.hand_gradient(), 1e-9);
}

#[test]
fn gmm_jacobian_reply_nests_each_derivative_where_its_parameter_was() {
    let mut rng = Rng::new(6);
    // d = K, so that a reply with components and coordinates swapped would
    // still have the input's shape.
    let case = GmmCase::random(&mut rng, 3, 3, 5, 1, 1.0);
    let reply = (gmm::MODULE.evaluate)("jacobian", case.json()).unwrap().output;
    let numbers =
        |v: &serde_json::Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    let mut flat = numbers(&reply["alpha"]);
    for key in ["mu", "q", "l"] {
        for row in reply[key].as_array().unwrap() {
            flat.extend(numbers(row));
        }
    }
    assert_all_close(&flat, &case.hand_gradient(), 1e-10);
}

// ----- ode -------------------------------------------------------------------------

/// The C++ reference: whole-vector stages k1..k4 and a temporary.
fn reference_ode(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let h = 2.0 / s as f64;
    let f = |y: &[f64]| -> Vec<f64> { (0..n).map(|i| if i == 0 { x[0] } else { x[i] * y[i - 1] }).collect() };
    let mut y = vec![0.0; n];
    for _ in 0..s {
        let k1 = f(&y);
        let k2 = f(&(0..n).map(|i| y[i] + h * k1[i] / 2.0).collect::<Vec<_>>());
        let k3 = f(&(0..n).map(|i| y[i] + h * k2[i] / 2.0).collect::<Vec<_>>());
        let k4 = f(&(0..n).map(|i| y[i] + h * k3[i]).collect::<Vec<_>>());
        for i in 0..n {
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
    }
    y
}

#[test]
fn ode_value_and_gradient() {
    let mut rng = Rng::new(5);
    for (n, s) in [(1, 1), (2, 1), (5, 3), (12, 10), (30, 4)] {
        let x = rng.uniform_vec(n);
        let y: Vec<f64> = ode::ode(&x, s).iter().copied().collect();
        assert_all_close(&y, &reference_ode(&x, s), 1e-14);
        let gradient = ode::ode_gradient(&x, s);
        let last = |p: &[f64]| reference_ode(p, s)[n - 1];
        fd::check_gradient(last, &x, &gradient).assert_within(FD_TOLERANCE);
    }
}

#[test]
fn ode_matches_the_exact_solution_where_rk4_is_exact() {
    // y₀ = x₀t, y₁ = x₀x₁t²/2, y₂ = x₀x₁x₂t³/6: polynomials of degree ≤ 4
    // that RK4 integrates exactly.
    let x = [0.3, 0.7, 0.9];
    let y = ode::ode(&x, 1);
    assert_close(y[0], 0.6, 1e-15);
    assert_close(y[1], 0.3 * 0.7 * 2.0, 1e-15);
    assert_close(y[2], 0.3 * 0.7 * 0.9 * 8.0 / 6.0, 1e-15);
    // ∂y₂/∂x = y₂/xᵢ.
    let gradient = ode::ode_gradient(&x, 1);
    assert_all_close(&gradient, &x.map(|xi| y[2] / xi), 1e-14);
}

// ----- det -------------------------------------------------------------------------

/// The determinant by Gaussian elimination with partial pivoting.
fn lu_det(a: &[f64], ell: usize) -> f64 {
    let mut m = a.to_vec();
    let mut det = 1.0;
    for c in 0..ell {
        let pivot = (c..ell)
            .max_by(|&i, &j| m[i * ell + c].abs().total_cmp(&m[j * ell + c].abs()))
            .unwrap();
        if pivot != c {
            for j in 0..ell {
                m.swap(c * ell + j, pivot * ell + j);
            }
            det = -det;
        }
        let p = m[c * ell + c];
        det *= p;
        if p == 0.0 {
            return 0.0;
        }
        for i in c + 1..ell {
            let factor = m[i * ell + c] / p;
            for j in c..ell {
                m[i * ell + j] -= factor * m[c * ell + j];
            }
        }
    }
    det
}

/// The cofactor matrix, each cofactor by elimination on the minor.
fn cofactors(a: &[f64], ell: usize) -> Vec<f64> {
    let mut out = vec![0.0; ell * ell];
    for i in 0..ell {
        for j in 0..ell {
            let minor: Vec<f64> = (0..ell)
                .filter(|&r| r != i)
                .flat_map(|r| (0..ell).filter(move |&c| c != j).map(move |c| a[r * ell + c]))
                .collect();
            let sign = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
            out[i * ell + j] = sign * if ell == 1 { 1.0 } else { lu_det(&minor, ell - 1) };
        }
    }
    out
}

#[test]
fn det_value_and_gradient() {
    let mut rng = Rng::new(6);
    for ell in 1..=8 {
        let a: Vec<f64> = (0..ell * ell).map(|_| rng.uniform()).collect();
        assert_close(det::det_value(&a, ell), lu_det(&a, ell), 1e-11);
        let gradient = det::det_gradient(&a, ell);
        assert_all_close(&gradient, &cofactors(&a, ell), 1e-11);
        if ell <= 6 {
            fd::check_gradient(|p| det::det_value(p, ell), &a, &gradient).assert_within(FD_TOLERANCE);
        }
    }
}

#[test]
fn det_of_known_matrices() {
    // A permutation matrix's determinant is its sign.
    let ell = 6;
    let permutation = [2, 0, 1, 5, 3, 4]; // two 3-cycles: even
    let mut a = vec![0.0; ell * ell];
    for (i, &j) in permutation.iter().enumerate() {
        a[i * ell + j] = 1.0;
    }
    assert_eq!(det::det_value(&a, ell), 1.0);
    // A transposition is odd.
    let mut b = vec![0.0; ell * ell];
    for (i, j) in [1, 0, 2, 3, 4, 5].iter().enumerate() {
        b[i * ell + j] = 1.0;
    }
    assert_eq!(det::det_value(&b, ell), -1.0);
    // diag(1..ℓ): ℓ!, with gradient ℓ!/aᵢᵢ on the diagonal.
    let ell = 7;
    let a: Vec<f64> = (0..ell * ell)
        .map(|k| if k % (ell + 1) == 0 { (k / ell + 1) as f64 } else { 0.0 })
        .collect();
    assert_eq!(det::det_value(&a, ell), 5040.0);
    let gradient = det::det_gradient(&a, ell);
    for i in 0..ell {
        assert_eq!(gradient[i * ell + i], 5040.0 / (i + 1) as f64);
    }
}

#[test]
fn det_enumerates_every_choice_of_columns_once() {
    for ell in 5..=9 {
        let mut cols = det::first_prefix(ell);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..det::prefix_count(ell) {
            let prefix = cols[..ell - det::BLOCK].to_vec();
            let mut rest = cols[ell - det::BLOCK..ell].to_vec();
            assert!(rest.windows(2).all(|w| w[0] < w[1]), "the last five increase: {cols:?}");
            rest.extend(&prefix);
            rest.sort_unstable();
            assert_eq!(rest, (0..ell as u8).collect::<Vec<_>>(), "a permutation: {cols:?}");
            assert!(seen.insert(prefix), "each prefix once");
            cols = det::next_prefix(cols, ell);
        }
    }
}
