//! The Gaussian mixture model objective of ADBench, differentiated by
//! `#[differentiate]`.
//!
//! For K components in d dimensions and N points `x_i`, with mixture weights
//! `α` (log-space, unnormalised), means `μ_k` and inverse covariance factors
//! `Q_k` (lower triangular, its diagonal stored as logarithms), the negative
//! log-likelihood up to sign plus a Wishart prior:
//!
//! ```text
//! E = − N·d/2 · log(2π)
//!     + Σ_i logsumexp_k( α_k + Σ_j q_kj − ½ ‖Q_k (x_i − μ_k)‖² )
//!     − N · logsumexp(α)
//!     + Σ_k [ ½ γ² ( Σ_j exp(q_kj)² + Σ_j l_kj² ) − m · Σ_j q_kj ]
//!     − K · C
//! C = n·d·(log γ − ½ log 2) − logΓ_d(n/2),   n = d + m + 1
//! ```
//!
//! [`gmm_objective`] writes it once, the way ADBench's C++ reference
//! (`gmm.cpp`) does: `preprocess_qs`, then for every point and component
//! `subtract`, `Qtimesx` into scratch buffers and `sqnorm`, a `log_sum_exp`
//! per point with its maximum found by a loop, `−N·log_sum_exp(α)` and
//! `log_wishart_prior`. `#[differentiate(wrt(alphas, means, icf))]` generates
//! [`gmm_objective_grad`] from it. [`gmm_objective_reference`] computes the
//! same value independently (dense `Q_k`, per-point log-likelihoods) to test
//! the value.
//!
//! The parameters and the gradient are ordered as in ADBench: `alphas[K]`,
//! `means[K·d]` (component-major), `icf[K·d(d+1)/2]`; component k's icf is
//! first the d logarithms of `Q_k`'s diagonal, then `Q_k`'s strictly lower
//! part column by column.
//!
//! One difference from ADBench: π is [`std::f64::consts::PI`], not ADBench's
//! `3.14159265359`; the constant term differs by about 1e-14 relative and no
//! derivative changes.

use std::f64::consts::PI;
use std::fs;
use std::io;
use std::path::Path;

use chainrule::differentiate;

/// A gradient of [`gmm_objective`] with its arguments: the value and the
/// gradients with respect to `alphas`, `means` and `icf`.
type GradientFn =
    fn(&[f64], &[f64], &[f64], &[f64], usize, usize, usize, f64, f64) -> (f64, Vec<f64>, Vec<f64>, Vec<f64>);

/// One ADBench GMM instance: the point at which the objective is evaluated
/// (`alphas`, `means`, `icf`) and the constants (`x`, `gamma`, `m`).
#[derive(Clone, Debug, PartialEq)]
pub struct GmmInput {
    /// Dimension of the points.
    pub d: usize,
    /// Number of mixture components.
    pub k: usize,
    /// Number of points.
    pub n: usize,
    /// `K` unnormalised log-weights.
    pub alphas: Vec<f64>,
    /// `K·d` means, component-major.
    pub means: Vec<f64>,
    /// `K·d(d+1)/2` inverse covariance factor parameters (see the module docs).
    pub icf: Vec<f64>,
    /// `N·d` points, point-major.
    pub x: Vec<f64>,
    /// The Wishart prior's `γ`.
    pub gamma: f64,
    /// The Wishart prior's `m` (an integer in the files).
    pub m: f64,
}

impl GmmInput {
    /// Reads an instance in ADBench's format: a line `d K N`, K alphas, K
    /// lines of d means, K lines of d(d+1)/2 icf values, N lines of d data
    /// values, and a line `gamma m`.
    ///
    /// The files under `gmm/2.5M/` store a single point to be replicated N
    /// times; this reads both kinds, telling them apart by the number of data
    /// values (N·d, or d with N > 1). [`GmmInput::read_with`] asks for one
    /// kind explicitly.
    pub fn read(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::parse_file(path.as_ref(), None)
    }

    /// Reads an instance as ADBench's `read_gmm_instance` does: with
    /// `replicate_point`, the file holds one point and `x` gets N copies of
    /// it; without, the file holds all N points.
    pub fn read_with(path: impl AsRef<Path>, replicate_point: bool) -> io::Result<Self> {
        Self::parse_file(path.as_ref(), Some(replicate_point))
    }

