"""ReLU four-point moments where the correlations near 1 (the kink sharpens at every level).

Referees, none of which shares the quadrature under test:

* the four-distinct-input moment ``E[relu(z0) relu(z1) relu(z2) relu(z3)]`` by nested adaptive
  quadrature (scipy ``quad`` with the kinks as breakpoints, the inner level in closed form,
  written here);
* the two- and three-input moments by the certified arb routes of the enclosure
  (``acb.integral`` of entire integrands);
* the finite-width coefficient by the certified enclosure of the whole recursion.

A fixed 64-node Gauss-Hermite rule per level missed these by 1e-8 to 1e-5 (and the depth-2
coefficient at ``rho = 0.99`` by 30%).
"""

from __future__ import annotations

import math

import pytest
from scipy.integrate import quad

from nstheory.propagation.finite_width import finite_width_recursion
from nstheory.propagation.finite_width_enclosure import (
    relu_cross_moment_arb,
    relu_pair_moment_arb,
)
from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks
from nstheory.propagation.four_point import four_point_moments, stat_entries
from nstheory.propagation.model import mlp

ENT = stat_entries()
#: (q, c, e): a pair near 1 with a moderate cross-pair covariance (layer 2 at rho 0.99), and
#: all four inputs nearly aligned (deep layers)
POINTS = [(1.0, 0.99, 0.32), (1.0, 0.999, 0.9), (1.0, 0.9999, 0.998), (2.5, 2.49, 2.4)]


def _moment(f, s, a, b):
    """``E[prod_a prod_b]`` from ``(F, S)``."""
    i, j = ENT.index(a), ENT.index(b)
    return s[i, j] + f[i] * f[j]


def _relu_mean(x, s):
    t = x / s
    return x * 0.5 * math.erfc(-t / math.sqrt(2)) + s * math.exp(-0.5 * t * t) / math.sqrt(
        2 * math.pi)


def _four_distinct(q, c, e):
    """``E prod_a relu(z_a)`` by nested adaptive quadrature over the shared and per-pair parts."""
    a, b, s = math.sqrt(e), math.sqrt(c - e), math.sqrt(q - c)
    gauss = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)  # noqa: E731

    def pair(w):
        f = lambda t: _relu_mean(a * w + b * t, s) ** 2 * gauss(t)  # noqa: E731
        return quad(f, -40, 40, points=[-a * w / b], epsabs=1e-14, epsrel=1e-12, limit=500)[0]

    width = math.sqrt(q - e) / a
    return quad(lambda w: pair(w) ** 2 * gauss(w), -40, 40, points=[0.0, -width, width],
                epsabs=1e-14, epsrel=1e-12, limit=500)[0]


@pytest.mark.parametrize("q, c, e", POINTS)
def test_four_distinct_inputs_against_nested_quadrature(q, c, e):
    f, s = four_point_moments("relu", q, c, e)
    assert _moment(f, s, (0, 1), (2, 3)) == pytest.approx(_four_distinct(q, c, e), rel=1e-10)


@pytest.mark.parametrize("q, c, e", POINTS)
def test_two_and_three_input_moments_against_arb(q, c, e):
    from flint import arb

    f, s = four_point_moments("relu", q, c, e)

    def check(value, ball):
        mid, rad = float(ball.mid()) * q * q, float(ball.rad()) * q * q
        assert abs(value - mid) <= rad + 1e-12 * abs(mid), (value, mid, rad)

    r, t = arb(c) / q, arb(e) / q
    # within a pair (correlation c / q) and across pairs (e / q): E relu(u)^j relu(v)^k
    check(_moment(f, s, (0, 0), (1, 1)), relu_pair_moment_arb(2, 2, r))
    check(_moment(f, s, (0, 0), (0, 1)), relu_pair_moment_arb(3, 1, r))
    check(_moment(f, s, (0, 0), (2, 2)), relu_pair_moment_arb(2, 2, t))
    check(_moment(f, s, (0, 0), (0, 2)), relu_pair_moment_arb(3, 1, t))
    # one pair and one input of the other: E[relu(z0) relu(z1) relu(z2)^2]
    check(_moment(f, s, (0, 1), (2, 2)), relu_cross_moment_arb(2, r, t))


def test_degenerate_levels_are_exact():
    # c = q: both inputs of a pair coincide, independent pairs: E relu(z0) relu(z2) = q / (2 pi)
    # (the fixed rule, meeting the bare kink, gave 0.16122 for 0.15915)
    f, s = four_point_moments("relu", 2.0, 2.0, 0.0)
    i = ENT.index((0, 2))
    assert f[i] == pytest.approx(2.0 / (2 * math.pi), rel=1e-14)
    assert f[ENT.index((0, 0))] == pytest.approx(1.0, rel=1e-14)  # E relu^2 = q / 2
    assert _moment(f, s, (0, 0), (0, 0)) == pytest.approx(6.0, rel=1e-14)  # E relu^4
    assert _moment(f, s, (0, 0), (2, 2)) == pytest.approx(1.0, rel=1e-14)  # (q / 2)^2
    # c = e = q: one input four times: E relu^4 = 3 q^2 / 2
    f, s = four_point_moments("relu", 2.0, 2.0, 2.0)
    assert _moment(f, s, (0, 1), (2, 3)) == pytest.approx(6.0, rel=1e-14)


@pytest.mark.parametrize("depth, rho, kw", [
    (2, 0.99, {}), (2, 0.995, {}), (2, 0.99, {"residual": True}),
    (2, 0.99, {"layernorm": True}), (50, 0.9, {}),
])
@pytest.mark.parametrize("per_net", [1, 3])
def test_coefficient_near_rho_one_against_enclosure(depth, rho, kw, per_net):
    model = mlp(depth, **kw)
    rec = finite_width_recursion(model, rho, per_net=per_net)[-1]
    enc = finite_width_enclosure_blocks(model, rho, per_net=per_net)[-1]
    for value, ball in ((rec.coef_raw, enc.coef_raw),
                        (rec.coef_normalised, enc.coef_normalised)):
        mid, rad = float(ball.mid()), float(ball.rad())
        assert abs(value - mid) <= rad + 1e-8 * abs(mid), (value, mid, rad)


@pytest.mark.parametrize("kw", [{"layernorm": True}, {"layernorm": True, "residual": True}])
@pytest.mark.parametrize("per_net", [1, 3])
def test_layernorm_at_rho_zero(kw, per_net):
    # LayerNorm centres the independent inputs' covariance to zero; its rounding residue
    # (-6.5e-16) used to trip the domain check
    model = mlp(3, **kw)
    rec = finite_width_recursion(model, 0.0, per_net=per_net)[-1]
    enc = finite_width_enclosure_blocks(model, 0.0, per_net=per_net)[-1]
    assert abs(rec.coef_normalised - float(enc.coef_normalised.mid())) <= 1e-10
