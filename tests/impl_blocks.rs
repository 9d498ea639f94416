//! `#[differentiate]` on an inherent `impl` block: each associated function
//! in it marked `#[differentiate]` gets its derivatives as associated
//! functions beside it (`Neuron::loss_grad(…)`), which call one another as
//! `Self::loss_pullback(…)`. A function takes the model as a parameter,
//! `neuron: &Self`, or is a method taking `&self`, and reads its fields as
//! constants; it calls the other differentiated functions as
//! `Self::predict(…)` or `self.output(…)`, and free functions call them as
//! `Neuron::softplus(…)` or `neuron.output_grad(…)`.
//!
//! Every derivative is checked against its closed form and central
//! differences at random points.

#[macro_use]
mod common;

use chainrule::prelude::*;
use common::{
    EXACT_TOLERANCE, POINTS, Rng, assert_all_close, assert_close, assert_value, check_box_exact, check_sampled_exact,
};

/// A neuron `softplus(w·x + b)` on fixed inputs `x`, its squared error
/// weighted by `weight`.
#[derive(Clone, Copy)]
struct Neuron {
    inputs: [f64; 3],
    weight: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[differentiate]
impl Neuron {
    /// Not marked: kept as written.
    fn new(inputs: [f64; 3], weight: f64) -> Self {
        Neuron { inputs, weight }
    }

    /// ln(1 + eᶻ), whose derivative is the sigmoid.
    #[differentiate(forward, hessian)]
    fn softplus(z: f64) -> f64 {
        (1.0 + z.exp()).ln()
    }

    /// softplus(w·x + b) on the neuron's inputs.
    #[differentiate(wrt(w, b))]
    fn predict(neuron: &Self, w: &[f64], b: f64) -> f64 {
        let mut z = b;
        for (wi, xi) in w.iter().zip(&neuron.inputs) {
            z += wi * xi;
        }
        Self::softplus(z)
    }

    /// weight · (predict − target)².
    #[differentiate(wrt(w, b))]
    fn loss(neuron: &Neuron, w: &[f64], b: f64, target: f64) -> f64 {
        let error = Self::predict(neuron, w, b) - target;
        neuron.weight * error * error
    }

    /// softplus(w·x + b), as a method: `self` is a constant whose fields
    /// are read as `neuron.inputs` is in `predict`.
    #[differentiate(wrt(w, b), forward, hessian)]
    fn output(&self, w: &[f64], b: f64) -> f64 {
        let mut z = b;
        for (i, xi) in self.inputs.iter().enumerate() {
            z += w[i] * xi;
        }
        Self::softplus(z)
    }

    /// weight · (output − target)², calling `output` as a method.
    #[differentiate(wrt(w, b))]
    fn error(&self, w: &[f64], b: f64, target: f64) -> f64 {
        let error = self.output(w, b) - target;
        self.weight * error * error
    }

    /// The user's derivative of `weighted_cube`, a method too.
    fn weighted_cube_derivative(&self, x: f64, seed: f64) -> f64 {
        seed * self.weight * 3.0 * x * x
    }

    /// weight · x³ with the user's rule, a method taking `&self`.
    #[differentiate(rule = Self::weighted_cube_derivative)]
    fn weighted_cube(&self, x: f64) -> f64 {
        self.weight * x * x * x
    }

    /// The user's derivative of `cube`, an ordinary associated function.
    fn cube_derivative(x: f64, seed: f64) -> f64 {
        seed * 3.0 * x * x
    }

    /// x³ with the user's rule, named through `Self`.
    #[differentiate(rule = Self::cube_derivative)]
    fn cube(x: f64) -> f64 {
        x * x * x
    }