    fn parse_file(path: &Path, replicate_point: Option<bool>) -> io::Result<Self> {
        let text =
            fs::read_to_string(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Self::parse(&text, replicate_point)
            .map_err(|message| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {message}", path.display())))
    }

    /// Parses the text of an instance; `replicate_point: None` detects the
    /// replicated-point variant.
    pub fn parse(text: &str, replicate_point: Option<bool>) -> Result<Self, String> {
        let tokens: Vec<&str> = text.split_ascii_whitespace().collect();
        if tokens.len() < 3 {
            return Err("the file ends before `d K N`".to_owned());
        }
        let count = |i: usize, what: &str| -> Result<usize, String> {
            tokens[i]
                .parse::<usize>()
                .map_err(|e| format!("{what}: `{}` is not a count ({e})", tokens[i]))
        };
        let (d, k, n) = (count(0, "d")?, count(1, "K")?, count(2, "N")?);
        if d == 0 || k == 0 || n == 0 {
            return Err(format!("d = {d}, K = {k}, N = {n}: all must be positive"));
        }
        let rest = &tokens[3..];
        let icf_size = d * (d + 1) / 2;
        let parameters = k + k * d + k * icf_size;
        let data = rest.len().checked_sub(parameters + 2).ok_or_else(|| {
            format!(
                "{} values after `d K N`, fewer than the {parameters} parameters and `gamma m`",
                rest.len()
            )
        })?;
        let replicate = match replicate_point {
            Some(replicate) => replicate,
            None => data == d && n > 1,
        };
        let expected = if replicate { d } else { n * d };
        if data != expected {
            return Err(format!(
                "{data} data values where {expected} were expected (d = {d}, K = {k}, N = {n}{})",
                if replicate { ", one point replicated" } else { "" }
            ));
        }
        let values = rest
            .iter()
            .enumerate()
            .map(|(i, token)| {
                token
                    .parse::<f64>()
                    .map_err(|e| format!("value {}: `{token}` is not a number ({e})", i + 4))
            })
            .collect::<Result<Vec<f64>, String>>()?;
        let (alphas, values) = values.split_at(k);
        let (means, values) = values.split_at(k * d);
        let (icf, values) = values.split_at(k * icf_size);
        let (points, wishart) = values.split_at(data);
        let x = if replicate { points.repeat(n) } else { points.to_vec() };
        Ok(Self {
            d,
            k,
            n,
            alphas: alphas.to_vec(),
            means: means.to_vec(),
            icf: icf.to_vec(),
            x,
            gamma: wishart[0],
            m: wishart[1],
        })
    }

    /// The number of differentiated parameters, `K + K·d + K·d(d+1)/2`.
    pub fn parameter_count(&self) -> usize {
        self.alphas.len() + self.means.len() + self.icf.len()
    }

    /// `alphas`, `means` and `icf` concatenated: the point of the gradient.
    pub fn parameters(&self) -> Vec<f64> {
        [&self.alphas[..], &self.means, &self.icf].concat()
    }

    /// [`gmm_objective`] at this instance's parameters.
    pub fn objective(&self) -> f64 {
        gmm_objective(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.d,
            self.k,
            self.n,
            self.gamma,
            self.m,
        )
    }

    /// [`gmm_objective`] at `parameters` (laid out as [`GmmInput::parameters`])
    /// with this instance's data: the function that finite differences see.
    pub fn objective_at(&self, parameters: &[f64]) -> f64 {
        let (alphas, means, icf) = self.split(parameters);
        gmm_objective(alphas, means, icf, &self.x, self.d, self.k, self.n, self.gamma, self.m)
    }

    /// The value and the generated gradient, flattened like
    /// [`GmmInput::parameters`].
    pub fn gradient(&self) -> (f64, Vec<f64>) {
        self.flattened(gmm_objective_grad)
    }

    /// The value and the hand-written gradient
    /// ([`gmm_objective_hand_gradient`](crate::gmm_hand::gmm_objective_hand_gradient)),
    /// flattened like [`GmmInput::parameters`].
    pub fn hand_gradient(&self) -> (f64, Vec<f64>) {
        self.flattened(crate::gmm_hand::gmm_objective_hand_gradient)
    }

    /// `gradient` at this instance, its three gradients concatenated.
    fn flattened(&self, gradient: GradientFn) -> (f64, Vec<f64>) {
        let (value, alphas, means, icf) = gradient(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.d,
            self.k,
            self.n,
            self.gamma,
            self.m,
        );
        (value, [alphas, means, icf].concat())
    }

    /// [`gmm_objective_reference`] at this instance's parameters.
    pub fn reference_objective(&self) -> f64 {
        gmm_objective_reference(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.d,
            self.k,
            self.n,
            self.gamma,
            self.m,
        )
    }

    /// `parameters` split into `(alphas, means, icf)`.
    ///
    /// # Panics
    /// If `parameters` does not have [`GmmInput::parameter_count`] entries.
    pub fn split<'a>(&self, parameters: &'a [f64]) -> (&'a [f64], &'a [f64], &'a [f64]) {
        assert_eq!(parameters.len(), self.parameter_count(), "GMM parameter count");
        let (alphas, rest) = parameters.split_at(self.k);
        let (means, icf) = rest.split_at(self.k * self.d);
        (alphas, means, icf)
    }
}

/// The GMM objective, written as ADBench's `gmm_objective` in C++ (see the
/// module docs for the formula and the parameter layout).
///
/// `x` holds the N points of dimension d, point-major; `gamma` and `m` are
/// the Wishart prior's parameters. The generated [`gmm_objective_grad`]
/// returns the value and the gradients with respect to `alphas`, `means` and
/// `icf`, in that order.
#[differentiate(wrt(alphas, means, icf))]
// Index loops on purpose: the objective mirrors ADBench's C++ loop for loop.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn gmm_objective(
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    gamma: f64,
    m: f64,
) -> f64 {
    let icf_sz = d * (d + 1) / 2;

    // preprocess_qs: Σ_j q_kj and the diagonals exp(q_kj).
    let mut qdiags = vec![0.0; d * k];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for id in 0..d {
            let q = icf[ik * icf_sz + id];
            sum_qs[ik] += q;
            qdiags[ik * d + id] = q.exp();
        }
    }

    let mut xcentered = vec![0.0; d];
    let mut qxcentered = vec![0.0; d];
    let mut main_term = vec![0.0; k];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            // subtract: x_i − μ_k
            for id in 0..d {
                xcentered[id] = x[ix * d + id] - means[ik * d + id];
            }
            // Qtimesx: Q_k (x_i − μ_k), the diagonal then the strictly lower
            // part, column by column.
            for id in 0..d {
                qxcentered[id] = qdiags[ik * d + id] * xcentered[id];
            }
            let mut lparamsidx = 0;
            for i in 0..d {
                for j in i + 1..d {
                    qxcentered[j] += icf[ik * icf_sz + d + lparamsidx] * xcentered[i];
                    lparamsidx += 1;
                }
            }
            // sqnorm
            let mut sqnorm = 0.0;
            for id in 0..d {
                sqnorm += qxcentered[id] * qxcentered[id];
            }
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm;
        }
        // log_sum_exp(main_term), its maximum found by arr_max.
        let mut mx = main_term[0];
        for ik in 1..k {
            if main_term[ik] > mx {
                mx = main_term[ik];
            }
        }
        let mut semx = 0.0;
        for ik in 0..k {
            semx += (main_term[ik] - mx).exp();
        }
        slse += semx.ln() + mx;
    }

    // log_sum_exp(alphas)
    let mut mx_alphas = alphas[0];
    for ik in 1..k {
        if alphas[ik] > mx_alphas {
            mx_alphas = alphas[ik];
        }
    }
    let mut semx_alphas = 0.0;
    for ik in 0..k {
        semx_alphas += (alphas[ik] - mx_alphas).exp();
    }
    let lse_alphas = semx_alphas.ln() + mx_alphas;

    let constant = -(n as f64) * (d as f64) * 0.5 * (2.0 * PI).ln();

    // log_wishart_prior
    let wishart_n = d as f64 + m + 1.0;
    let c = wishart_n * (d as f64) * (gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_distrib(0.5 * wishart_n, d);
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        for id in 0..d {
            frobenius += qdiags[ik * d + id] * qdiags[ik * d + id];
        }
        for id in d..icf_sz {
            frobenius += icf[ik * icf_sz + id] * icf[ik * icf_sz + id];
        }
        prior += 0.5 * gamma * gamma * frobenius - m * sum_qs[ik];
    }

    constant + slse - (n as f64) * lse_alphas + prior - (k as f64) * c
}

