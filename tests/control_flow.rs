//! The language of differentiated functions: `let` forms, mutation, nesting,
//! `if`/`else` as statements and expressions, `return`, constants, casts,
//! constant and unused parameters, `wrt(...)`, `&f64` parameters and calls of
//! other `#[differentiate]` functions. Each construct is checked against
//! central finite differences at random points, in every branch it has, and
//! against the derivative worked out by hand.

#[macro_use]
mod common;

use chainrule::differentiate;
use common::{
    EXACT_TOLERANCE, Generated, POINTS, Rng, assert_all_close, assert_close, assert_gradient, assert_identical,
    assert_value, away_from, check_box_exact, check_branches, check_sampled_exact,
};
use std::f64::consts::{E, PI};

// ----- let ----------------------------------------------------------------------

#[differentiate]
fn lets(x: f64, y: f64) -> f64 {
    let a = x * y;
    let b: f64 = a + x.sin();
    let c = b;
    let d: f64 = 2.0;
    let e = d;
    c * a - e * y
}

#[test]
fn let_with_and_without_type_annotation() {
    let g = generated!(lets, lets_grad, lets_vjp, lets_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("lets"), &[(-3.0, 3.0), (-3.0, 3.0)], |p| {
        let (x, y) = (p[0], p[1]);
        let (a, b) = (x * y, x * y + x.sin());
        vec![(y + x.cos()) * a + b * y, x * a + b * x - 2.0]
    });
}

#[differentiate]
fn shadowing(x: f64, y: f64) -> f64 {
    let x = x * 2.0;
    let x = x.sin() + y;
    let y = x * y;
    x + y
}

#[test]
fn shadowing_parameters_and_locals() {
    let g = generated!(shadowing, shadowing_grad, shadowing_vjp, shadowing_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("shadowing"), &[(-3.0, 3.0), (-3.0, 3.0)], |p| {
        let (x, y) = (p[0], p[1]);
        let s = (2.0 * x).sin();
        vec![2.0 * (2.0 * x).cos() * (1.0 + y), 1.0 + s + 2.0 * y]
    });
}

#[differentiate]
fn shadowing_with_another_type(x: f64, n: i32) -> f64 {
    let n = n as f64;
    let x = x * n;
    x * x
}

#[test]
fn shadowing_an_integer_with_a_float() {
    let mut rng = Rng::for_test("shadow_type");
    for n in [-2, 1, 3] {
        for _ in 0..POINTS {
            let x = rng.uniform(-3.0, 3.0);
            let (value, dx) = shadowing_with_another_type_grad(x, n);
            assert_value(value, shadowing_with_another_type(x, n));
            assert_close(dx, 2.0 * x * f64::from(n * n), EXACT_TOLERANCE);
            assert_gradient(|p| shadowing_with_another_type(p[0], n), &[x], &[dx]);
            let (_, pullback) = shadowing_with_another_type_pullback(x, n);
            assert_eq!(pullback(&1.0, (x, n)), (dx, ()));
        }
    }
}

// ----- let mut, =, +=, -=, *=, /= ----------------------------------------------------

#[differentiate]
fn compound_assignment(x: f64, y: f64) -> f64 {
    let mut acc = x;
    acc += y;
    acc *= x;
    acc -= y * 2.0;
    acc /= y;
    acc = acc * acc + x;
    acc
}

#[test]
fn let_mut_with_every_compound_assignment() {
    let g = generated!(compound_assignment, compound_assignment_grad, compound_assignment_vjp,
        compound_assignment_pullback; x, y);
    check_sampled_exact(
        &g,
        &mut Rng::for_test("compound"),
        |r| vec![r.uniform(-3.0, 3.0), r.signed(0.5, 3.0)],
        |p| {
            let (x, y) = (p[0], p[1]);
            // u = ((x + y)x − 2y)/y = x²/y + x − 2, f = u² + x
            let u = x * x / y + x - 2.0;
            vec![2.0 * u * (2.0 * x / y + 1.0) + 1.0, 2.0 * u * (-x * x / (y * y))]
        },
    );
}

#[differentiate]
fn accumulate_from_constant(x: f64, y: f64) -> f64 {
    let mut s = 0.0;
    s += x;
    s += x * y;
    s *= 3.0;
    s -= 1.0;
    s /= 2.0;
    s
}