    /// cube(x) · y, calling the function with a rule.
    #[differentiate]
    fn cube_times(x: f64, y: f64) -> f64 {
        Self::cube(x) * y
    }
}

/// A free function calling an associated one through the type's name.
#[differentiate]
fn free_caller(x: f64, y: f64) -> f64 {
    Neuron::softplus(x * y) + x
}

#[test]
fn an_associated_function_has_every_generated_form() {
    let g = generated!(Neuron::softplus, Neuron::softplus_grad, Neuron::softplus_vjp, Neuron::softplus_pullback; z);
    let mut rng = Rng::for_test("softplus");
    check_box_exact(&g, &mut rng, &[(-6.0, 6.0)], |p| vec![sigmoid(p[0])]);
    for _ in 0..POINTS {
        let z = rng.uniform(-6.0, 6.0);
        let dz = rng.seed();
        let (value, tangent) = Neuron::softplus_jvp(z, dz);
        assert_value(value, Neuron::softplus(z));
        assert_close(tangent, sigmoid(z) * dz, EXACT_TOLERANCE);
        let (value, hessian) = Neuron::softplus_hessian(z);
        assert_value(value, Neuron::softplus(z));
        assert_close(hessian[(0, 0)], sigmoid(z) * (1.0 - sigmoid(z)), EXACT_TOLERANCE);
    }
}

/// A loss of the neuron over the point `[w₀, w₁, w₂, b]`, in each generated
/// form.
struct LossForms {
    primal: Box<common::PrimalFn>,
    grad: Box<common::GradFn>,
    vjp: Box<common::VjpFn>,
    pullback: Box<common::VjpFn>,
}

/// `Neuron::loss(&neuron, …)`, which takes the neuron as `neuron: &Self`.
fn associated_loss(neuron: Neuron, target: f64) -> LossForms {
    LossForms {
        primal: Box::new(move |p| Neuron::loss(&neuron, &p[..3], p[3], target)),
        grad: Box::new(move |p| {
            let (value, gw, gb) = Neuron::loss_grad(&neuron, &p[..3], p[3], target);
            (value, [gw, vec![gb]].concat())
        }),
        vjp: Box::new(move |p, seed| {
            let (value, gw, gb) = Neuron::loss_vjp(&neuron, &p[..3], p[3], target, seed);
            (value, [gw, vec![gb]].concat())
        }),
        pullback: Box::new(move |p, seed| {
            let (value, pullback) = Neuron::loss_pullback(&neuron, &p[..3], p[3], target);
            let ((), gw, gb, ()) = pullback(&seed, (&neuron, &p[..3], p[3], target));
            (value, [gw, vec![gb]].concat())
        }),
    }
}

/// `neuron.error(…)`, the same loss as a method taking `&self`.
fn method_loss(neuron: Neuron, target: f64) -> LossForms {
    LossForms {
        primal: Box::new(move |p| neuron.error(&p[..3], p[3], target)),
        grad: Box::new(move |p| {
            let (value, gw, gb) = neuron.error_grad(&p[..3], p[3], target);
            (value, [gw, vec![gb]].concat())
        }),
        vjp: Box::new(move |p, seed| {
            let (value, gw, gb) = neuron.error_vjp(&p[..3], p[3], target, seed);
            (value, [gw, vec![gb]].concat())
        }),
        pullback: Box::new(move |p, seed| {
            let (value, pullback) = neuron.error_pullback(&p[..3], p[3], target);
            let ((), gw, gb, ()) = pullback(&seed, (&neuron, &p[..3], p[3], target));
            (value, [gw, vec![gb]].concat())
        }),
    }
}

/// Checks every form of a loss against its closed form and central
/// differences, for random neurons and targets.
fn check_neuron_loss(name: &'static str, forms: fn(Neuron, f64) -> LossForms) {
    let mut rng = Rng::for_test(name);
    for _ in 0..POINTS {
        let neuron = Neuron::new(
            [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)],
            rng.uniform(0.5, 2.0),
        );
        let target = rng.uniform(-1.0, 1.0);
        let loss = forms(neuron, target);
        let g = common::Generated {
            name,
            primal: &loss.primal,
            grad: &loss.grad,
            vjp: &loss.vjp,
            pullback: &loss.pullback,
        };
        // ∂/∂w_i = weight·2e·σ(z)·x_i and ∂/∂b = weight·2e·σ(z), with
        // z = w·x + b and e = softplus(z) − target.
        let closed_form = |p: &[f64]| {
            let z = p[3] + (0..3).map(|i| p[i] * neuron.inputs[i]).sum::<f64>();
            let outer = neuron.weight * 2.0 * ((1.0 + z.exp()).ln() - target) * sigmoid(z);
            let mut gradient: Vec<f64> = neuron.inputs.iter().map(|x| outer * x).collect();
            gradient.push(outer);
            gradient
        };
        check_sampled_exact(
            &g,
            &mut rng,
            |r| (0..4).map(|_| r.uniform(-1.5, 1.5)).collect(),
            closed_form,
        );
    }
}