/// The multivariate log-gamma function,
/// `logΓ_d(a) = ¼·d(d−1)·log π + Σ_{j=1..d} lgamma(a + ½(1 − j))`.
pub fn log_gamma_distrib(a: f64, d: usize) -> f64 {
    let dimension = d as f64;
    let mut out = 0.25 * dimension * (dimension - 1.0) * PI.ln();
    for j in 1..=d {
        out += log_gamma(a + 0.5 * (1.0 - j as f64));
    }
    out
}

/// Godfrey's coefficients of the Lanczos approximation with `g = 607/128`.
const LANCZOS_G: f64 = 607.0 / 128.0;
#[allow(clippy::excessive_precision)]
const LANCZOS: [f64; 15] = [
    0.999_999_999_999_997_091_82,
    57.156_235_665_862_923_517,
    -59.597_960_355_475_491_248,
    14.136_097_974_741_747_174,
    -0.491_913_816_097_620_199_78,
    0.339_946_499_848_118_886_99e-4,
    0.465_236_289_270_485_756_65e-4,
    -0.983_744_753_048_795_646_77e-4,
    0.158_088_703_224_912_488_84e-3,
    -0.210_264_441_724_104_883_19e-3,
    0.217_439_618_115_212_643_20e-3,
    -0.164_318_106_536_763_890_22e-3,
    0.844_182_239_838_527_432_93e-4,
    -0.261_908_384_015_814_086_70e-4,
    0.368_991_826_595_316_227_04e-5,
];