#[test]
fn let_mut_starting_from_a_constant() {
    let g = generated!(accumulate_from_constant, accumulate_from_constant_grad, accumulate_from_constant_vjp,
        accumulate_from_constant_pullback; x, y);
    check_box_exact(
        &g,
        &mut Rng::for_test("from_constant"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        |p| vec![1.5 * (1.0 + p[1]), 1.5 * p[0]],
    );
}

#[differentiate]
fn reassignment_replaces_the_value(x: f64, y: f64) -> f64 {
    let mut t = x * y;
    let old = t;
    t = x + 1.0;
    t * y + old
}

#[test]
fn reassignment_discards_the_old_derivative() {
    // (x + 1)y + xy: the first value of t reaches the output only through `old`.
    let g = generated!(reassignment_replaces_the_value, reassignment_replaces_the_value_grad,
        reassignment_replaces_the_value_vjp, reassignment_replaces_the_value_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("reassign"), &[(-3.0, 3.0), (-3.0, 3.0)], |p| {
        vec![2.0 * p[1], 2.0 * p[0] + 1.0]
    });
}

#[differentiate]
fn mutable_parameter(mut x: f64, y: f64) -> f64 {
    x *= y;
    x = x.sin() + x;
    x
}

#[test]
fn mutable_parameter_reassigned() {
    let g = generated!(mutable_parameter, mutable_parameter_grad, mutable_parameter_vjp,
        mutable_parameter_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("mut_param"), &[(-3.0, 3.0), (-3.0, 3.0)], |p| {
        let (x, y) = (p[0], p[1]);
        let d = (x * y).cos() + 1.0;
        vec![d * y, d * x]
    });
}

// ----- parentheses, nesting, blocks ---------------------------------------------------

#[differentiate]
fn deeply_nested(x: f64, y: f64) -> f64 {
    (((x + y) * (x - y)) / ((x * x) + 1.0) - y) * (x.sin() * (y.cos() + 2.0))
        + ((((x * y) - 1.0) * ((y - x) * 2.0)) - ((x + 1.0) * (y + 1.0)))
}

#[test]
fn parentheses_and_deep_nesting() {
    let g = generated!(deeply_nested, deeply_nested_grad, deeply_nested_vjp, deeply_nested_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("nested"), &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        let (x, y) = (p[0], p[1]);
        let q = (x * x - y * y) / (x * x + 1.0);
        let dq_dx = (2.0 * x * (x * x + 1.0) - (x * x - y * y) * 2.0 * x) / ((x * x + 1.0) * (x * x + 1.0));
        let dq_dy = -2.0 * y / (x * x + 1.0);
        let (u, du_dx, du_dy) = (q - y, dq_dx, dq_dy - 1.0);
        let (v, dv_dx, dv_dy) = (x.sin() * (y.cos() + 2.0), x.cos() * (y.cos() + 2.0), -x.sin() * y.sin());
        // w = 2(xy − 1)(y − x) − (x + 1)(y + 1)
        let dw_dx = 2.0 * (y * (y - x) - (x * y - 1.0)) - (y + 1.0);
        let dw_dy = 2.0 * (x * (y - x) + (x * y - 1.0)) - (x + 1.0);
        vec![du_dx * v + u * dv_dx + dw_dx, du_dy * v + u * dv_dy + dw_dy]
    });
}

#[differentiate]
fn block_expressions(x: f64, y: f64) -> f64 {
    let a = {
        let t = x * y;
        let u = {
            let v = t + x;
            v * v
        };
        u - t
    };
    let b = {
        let t = y.exp();
        t * x
    };
    a + b
}

#[test]
fn block_expressions_with_inner_lets() {
    let g = generated!(block_expressions, block_expressions_grad, block_expressions_vjp,
        block_expressions_pullback; x, y);
    check_box_exact(&g, &mut Rng::for_test("blocks"), &[(-2.0, 2.0), (-2.0, 2.0)], |p| {
        let (x, y) = (p[0], p[1]);
        let v = x * y + x;
        vec![2.0 * v * (y + 1.0) - y + y.exp(), 2.0 * v * x - x + x * y.exp()]
    });
}

// ----- if / else if / else --------------------------------------------------------------

/// A leaky ReLU as a `match` whose guards test the value by its own name
/// (`_ if x < 0.0`), which is what the error for `v if v < 0.0` suggests.
#[differentiate]
fn leaky_relu_by_match(x: f64) -> f64 {
    match x {
        _ if x < 0.0 => 0.1 * x,
        _ => x,
    }
}

#[test]
fn match_guards_on_the_value_itself() {
    let g = generated!(leaky_relu_by_match, leaky_relu_by_match_grad, leaky_relu_by_match_vjp, leaky_relu_by_match_pullback; x);
    check_branches(
        &g,
        &mut Rng::for_test("leaky_relu_by_match"),
        &[(-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[0.0], 0.01).then_some(usize::from(p[0] >= 0.0)),
        Some(&|p| vec![if p[0] < 0.0 { 0.1 } else { 1.0 }]),
    );
}

/// Arms naming the matched count: `n => …` and `small @ 1..=3 => …`.
#[differentiate(forward, hessian)]
fn by_count(x: f64, k: usize) -> f64 {
    match k {
        0 => x,
        small @ 1..=3 => small as f64 * x * x,
        n => n as f64 * x.sin(),
    }
}

/// `mut r => …` in a loop: the arm changes its own copy of the value.
#[differentiate]
fn by_remainder(x: f64, k: i32) -> f64 {
    let mut s = 0.0;
    for i in 0..k {
        s += match i % 3 {
            0 => x,
            mut r => {
                r += 1;
                r as f64 * x * x
            }
        };
    }
    s
}

#[test]
fn match_arms_may_name_the_whole_value() {
    let mut rng = Rng::for_test("by_count");
    for k in 0..7 {
        for _ in 0..POINTS {
            let x = rng.uniform(-2.0, 2.0);
            let c = k as f64;
            // (f, f′, f″) of the arm k takes.
            let (value, slope, curvature) = match k {
                0 => (x, 1.0, 0.0),
                1..=3 => (c * x * x, 2.0 * c * x, 2.0 * c),
                _ => (c * x.sin(), c * x.cos(), -c * x.sin()),
            };
            let (generated, gradient) = by_count_grad(x, k);
            assert_value(generated, by_count(x, k));
            assert_close(generated, value, EXACT_TOLERANCE);
            assert_close(gradient, slope, EXACT_TOLERANCE);
            assert_gradient(|p| by_count(p[0], k), &[x], &[gradient]);
            let (_, tangent) = by_count_jvp(x, k, 1.0);
            assert_close(tangent, slope, EXACT_TOLERANCE);
            let (_, hessian) = by_count_hessian(x, k);
            assert_close(hessian[(0, 0)], curvature, EXACT_TOLERANCE);
        }
    }
    for k in 0..8 {
        for _ in 0..POINTS {
            let x = rng.uniform(-2.0, 2.0);
            // Σ over i < k of x where i % 3 = 0, else (i % 3 + 1)·x².
            let factors = (0..k).map(|i| {
                if i % 3 == 0 {
                    (1.0, 0.0)
                } else {
                    (0.0, f64::from(i % 3 + 1))
                }
            });
            let (linear, quadratic) = factors.fold((0.0, 0.0), |(a, b), (l, q)| (a + l, b + q));
            let (generated, gradient) = by_remainder_grad(x, k);
            assert_value(generated, by_remainder(x, k));
            assert_close(generated, linear * x + quadratic * x * x, EXACT_TOLERANCE);
            assert_close(gradient, linear + 2.0 * quadratic * x, EXACT_TOLERANCE);
            assert_gradient(|p| by_remainder(p[0], k), &[x], &[gradient]);
        }
    }
}

#[differentiate]
fn piecewise(x: f64) -> f64 {
    if x < -1.0 {
        -x * x
    } else if x < 1.0 {
        x.sin()
    } else {
        x.ln() + 1.0
    }
}

#[test]
fn if_else_if_else_as_the_tail_expression() {
    let g = generated!(piecewise, piecewise_grad, piecewise_vjp, piecewise_pullback; x);
    check_branches(
        &g,
        &mut Rng::for_test("piecewise"),
        &[(-4.0, 4.0)],
        3,
        |p| {
            let x = p[0];
            away_from(x, &[-1.0, 1.0], 0.01).then_some(if x < -1.0 {
                0
            } else if x < 1.0 {
                1
            } else {
                2
            })
        },
        Some(&|p| {
            let x = p[0];
            vec![if x < -1.0 {
                -2.0 * x
            } else if x < 1.0 {
                x.cos()
            } else {
                1.0 / x
            }]
        }),
    );
}

#[test]
fn branches_are_chosen_on_primal_values() {
    // Exactly at the boundaries, the branch that the primal takes decides.
    assert_eq!(piecewise_grad(-1.0), ((-1f64).sin(), (-1f64).cos()));
    assert_eq!(piecewise_grad(1.0), (1.0, 1.0));
    assert_eq!(piecewise_grad(-2.0), (-4.0, 4.0));
}

#[differentiate]
fn if_in_let(x: f64, y: f64) -> f64 {
    let z = if x > y { x * y } else { x + 2.0 * y };
    z * z + y
}

#[test]
fn if_as_a_let_initializer() {
    let g = generated!(if_in_let, if_in_let_grad, if_in_let_vjp, if_in_let_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("if_in_let"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        2,
        |p| away_from(p[0] - p[1], &[0.0], 0.01).then_some(usize::from(p[0] <= p[1])),
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            if x > y {
                let z = x * y;
                vec![2.0 * z * y, 2.0 * z * x + 1.0]
            } else {
                let z = x + 2.0 * y;
                vec![2.0 * z, 4.0 * z + 1.0]
            }
        }),
    );
}