#[test]
fn methods_taking_the_model_read_its_fields_as_constants() {
    check_neuron_loss("Neuron::loss", associated_loss);
}

#[test]
fn methods_taking_self_are_called_as_methods() {
    check_neuron_loss("Neuron::error", method_loss);

    // A method with the user's rule: d/dx weight·x³ = 3·weight·x².
    let neuron = Neuron::new([0.0; 3], 1.5);
    let g = common::Generated {
        name: "Neuron::weighted_cube",
        primal: &move |p| neuron.weighted_cube(p[0]),
        grad: &move |p| {
            let (value, dx) = neuron.weighted_cube_grad(p[0]);
            (value, vec![dx])
        },
        vjp: &move |p, seed| {
            let (value, dx) = neuron.weighted_cube_vjp(p[0], seed);
            (value, vec![dx])
        },
        pullback: &move |p, seed| {
            let (value, pullback) = neuron.weighted_cube_pullback(p[0]);
            let ((), dx) = pullback(&seed, (&neuron, p[0]));
            (value, vec![dx])
        },
    };
    check_box_exact(&g, &mut Rng::for_test("Neuron::weighted_cube"), &[(-2.0, 2.0)], |p| {
        vec![3.0 * 1.5 * p[0] * p[0]]
    });

    // `output`'s forward mode and Hessian, as methods: along a direction
    // (ẇ, ḃ), ż = ẇ·x + ḃ and the tangent is σ(z)·ż; the Hessian is
    // σ'(z)·[x; 1][x; 1]ᵀ.
    let mut rng = Rng::for_test("Neuron::output");
    for _ in 0..POINTS {
        let neuron = Neuron::new(
            [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)],
            1.0,
        );
        let (w, b) = (
            [rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)],
            rng.uniform(-1.0, 1.0),
        );
        let (dw, db) = ([rng.seed(), rng.seed(), rng.seed()], rng.seed());
        let z = b + (0..3).map(|i| w[i] * neuron.inputs[i]).sum::<f64>();
        let (value, tangent) = neuron.output_jvp(&w, b, &dw, db);
        assert_value(value, neuron.output(&w, b));
        let along = db + (0..3).map(|i| dw[i] * neuron.inputs[i]).sum::<f64>();
        assert_close(tangent, sigmoid(z) * along, EXACT_TOLERANCE);
        let (value, hessian) = neuron.output_hessian(&w, b);
        assert_value(value, neuron.output(&w, b));
        let inputs = [neuron.inputs[0], neuron.inputs[1], neuron.inputs[2], 1.0];
        let curvature = sigmoid(z) * (1.0 - sigmoid(z));
        let expected: Vec<f64> = (0..4)
            .flat_map(|j| (0..4).map(move |i| curvature * inputs[i] * inputs[j]))
            .collect();
        assert_all_close(&chainrule::fd::to_vec(&hessian), &expected, EXACT_TOLERANCE);
        let gradient = |p: &[f64]| {
            let (_, gw, gb) = neuron.output_grad(&p[..3], p[3]);
            [gw, vec![gb]].concat()
        };
        let numeric = chainrule::fd::central_jacobian(gradient, &[w[0], w[1], w[2], b]);
        assert_all_close(&chainrule::fd::to_vec(&hessian), &chainrule::fd::to_vec(&numeric), 1e-6);
    }
}

#[test]
fn a_rule_named_through_self_is_used_by_its_callers() {
    let g = generated!(Neuron::cube_times, Neuron::cube_times_grad, Neuron::cube_times_vjp, Neuron::cube_times_pullback; x, y);
    let mut rng = Rng::for_test("cube_times");
    check_box_exact(&g, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        vec![3.0 * p[0] * p[0] * p[1], p[0].powi(3)]
    });
    let (value, gradient) = Neuron::cube_grad(1.5);
    assert_value(value, 3.375);
    assert_all_close(&[gradient], &[6.75], EXACT_TOLERANCE);
}

#[test]
fn a_free_function_calls_an_associated_one_by_its_type() {
    let g = generated!(free_caller, free_caller_grad, free_caller_vjp, free_caller_pullback; x, y);
    let mut rng = Rng::for_test("free_caller");
    check_box_exact(&g, &mut rng, &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        let s = sigmoid(p[0] * p[1]);
        vec![s * p[1] + 1.0, s * p[0]]
    });
}