/// `ln |Γ(x)|`, by the Lanczos approximation (relative error about 1e-15 of
/// Γ, so an absolute error of a few 1e-15 in the logarithm), with the
/// reflection formula below ½. Not differentiated: the objective calls it
/// with constants only.
///
/// Returns `+∞` at the poles `x = 0, −1, −2, …`.
pub fn log_gamma(x: f64) -> f64 {
    if x <= 0.0 && x == x.floor() {
        return f64::INFINITY;
    }
    if x < 0.5 {
        // Γ(x)Γ(1 − x) = π / sin(πx)
        return (PI / (PI * x).sin().abs()).ln() - log_gamma(1.0 - x);
    }
    let z = x - 1.0;
    let mut sum = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        sum += c / (z + i as f64);
    }
    let t = z + LANCZOS_G + 0.5;
    0.5 * (2.0 * PI).ln() + (z + 0.5) * t.ln() - t + sum.ln()
}

/// The GMM objective computed independently of [`gmm_objective`], to test
/// its value: each `Q_k` is built as a dense d×d matrix, each point's
/// log-likelihood `log Σ_k exp(…)` is accumulated around its largest term,
/// and the prior sums ‖Q_k‖²_F over the dense matrix.
#[allow(clippy::too_many_arguments)]
pub fn gmm_objective_reference(
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    gamma: f64,
    m: f64,
) -> f64 {
    let icf_size = d * (d + 1) / 2;
    assert_eq!(alphas.len(), k);
    assert_eq!(means.len(), k * d);
    assert_eq!(icf.len(), k * icf_size);
    assert_eq!(x.len(), n * d);

    // Q_k as dense row-major matrices, and log det Q_k = Σ_j q_kj.
    let mut q_matrices = Vec::with_capacity(k);
    let mut log_dets = Vec::with_capacity(k);
    for component in icf.chunks_exact(icf_size) {
        let (log_diagonal, lower) = component.split_at(d);
        let mut q = vec![vec![0.0; d]; d];
        for (row, log_value) in log_diagonal.iter().enumerate() {
            q[row][row] = log_value.exp();
        }
        let mut lower = lower.iter();
        for column in 0..d {
            for row in q.iter_mut().skip(column + 1) {
                row[column] = *lower.next().expect("d(d−1)/2 lower entries");
            }
        }
        log_dets.push(log_diagonal.iter().sum::<f64>());
        q_matrices.push(q);
    }

    let log_sum_exp = |values: &[f64]| {
        let largest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        largest + values.iter().map(|v| (v - largest).exp()).sum::<f64>().ln()
    };

    let mut log_likelihood = 0.0;
    let mut terms = vec![0.0; k];
    for point in x.chunks_exact(d) {
        for (component, term) in terms.iter_mut().enumerate() {
            let mean = &means[component * d..(component + 1) * d];
            let q = &q_matrices[component];
            let squared_norm: f64 = q
                .iter()
                .map(|row| {
                    let entry: f64 = row
                        .iter()
                        .zip(point.iter().zip(mean))
                        .map(|(a, (p, u))| a * (p - u))
                        .sum();
                    entry * entry
                })
                .sum();
            *term = alphas[component] + log_dets[component] - 0.5 * squared_norm;
        }
        log_likelihood += log_sum_exp(&terms);
    }

    let (n_f, d_f, k_f) = (n as f64, d as f64, k as f64);
    let gaussian_constant = -0.5 * n_f * d_f * (2.0 * PI).ln();
    let weights = n_f * log_sum_exp(alphas);

    // log Wishart prior: Σ_k ½γ²‖Q_k‖²_F − m log det Q_k, minus K times
    // C = n·d·(log γ − ½ log 2) − logΓ_d(n/2) with n = d + m + 1.
    let dof = d_f + m + 1.0;
    let log_gamma_d =
        0.25 * d_f * (d_f - 1.0) * PI.ln() + (0..d).map(|j| log_gamma(0.5 * dof - 0.5 * j as f64)).sum::<f64>();
    let normaliser = dof * d_f * (gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_d;
    let prior: f64 = q_matrices
        .iter()
        .zip(&log_dets)
        .map(|(q, log_det)| {
            let frobenius: f64 = q.iter().flatten().map(|a| a * a).sum();
            0.5 * gamma * gamma * frobenius - m * log_det
        })
        .sum::<f64>()
        - k_f * normaliser;

    gaussian_constant + log_likelihood - weights + prior
}