#[differentiate]
fn if_as_operand(x: f64) -> f64 {
    3.0 * if x > 0.5 { x.exp() } else { 1.0 - x * x } - x
}

#[differentiate]
fn relu_like(x: f64) -> f64 {
    let y = if x > 0.0 { x } else { 0.0 };
    y * 2.0 + x
}

#[test]
fn if_as_an_operand_and_with_a_constant_branch() {
    let mut rng = Rng::for_test("if_operand");
    let g = generated!(if_as_operand, if_as_operand_grad, if_as_operand_vjp, if_as_operand_pullback; x);
    let classify = |p: &[f64]| away_from(p[0], &[0.5], 0.01).then_some(usize::from(p[0] > 0.5));
    check_branches(
        &g,
        &mut rng,
        &[(-3.0, 3.0)],
        2,
        classify,
        Some(&|p| vec![if p[0] > 0.5 { 3.0 * p[0].exp() } else { -6.0 * p[0] } - 1.0]),
    );
    let g = generated!(relu_like, relu_like_grad, relu_like_vjp, relu_like_pullback; x);
    let classify = |p: &[f64]| away_from(p[0], &[0.0], 0.01).then_some(usize::from(p[0] > 0.0));
    check_branches(
        &g,
        &mut rng,
        &[(-3.0, 3.0)],
        2,
        classify,
        Some(&|p| vec![if p[0] > 0.0 { 3.0 } else { 1.0 }]),
    );
}

#[differentiate]
fn if_statements(x: f64, y: f64) -> f64 {
    let mut z = x * y;
    if z > 1.0 {
        z *= 2.0;
        z -= x;
    } else if z < -1.0 {
        z /= y;
        z -= y * y;
    } else {
        z = z * z;
    }
    if x > 0.0 {
        z += y;
    }
    z
}

#[test]
fn if_else_if_else_as_statements() {
    let g = generated!(if_statements, if_statements_grad, if_statements_vjp, if_statements_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("if_statements"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        6,
        |p| {
            let (x, y) = (p[0], p[1]);
            let z = x * y;
            if !away_from(z, &[-1.0, 1.0], 0.02) || !away_from(x, &[0.0], 0.02) {
                return None;
            }
            let first = if z > 1.0 {
                0
            } else if z < -1.0 {
                1
            } else {
                2
            };
            Some(2 * first + usize::from(x > 0.0))
        },
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            let z = x * y;
            let mut d = if z > 1.0 {
                vec![2.0 * y - 1.0, 2.0 * x]
            } else if z < -1.0 {
                vec![1.0, -2.0 * y]
            } else {
                vec![2.0 * x * y * y, 2.0 * x * x * y]
            };
            if x > 0.0 {
                d[1] += 1.0;
            }
            d
        }),
    );
}

#[differentiate]
fn nested_ifs(x: f64, y: f64) -> f64 {
    let r;
    if x > 0.0 {
        if y > 0.0 {
            r = x * y;
        } else {
            r = x - y;
        }
    } else if y > x {
        let t = y - x;
        if t > 1.0 {
            r = t.sqrt();
        } else {
            r = t * t;
        }
    } else {
        r = x.exp() + y;
    }
    r * 2.0
}

