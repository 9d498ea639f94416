//! A hand-written gradient of the GMM objective: the baseline the generated
//! [`gmm_objective_grad`](crate::gmm::gmm_objective_grad) is timed against.
//!
//! It is written the way ADBench's hand-derived C++ gradient is: one pass
//! over the points, each computing every component's centred point
//! `c = x_i − μ_k` and `z = Q_k c` once (kept in K·d buffers), the
//! responsibilities `r_k = softmax_k(β_k)` of
//! `β_k = α_k + Σ_j q_kj − ½‖z‖²`, and then the closed-form derivatives
//! with `z̄ = −r_k z`:
//!
//! ```text
//! ∂/∂α_k   += r_k                      ∂/∂μ_k   −= Q_kᵀ z̄
//! ∂/∂q_kj  += r_k + z̄_j · e^{q_kj} c_j ∂/∂L_kji += z̄_j · c_i   (j > i)
//! ```
//!
//! then `−N · softmax(α)` for the `−N·logsumexp(α)` term and the Wishart
//! prior's `γ² e^{2q} − m` and `γ² L`. Nothing is taped and nothing is
//! computed twice, so its time is what a careful programmer reaches by hand.

use std::f64::consts::PI;

use crate::gmm::log_gamma_distrib;

/// The value of [`gmm_objective`] and its gradients with respect to
/// `alphas`, `means` and `icf`, derived by hand (see the module docs); the
/// arguments as for `gmm_objective`.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn gmm_objective_hand_gradient(
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    d: usize,
    k: usize,
    n: usize,
    gamma: f64,
    m: f64,
) -> (f64, Vec<f64>, Vec<f64>, Vec<f64>) {
    let icf_sz = d * (d + 1) / 2;
    let mut qdiags = vec![0.0; k * d];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for id in 0..d {
            let q = icf[ik * icf_sz + id];
            sum_qs[ik] += q;
            qdiags[ik * d + id] = q.exp();
        }
    }

    let mut grad_alphas = vec![0.0; k];
    let mut grad_means = vec![0.0; k * d];
    let mut grad_icf = vec![0.0; k * icf_sz];
    let mut centred = vec![0.0; k * d];
    let mut z = vec![0.0; k * d];
    let mut beta = vec![0.0; k];
    let mut z_bar = vec![0.0; d];
    let mut slse = 0.0;
    for ix in 0..n {
        let point = &x[ix * d..ix * d + d];
        for ik in 0..k {
            let c = &mut centred[ik * d..ik * d + d];
            let zk = &mut z[ik * d..ik * d + d];
            let lower = &icf[ik * icf_sz + d..(ik + 1) * icf_sz];
            for id in 0..d {
                c[id] = point[id] - means[ik * d + id];
                zk[id] = qdiags[ik * d + id] * c[id];
            }
            let mut l = 0;
            for i in 0..d {
                for j in i + 1..d {
                    zk[j] += lower[l] * c[i];
                    l += 1;
                }
            }
            beta[ik] = alphas[ik] + sum_qs[ik] - 0.5 * zk.iter().map(|v| v * v).sum::<f64>();
        }
        let top = beta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = beta.iter().map(|b| (b - top).exp()).sum();
        slse += total.ln() + top;
        for ik in 0..k {
            let r = (beta[ik] - top).exp() / total;
            grad_alphas[ik] += r;
            let c = &centred[ik * d..ik * d + d];
            let zk = &z[ik * d..ik * d + d];
            let lower = &icf[ik * icf_sz + d..(ik + 1) * icf_sz];
            let grad_lower = &mut grad_icf[ik * icf_sz..(ik + 1) * icf_sz];
            for id in 0..d {
                z_bar[id] = -r * zk[id];
                grad_lower[id] += r + z_bar[id] * qdiags[ik * d + id] * c[id];
            }
            let mut l = 0;
            for i in 0..d {
                // (Q_kᵀ z̄)_i = e^{q_ki} z̄_i + Σ_{j>i} L_ji z̄_j
                let mut qt_z_bar = qdiags[ik * d + i] * z_bar[i];
                for j in i + 1..d {
                    grad_lower[d + l] += z_bar[j] * c[i];
                    qt_z_bar += lower[l] * z_bar[j];
                    l += 1;
                }
                grad_means[ik * d + i] -= qt_z_bar;
            }
        }
    }

    // −N·logsumexp(α)
    let top = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = alphas.iter().map(|a| (a - top).exp()).sum();
    let lse_alphas = total.ln() + top;
    for ik in 0..k {
        grad_alphas[ik] -= n as f64 * (alphas[ik] - top).exp() / total;
    }
    // The Wishart prior: ½γ²(Σ e^{2q} + Σ L²) − m Σ q.
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        for id in 0..d {
            let diagonal = qdiags[ik * d + id];
            frobenius += diagonal * diagonal;
            grad_icf[ik * icf_sz + id] += gamma * gamma * diagonal * diagonal - m;
        }
        for id in d..icf_sz {
            let entry = icf[ik * icf_sz + id];
            frobenius += entry * entry;
            grad_icf[ik * icf_sz + id] += gamma * gamma * entry;
        }
        prior += 0.5 * gamma * gamma * frobenius - m * sum_qs[ik];
    }

    let constant = -(n as f64) * (d as f64) * 0.5 * (2.0 * PI).ln();
    let wishart_n = d as f64 + m + 1.0;
    let c = wishart_n * (d as f64) * (gamma.ln() - 0.5 * 2.0_f64.ln()) - log_gamma_distrib(0.5 * wishart_n, d);
    let value = constant + slse - (n as f64) * lse_alphas + prior - (k as f64) * c;
    (value, grad_alphas, grad_means, grad_icf)
}