#[test]
fn nested_ifs_assigning_a_deferred_variable() {
    let g = generated!(nested_ifs, nested_ifs_grad, nested_ifs_vjp, nested_ifs_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("nested_ifs"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        5,
        |p| {
            let (x, y) = (p[0], p[1]);
            let margin = 0.02;
            if !away_from(x, &[0.0], margin) || !away_from(y, &[0.0], margin) {
                return None;
            }
            if !away_from(y - x, &[0.0, 1.0], margin) {
                return None;
            }
            Some(if x > 0.0 {
                usize::from(y <= 0.0)
            } else if y > x {
                if y - x > 1.0 { 2 } else { 3 }
            } else {
                4
            })
        },
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            if x > 0.0 {
                if y > 0.0 {
                    vec![2.0 * y, 2.0 * x]
                } else {
                    vec![2.0, -2.0]
                }
            } else if y > x {
                let t = y - x;
                if t > 1.0 {
                    vec![-1.0 / t.sqrt(), 1.0 / t.sqrt()]
                } else {
                    vec![-4.0 * t, 4.0 * t]
                }
            } else {
                vec![2.0 * x.exp(), 2.0]
            }
        }),
    );
}

#[differentiate]
fn assigned_in_one_branch(x: f64, y: f64) -> f64 {
    let mut a = x + y;
    let mut b = x * y;
    if a > b {
        a = b.sin();
    } else {
        b = a * 3.0;
    }
    a * b
}

#[test]
fn variables_assigned_in_branches_are_used_after() {
    let g = generated!(assigned_in_one_branch, assigned_in_one_branch_grad, assigned_in_one_branch_vjp,
        assigned_in_one_branch_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("one_branch"),
        &[(-2.0, 2.0), (-2.0, 2.0)],
        2,
        |p| {
            let (a, b) = (p[0] + p[1], p[0] * p[1]);
            away_from(a - b, &[0.0], 0.02).then_some(usize::from(a <= b))
        },
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            if x + y > x * y {
                let u = x * y;
                let d = u.cos() * u + u.sin();
                vec![d * y, d * x]
            } else {
                vec![6.0 * (x + y), 6.0 * (x + y)]
            }
        }),
    );
}

#[differentiate]
#[allow(clippy::needless_late_init)] // the late initialisation is the construct under test
fn deferred_initialisation(x: f64) -> f64 {
    let y;
    if x > 0.5 {
        y = x * x;
    } else {
        y = 1.0 - x;
    }
    let z: f64;
    z = y * 3.0;
    z + y
}

#[test]
fn let_without_initialiser_assigned_in_each_branch() {
    let g = generated!(deferred_initialisation, deferred_initialisation_grad, deferred_initialisation_vjp,
        deferred_initialisation_pullback; x);
    check_branches(
        &g,
        &mut Rng::for_test("deferred"),
        &[(-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[0.5], 0.01).then_some(usize::from(p[0] <= 0.5)),
        Some(&|p| vec![if p[0] > 0.5 { 8.0 * p[0] } else { -4.0 }]),
    );
}

#[differentiate]
fn shadowing_inside_a_branch(x: f64, y: f64) -> f64 {
    let t = x * y;
    let mut out = t;
    if x > 0.0 {
        let t = t * 2.0 + x;
        out = t * y;
    }
    out + t
}

#[test]
fn a_shadowing_let_inside_a_branch_does_not_leak() {
    let g = generated!(shadowing_inside_a_branch, shadowing_inside_a_branch_grad, shadowing_inside_a_branch_vjp,
        shadowing_inside_a_branch_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("shadow_branch"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[0.0], 0.01).then_some(usize::from(p[0] > 0.0)),
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            if x > 0.0 {
                // (2xy + x)y + xy
                vec![(2.0 * y + 1.0) * y + y, 4.0 * x * y + x + x]
            } else {
                vec![2.0 * y, 2.0 * x]
            }
        }),
    );
}

#[differentiate]
fn logical_conditions(x: f64, y: f64) -> f64 {
    let both = x > 0.0 && y > 0.0;
    if both || x.is_sign_negative() && y < -1.0 {
        x * y
    } else {
        x - y
    }
}

#[test]
fn conditions_with_logical_operators_and_predicates() {
    let g = generated!(logical_conditions, logical_conditions_grad, logical_conditions_vjp,
        logical_conditions_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("logical"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        2,
        |p| {
            let (x, y) = (p[0], p[1]);
            if !away_from(x, &[0.0], 0.01) || !away_from(y, &[0.0, -1.0], 0.01) {
                return None;
            }
            Some(usize::from(!((x > 0.0 && y > 0.0) || (x < 0.0 && y < -1.0))))
        },
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            if (x > 0.0 && y > 0.0) || (x < 0.0 && y < -1.0) {
                vec![y, x]
            } else {
                vec![1.0, -1.0]
            }
        }),
    );
}

// ----- return -------------------------------------------------------------------------

#[differentiate]
fn guard_clauses(x: f64, y: f64) -> f64 {
    if x < -2.0 {
        return 0.0;
    }
    if y < -1.0 {
        return x * y;
    }
    let s = x + y;
    if s > 3.0 {
        return s.sqrt();
    }
    s * s * x
}

#[test]
fn guard_clauses_return_early() {
    let g = generated!(guard_clauses, guard_clauses_grad, guard_clauses_vjp, guard_clauses_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("guards"),
        &[(-4.0, 4.0), (-3.0, 4.0)],
        4,
        |p| {
            let (x, y) = (p[0], p[1]);
            if !away_from(x, &[-2.0], 0.01) || !away_from(y, &[-1.0], 0.01) || !away_from(x + y, &[3.0], 0.01) {
                return None;
            }
            Some(if x < -2.0 {
                0
            } else if y < -1.0 {
                1
            } else if x + y > 3.0 {
                2
            } else {
                3
            })
        },
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            let s = x + y;
            if x < -2.0 {
                vec![0.0, 0.0]
            } else if y < -1.0 {
                vec![y, x]
            } else if s > 3.0 {
                vec![0.5 / s.sqrt(), 0.5 / s.sqrt()]
            } else {
                vec![2.0 * s * x + s * s, 2.0 * s * x]
            }
        }),
    );
}

#[differentiate]
fn nested_returns(x: f64, y: f64) -> f64 {
    let p = x * y;
    if x > 0.0 {
        if y > 0.0 {
            return p.sqrt();
        }
        let q = p - 1.0;
        if q < -2.0 {
            return q * q;
        }
        return q.exp();
    }
    p + x
}

#[test]
fn returns_from_nested_ifs() {
    let g = generated!(nested_returns, nested_returns_grad, nested_returns_vjp, nested_returns_pullback; x, y);
    check_branches(
        &g,
        &mut Rng::for_test("nested_returns"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        4,
        |p| {
            let (x, y) = (p[0], p[1]);
            if !away_from(x, &[0.0], 0.05) || !away_from(y, &[0.0], 0.05) || !away_from(x * y, &[-1.0], 0.02) {
                return None;
            }
            Some(if x <= 0.0 {
                3
            } else if y > 0.0 {
                0
            } else if x * y - 1.0 < -2.0 {
                1
            } else {
                2
            })
        },
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            let p = x * y;
            let q = p - 1.0;
            if x <= 0.0 {
                vec![y + 1.0, x]
            } else if y > 0.0 {
                vec![y / (2.0 * p.sqrt()), x / (2.0 * p.sqrt())]
            } else if q < -2.0 {
                vec![2.0 * q * y, 2.0 * q * x]
            } else {
                vec![q.exp() * y, q.exp() * x]
            }
        }),
    );
}

#[differentiate]
fn else_if_returns(x: f64) -> f64 {
    let y = x * 2.0;
    if x < -1.0 {
        return y * y;
    } else if x < 0.0 {
        return -y;
    } else if x < 1.0 {
        let z = y + 1.0;
        return z.ln();
    }
    y.sqrt() + x
}

#[test]
fn early_returns_in_an_else_if_chain() {
    let g = generated!(else_if_returns, else_if_returns_grad, else_if_returns_vjp, else_if_returns_pullback; x);
    check_branches(
        &g,
        &mut Rng::for_test("else_if_returns"),
        &[(-3.0, 3.0)],
        4,
        |p| {
            let x = p[0];
            away_from(x, &[-1.0, 0.0, 1.0], 0.02).then_some(if x < -1.0 {
                0
            } else if x < 0.0 {
                1
            } else if x < 1.0 {
                2
            } else {
                3
            })
        },
        Some(&|p| {
            let x = p[0];
            vec![if x < -1.0 {
                8.0 * x
            } else if x < 0.0 {
                -2.0
            } else if x < 1.0 {
                2.0 / (2.0 * x + 1.0)
            } else {
                1.0 / (2.0 * x).sqrt() + 1.0
            }]
        }),
    );
}

#[differentiate]
fn return_from_else(x: f64) -> f64 {
    let mut y = x;
    if x > 0.0 {
        y *= 3.0;
    } else {
        return x.exp();
    }
    y + 1.0
}

#[differentiate]
#[allow(clippy::needless_return)] // the `return` is the construct under test
fn return_in_else_tail(x: f64) -> f64 {
    if x > 1.0 {
        let t = x * x;
        t - x
    } else {
        return x.sin();
    }
}

#[differentiate]
#[allow(clippy::needless_return)] // the `return` is the construct under test
fn explicit_final_return(x: f64) -> f64 {
    let y = x * x;
    return y + x;
}

#[differentiate]
fn return_inside_a_block(x: f64) -> f64 {
    let y = x * 3.0;
    {
        if x > 0.0 {
            return y * x;
        }
    }
    y - 1.0
}

#[test]
fn return_from_else_branches_blocks_and_the_end() {
    let mut rng = Rng::for_test("return_else");
    let g = generated!(return_from_else, return_from_else_grad, return_from_else_vjp, return_from_else_pullback; x);
    check_branches(
        &g,
        &mut rng,
        &[(-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[0.0], 0.01).then_some(usize::from(p[0] > 0.0)),
        Some(&|p| vec![if p[0] > 0.0 { 3.0 } else { p[0].exp() }]),
    );
    let g = generated!(return_in_else_tail, return_in_else_tail_grad, return_in_else_tail_vjp,
        return_in_else_tail_pullback; x);
    check_branches(
        &g,
        &mut rng,
        &[(-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[1.0], 0.01).then_some(usize::from(p[0] > 1.0)),
        Some(&|p| vec![if p[0] > 1.0 { 2.0 * p[0] - 1.0 } else { p[0].cos() }]),
    );
    let g = generated!(explicit_final_return, explicit_final_return_grad, explicit_final_return_vjp,
        explicit_final_return_pullback; x);
    check_box_exact(&g, &mut rng, &[(-3.0, 3.0)], |p| vec![2.0 * p[0] + 1.0]);
    let g = generated!(return_inside_a_block, return_inside_a_block_grad, return_inside_a_block_vjp,
        return_inside_a_block_pullback; x);
    check_branches(
        &g,
        &mut rng,
        &[(-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[0.0], 0.01).then_some(usize::from(p[0] > 0.0)),
        Some(&|p| vec![if p[0] > 0.0 { 6.0 * p[0] } else { 3.0 }]),
    );
}

// ----- constants and casts ----------------------------------------------------------------

const SCALE: f64 = 0.5;

#[differentiate]
fn constants(x: f64) -> f64 {
    std::f64::consts::PI * x * x + E.powf(x) - (x / PI).sin() + std::f64::consts::E * SCALE * x
}

#[test]
fn pi_e_and_const_items() {
    let g = generated!(constants, constants_grad, constants_vjp, constants_pullback; x);
    check_box_exact(&g, &mut Rng::for_test("constants"), &[(-3.0, 3.0)], |p| {
        let x = p[0];
        vec![2.0 * PI * x + E.powf(x) * E.ln() - (x / PI).cos() / PI + E * SCALE]
    });
}

#[differentiate]
fn integer_casts(x: f64, n: i32, k: usize) -> f64 {
    let m = 2 * n;
    if n > 2 {
        return x * (n - 2) as f64;
    }
    x * n as f64 + x.powi(m) / (k as f64 + 1.0) + (k * 3) as f64
}

#[test]
fn integer_parameters_cast_to_f64() {
    let mut rng = Rng::for_test("integer_casts");
    for (n, k) in [(-1, 0), (0, 4), (1, 2), (2, 7), (3, 1), (5, 3)] {
        for _ in 0..POINTS {
            let x = rng.signed(0.2, 2.0);
            let (value, dx) = integer_casts_grad(x, n, k);
            assert_value(value, integer_casts(x, n, k));
            let m = 2 * n;
            let expected = if n > 2 {
                f64::from(n - 2)
            } else {
                f64::from(n) + f64::from(m) * x.powi(m - 1) / (k as f64 + 1.0)
            };
            assert_close(dx, expected, EXACT_TOLERANCE);
            assert_gradient(|p| integer_casts(p[0], n, k), &[x], &[dx]);
            let seed = rng.seed();
            let (value, sx) = integer_casts_vjp(x, n, k, seed);
            assert_value(value, integer_casts(x, n, k));
            assert_close(sx, seed * dx, EXACT_TOLERANCE);
            let (value, pullback) = integer_casts_pullback(x, n, k);
            assert_value(value, integer_casts(x, n, k));
            assert_eq!(pullback(&seed, (x, n, k)), (sx, (), ()));
        }
    }
}

// MACRO BUG (see the report): the result of an operation on integers is not
// known to be `Copy`, so a second operation on it goes through chainrule's
// float kernels and does not compile (E0277 "`i32` is not a value chainrule
// can differentiate", at `::chainrule::rules::add`):
//
//     #[differentiate]
//     fn int_chain(x: f64, n: i32) -> f64 {
//         let m = n * 2 + 1;
//         x.powi(m)
//     }
//
// `integer_casts` above uses a single operation, `2 * n`, instead.

// ----- constant, unused and selected parameters ----------------------------------------

#[differentiate]
fn unused_parameters(x: f64, _unused: f64, _: f64, y: f64) -> f64 {
    x * y
}

#[test]
fn unused_parameters_have_zero_gradient() {
    let g = generated!(unused_parameters, unused_parameters_grad, unused_parameters_vjp,
        unused_parameters_pullback; x, u, w, y);
    check_box_exact(
        &g,
        &mut Rng::for_test("unused"),
        &[(-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0)],
        |p| vec![p[3], 0.0, 0.0, p[0]],
    );
    let (_, pullback) = unused_parameters_pullback(2.0, 5.0, 7.0, 3.0);
    assert_eq!(pullback(&2.0, (2.0, 5.0, 7.0, 3.0)), (6.0, 0.0, 0.0, 4.0));
}

#[differentiate(wrt(z, x))]
fn wrt_subset(x: f64, y: f64, z: f64) -> f64 {
    x * y * z + y.sin() + z * z
}

#[differentiate(wrt(y))]
fn wrt_single(x: f64, y: f64, z: f64) -> f64 {
    x * y * z + y.sin() + z * z
}

#[test]
fn wrt_selects_parameters_and_outputs_follow_parameter_order() {
    let mut rng = Rng::for_test("wrt");
    for _ in 0..POINTS {
        let (x, y, z) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        // wrt(z, x): (value, ∂/∂x, ∂/∂z), in the order of the parameters.
        let (value, dx, dz) = wrt_subset_grad(x, y, z);
        assert_value(value, wrt_subset(x, y, z));
        assert_all_close(&[dx, dz], &[y * z, x * y + 2.0 * z], EXACT_TOLERANCE);
        assert_gradient(|p| wrt_subset(p[0], y, p[1]), &[x, z], &[dx, dz]);
        let seed = rng.seed();
        let (_, sx, sz) = wrt_subset_vjp(x, y, z, seed);
        assert_all_close(&[sx, sz], &[seed * dx, seed * dz], EXACT_TOLERANCE);
        let (value, pullback) = wrt_subset_pullback(x, y, z);
        assert_value(value, wrt_subset(x, y, z));
        assert_eq!(pullback(&seed, (x, y, z)), (sx, (), sz));

        let (value, dy) = wrt_single_grad(x, y, z);
        assert_value(value, wrt_single(x, y, z));
        assert_close(dy, x * z + y.cos(), EXACT_TOLERANCE);
        assert_gradient(|p| wrt_single(x, p[0], z), &[y], &[dy]);
        let (_, sy) = wrt_single_vjp(x, y, z, seed);
        assert_close(sy, seed * dy, EXACT_TOLERANCE);
        let (_, pullback) = wrt_single_pullback(x, y, z);
        assert_eq!(pullback(&seed, (x, y, z)), ((), sy, ()));
    }
}

#[differentiate]
fn bool_switch(x: f64, squared: bool, y: f64) -> f64 {
    if squared && x > 0.0 { x * x + y } else { x * y }
}

#[test]
fn a_bool_parameter_controls_a_branch() {
    let mut rng = Rng::for_test("bool");
    for squared in [false, true] {
        for _ in 0..2 * POINTS {
            let (x, y) = (rng.signed(0.1, 3.0), rng.uniform(-3.0, 3.0));
            let (value, dx, dy) = bool_switch_grad(x, squared, y);
            assert_value(value, bool_switch(x, squared, y));
            let expected = if squared && x > 0.0 { [2.0 * x, 1.0] } else { [y, x] };
            assert_all_close(&[dx, dy], &expected, EXACT_TOLERANCE);
            assert_gradient(|p| bool_switch(p[0], squared, p[1]), &[x, y], &[dx, dy]);
            let seed = rng.seed();
            let (_, pullback) = bool_switch_pullback(x, squared, y);
            let (px, (), py) = pullback(&seed, (x, squared, y));
            let (_, sx, sy) = bool_switch_vjp(x, squared, y, seed);
            assert_identical(&[px, py], &[sx, sy]);
            assert_all_close(&[sx, sy], &[seed * dx, seed * dy], EXACT_TOLERANCE);
        }
    }
}

// ----- &f64 parameters ------------------------------------------------------------------

#[differentiate]
fn by_reference(x: &f64, y: f64, z: &f64) -> f64 {
    let a = *x * y;
    let b = x * z;
    a.sin() + b * *z + x.exp()
}

#[test]
fn reference_parameters() {
    let g = Generated {
        name: "by_reference",
        primal: &|p| by_reference(&p[0], p[1], &p[2]),
        grad: &|p| {
            let (value, dx, dy, dz) = by_reference_grad(&p[0], p[1], &p[2]);
            (value, vec![dx, dy, dz])
        },
        vjp: &|p, seed| {
            let (value, dx, dy, dz) = by_reference_vjp(&p[0], p[1], &p[2], seed);
            (value, vec![dx, dy, dz])
        },
        pullback: &|p, seed| {
            let (value, pullback) = by_reference_pullback(&p[0], p[1], &p[2]);
            let (dx, dy, dz) = pullback(&seed, (&p[0], p[1], &p[2]));
            (value, vec![dx, dy, dz])
        },
    };
    check_box_exact(
        &g,
        &mut Rng::for_test("by_reference"),
        &[(-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0)],
        |p| {
            let (x, y, z) = (p[0], p[1], p[2]);
            vec![y * (x * y).cos() + z * z + x.exp(), x * (x * y).cos(), 2.0 * x * z]
        },
    );
}

#[differentiate]
fn reference_with_lifetime<'a>(x: &'a f64, y: &'a f64) -> f64 {
    let xv = *x;
    let m = if xv > 1.0 { xv * *y } else { y - xv };
    m + x.sin()
}

#[differentiate(wrt(y))]
fn reference_not_differentiated(x: &f64, y: f64) -> f64 {
    if x.is_sign_positive() { x * y * y } else { y }
}

#[test]
fn reference_parameters_with_lifetimes_branches_and_wrt() {
    let mut rng = Rng::for_test("reference_branches");
    let g = Generated {
        name: "reference_with_lifetime",
        primal: &|p| reference_with_lifetime(&p[0], &p[1]),
        grad: &|p| {
            let (value, dx, dy) = reference_with_lifetime_grad(&p[0], &p[1]);
            (value, vec![dx, dy])
        },
        vjp: &|p, seed| {
            let (value, dx, dy) = reference_with_lifetime_vjp(&p[0], &p[1], seed);
            (value, vec![dx, dy])
        },
        pullback: &|p, seed| {
            let (value, pullback) = reference_with_lifetime_pullback(&p[0], &p[1]);
            let (dx, dy) = pullback(&seed, (&p[0], &p[1]));
            (value, vec![dx, dy])
        },
    };
    check_branches(
        &g,
        &mut rng,
        &[(-3.0, 3.0), (-3.0, 3.0)],
        2,
        |p| away_from(p[0], &[1.0], 0.01).then_some(usize::from(p[0] > 1.0)),
        Some(&|p| {
            let (x, y) = (p[0], p[1]);
            if x > 1.0 {
                vec![y + x.cos(), x]
            } else {
                vec![-1.0 + x.cos(), 1.0]
            }
        }),
    );
    for _ in 0..POINTS {
        let (x, y) = (rng.signed(0.1, 3.0), rng.uniform(-3.0, 3.0));
        let (value, dy) = reference_not_differentiated_grad(&x, y);
        assert_value(value, reference_not_differentiated(&x, y));
        assert_close(dy, if x > 0.0 { 2.0 * x * y } else { 1.0 }, EXACT_TOLERANCE);
        let (_, pullback) = reference_not_differentiated_pullback(&x, y);
        assert_eq!(pullback(&1.0, (&x, y)), ((), dy));
    }
}

// MACRO BUG (see the report): dereferencing a `&f64` parameter inside an
// `if` condition does not compile. The condition is kept as written with `x`
// renamed to the `f64` copy the body reads, so `*x` becomes a dereference of
// an `f64` (E0614 "type `f64` cannot be dereferenced"):
//
//     #[differentiate]
//     fn deref_in_condition(x: &f64, y: f64) -> f64 {
//         if *x > 0.0 { *x * y } else { y }
//     }
//
// `reference_with_lifetime` above works around it with `let xv = *x;`.

// ----- calls of other #[differentiate] functions -----------------------------------------

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate(wrt(x))]
fn scaled_power(x: f64, scale: f64, n: i32) -> f64 {
    scale * x.powi(n)
}

mod helpers {
    use chainrule::differentiate;

    #[differentiate]
    pub fn cube(x: f64) -> f64 {
        x * x * x
    }
}

#[differentiate]
fn callee_called_twice(a: f64, b: f64) -> f64 {
    square(a) + square(a * b)
}

#[test]
fn a_callee_called_twice() {
    let g = generated!(callee_called_twice, callee_called_twice_grad, callee_called_twice_vjp,
        callee_called_twice_pullback; a, b);
    check_box_exact(&g, &mut Rng::for_test("twice"), &[(-3.0, 3.0), (-3.0, 3.0)], |p| {
        let (a, b) = (p[0], p[1]);
        vec![2.0 * a + 2.0 * a * b * b, 2.0 * a * a * b]
    });
}

#[differentiate(wrt(a))]
fn calls_subset_callee(a: f64, s: f64, n: i32) -> f64 {
    scaled_power(a, s, n) + scaled_power(a * 2.0, 0.5, 3) + helpers::cube(a)
}

#[test]
fn a_callee_with_wrt_subset_and_an_integer_parameter() {
    let mut rng = Rng::for_test("subset_callee");
    for n in [1, 2, 4] {
        for _ in 0..POINTS {
            let (a, s) = (rng.signed(0.2, 2.0), rng.uniform(-2.0, 2.0));
            let (value, da) = calls_subset_callee_grad(a, s, n);
            assert_value(value, calls_subset_callee(a, s, n));
            let expected = s * f64::from(n) * a.powi(n - 1) + 0.5 * 3.0 * (2.0 * a).powi(2) * 2.0 + 3.0 * a * a;
            assert_close(da, expected, EXACT_TOLERANCE);
            assert_gradient(|p| calls_subset_callee(p[0], s, n), &[a], &[da]);
            let seed = rng.seed();
            let (_, sa) = calls_subset_callee_vjp(a, s, n, seed);
            assert_close(sa, seed * da, EXACT_TOLERANCE);
            let (_, pullback) = calls_subset_callee_pullback(a, s, n);
            assert_eq!(pullback(&seed, (a, s, n)), (sa, (), ()));
        }
    }
    // The callee's own pullback has `()` for its constant parameters.
    let (value, pullback) = scaled_power_pullback(2.0, 3.0, 2);
    assert_eq!((value, pullback(&1.0, (2.0, 3.0, 2))), (12.0, (12.0, (), ())));
}

#[differentiate]
fn weighted_square(x: &f64, w: f64) -> f64 {
    w * x * x
}

#[differentiate]
fn calls_reference_callee(a: f64, b: f64) -> f64 {
    weighted_square(&a, b) + weighted_square(&(a * b), 2.0)
}

#[test]
fn a_callee_with_a_reference_parameter() {
    // b·a² + 2(ab)²
    let g = generated!(calls_reference_callee, calls_reference_callee_grad, calls_reference_callee_vjp,
        calls_reference_callee_pullback; a, b);
    check_box_exact(
        &g,
        &mut Rng::for_test("reference_callee"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        |p| {
            let (a, b) = (p[0], p[1]);
            vec![2.0 * a * b + 4.0 * a * b * b, a * a + 4.0 * a * a * b]
        },
    );
}

#[differentiate]
fn call_in_branch(a: f64, b: f64) -> f64 {
    let d = a - b;
    if d > 0.0 {
        square(d) * b
    } else {
        let t = square(b);
        t + helpers::cube(a)
    }
}

#[test]
fn a_callee_called_inside_branches() {
    let g = generated!(call_in_branch, call_in_branch_grad, call_in_branch_vjp, call_in_branch_pullback; a, b);
    check_branches(
        &g,
        &mut Rng::for_test("call_in_branch"),
        &[(-3.0, 3.0), (-3.0, 3.0)],
        2,
        |p| away_from(p[0] - p[1], &[0.0], 0.01).then_some(usize::from(p[0] <= p[1])),
        Some(&|p| {
            let (a, b) = (p[0], p[1]);
            let d = a - b;
            if d > 0.0 {
                vec![2.0 * d * b, -2.0 * d * b + d * d]
            } else {
                vec![3.0 * a * a, 2.0 * b]
            }
        }),
    );
}

#[differentiate]
fn call_in_condition(x: f64) -> f64 {
    let k = square(3.0);
    if square(x) > 1.0 { x * k } else { -x }
}

#[test]
fn calls_with_constant_arguments_and_in_conditions() {
    let g = generated!(call_in_condition, call_in_condition_grad, call_in_condition_vjp,
        call_in_condition_pullback; x);
    check_branches(
        &g,
        &mut Rng::for_test("call_in_condition"),
        &[(-3.0, 3.0)],
        2,
        |p| away_from(p[0].abs(), &[1.0], 0.01).then_some(usize::from(p[0].abs() <= 1.0)),
        Some(&|p| vec![if p[0].abs() > 1.0 { 9.0 } else { -1.0 }]),
    );
}

#[differentiate]
fn link1(x: f64) -> f64 {
    x.sin() * x
}

#[differentiate]
fn link2(x: f64, y: f64) -> f64 {
    link1(x * y) + y
}

#[differentiate]
fn link3(a: f64, b: f64) -> f64 {
    let e = a.exp();
    link2(e, b) * a
}

#[test]
fn a_chain_of_three_functions() {
    let g = generated!(link3, link3_grad, link3_vjp, link3_pullback; a, b);
    check_box_exact(&g, &mut Rng::for_test("chain"), &[(-1.5, 1.5), (-2.0, 2.0)], |p| {
        let (a, b) = (p[0], p[1]);
        let u = a.exp() * b;
        let (l1, dl1) = (u.sin() * u, u.cos() * u + u.sin());
        vec![dl1 * u * a + l1 + b, a * (dl1 * a.exp() + 1.0)]
    });
}

#[test]
fn pullbacks_of_callers_and_callees_agree() {
    let mut rng = Rng::for_test("pullbacks");
    for _ in 0..POINTS {
        let (a, b) = (rng.uniform(-1.5, 1.5), rng.uniform(-2.0, 2.0));
        let seed = rng.seed();
        // link3 = link2(eᵃ, b)·a, pulled back by hand through link2's pullback.
        let e = a.exp();
        let (l2, pullback2) = link2_pullback(e, b);
        let (de, db) = pullback2(&(seed * a), (e, b));
        let by_hand = [de * e + seed * l2, db];

        let (value, pullback3) = link3_pullback(a, b);
        assert_value(value, link3(a, b));
        assert_value(value, l2 * a);
        let (da, db3) = pullback3(&seed, (a, b));
        assert_all_close(&[da, db3], &by_hand, EXACT_TOLERANCE);
        let (_, ga, gb) = link3_grad(a, b);
        assert_all_close(&[da, db3], &[seed * ga, seed * gb], EXACT_TOLERANCE);
    }
}
