"""Certified finite-d softmax pattern moments, against independent routes written here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from flint import arb

import nstheory.attention.certified_softmax as cs
from nstheory.attention.certified_softmax import (
    consistency_certified,
    consistency_certified_range,
    consistency_slope_bound,
    self_weight_certified,
)
from nstheory.attention.pattern_moments import (
    finite_d_pattern,
    finite_d_pattern_balls,
    softmax_consistency,
    softmax_consistency_two_tokens,
    softmax_self_weight,
)
from nstheory.errors import NSTheoryError


def _gauss_hermite_s3(sigma: float, r: float, m: int) -> float:
    """``S_3(sigma, r)`` by a tensor Gauss-Hermite rule over the two rows' logit differences
    ``(G2 - G1, G3 - G1, G2' - G1', G3' - G1')`` (4-D Gaussian); ``r = 1`` gives ``w`` (2-D).
    At ``sigma <= 1`` it converges to ~1e-15 by ``m = 32`` (rows 24 / 32 / 40 agree)."""
    x, wt = np.polynomial.hermite_e.hermegauss(m)
    wt = wt / math.sqrt(2 * math.pi)
    sig2 = np.array([[2.0, 1.0], [1.0, 2.0]])
    dim = 2 if r == 1.0 else 4
    cov = sig2 if dim == 2 else np.block([[sig2, r * sig2], [r * sig2, sig2]])
    chol = np.linalg.cholesky(cov)
    z = np.stack(np.meshgrid(*[x] * dim, indexing="ij"), -1).reshape(-1, dim)
    w = np.prod(np.stack(np.meshgrid(*[wt] * dim, indexing="ij"), -1).reshape(-1, dim), 1)
    d = z @ chol.T
    if dim == 2:
        d = np.concatenate([d, d], axis=1)

    def softmax(d1, d2):
        e = np.stack([np.zeros_like(d1), sigma * d1, sigma * d2], 1)
        e = np.exp(e - e.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    return float(np.sum(w * np.sum(softmax(d[:, 0], d[:, 1]) * softmax(d[:, 2], d[:, 3]), 1)))


@pytest.mark.parametrize("sigma, r", [(4.0, 0.5), (4.0, -0.5), (0.3, 0.7), (16.0, 0.81),
                                      (60.0, 0.9), (2.0, 0.05), (1.0, -0.95)])
def test_two_tokens_contain_the_sigmoid_route(sigma, r):
    # independent route: 2 E[sigmoid(k U) sigmoid(k U')], accurate to ~1e-15
    ball = consistency_certified(2, sigma, r)
    assert ball.contains(arb(softmax_consistency_two_tokens(sigma, r)))
    assert float(ball.rad()) < 2e-10


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.2, 1.0, 3.0, 40.0])
def test_two_token_self_weight_contains_the_sigmoid_route(sigma):
    ball = self_weight_certified(2, sigma)
    assert ball.contains(arb(softmax_consistency_two_tokens(sigma, 1.0)))
    assert float(ball.rad()) < 2e-10


@pytest.mark.parametrize("sigma, r", [(0.7, 0.5), (0.7, -0.6), (1.0, 1.0), (1.5, 1.0)])
def test_three_tokens_contain_a_gauss_hermite_rule(sigma, r):
    exact = _gauss_hermite_s3(sigma, r, 240 if r == 1.0 else 32)
    ball = consistency_certified(3, sigma, r)
    assert ball.contains(arb(exact)) and float(ball.rad()) < 2e-10
    # the check can fail: a value off by 1e-9 (ten times the radius) is outside
    assert not ball.contains(arb(exact + 1e-9))


@pytest.mark.parametrize("n, sigma, r", [(4, 16.0, 0.81), (8, 4.0, 0.3), (16, 8.0, 0.5),
                                         (4, 4.0, -0.9), (64, 8.0, 0.5), (3, 50.0, 0.95)])
def test_agrees_with_the_float_lattice_within_its_estimate(n, sigma, r):
    # the float route shares the Gumbel-max representation (a consistency check, not a route)
    v, err = softmax_consistency(n, sigma, r)
    ball = consistency_certified(n, sigma, r)
    assert abs(float(ball.mid()) - v) <= err + float(ball.rad())
    wv, werr = softmax_self_weight(n, sigma)
    wb = self_weight_certified(n, sigma)
    assert abs(float(wb.mid()) - wv) <= werr + float(wb.rad())


def test_mehler_fallback_is_rigorous_and_wider(monkeypatch):
    sharp = consistency_certified(4, 4.0, 0.6)
    monkeypatch.setattr(cs, "LATTICE_CAP", 1)
    bracket = consistency_certified(4, 4.0, 0.6)
    assert bracket.contains(sharp) and float(bracket.rad()) > 1e3 * float(sharp.rad())
    # tiny |r|: the bracket (half-width r^2 (w - 1/n - c_1)) against the lattice at r = 1e-3,
    # scaled linearly to r = 1e-6 (curvature error ~1e-9; the slope term is ~3e-7)
    tiny = consistency_certified(4, 4.0, 1e-6)
    lattice = consistency_certified(4, 4.0, 1e-3)
    assert float(tiny.rad()) < 1e-12
    slope = float((lattice - arb(1) / 4).mid()) * 1e-3
    assert slope > 1e-7 and abs(float((tiny - arb(1) / 4).mid()) - slope) < 2e-9


def test_limits_exact_values_and_the_hard_argmax():
    assert consistency_certified(1, 3.0, 0.4) == arb(1)
    assert consistency_certified(5, 0.0, 0.4).contains(arb(1) / 5)
    assert consistency_certified(5, 3.0, 0.0).contains(arb(1) / 5)
    assert consistency_certified(5, 3.0, 1.0).overlaps(self_weight_certified(5, 3.0))
    # nearly hard argmax: the rigorous bracket [1 - n(n - 1)/(sigma sqrt(pi)), 1]
    far = self_weight_certified(4, 1e5)
    assert far.contains(arb(1)) and far.lower() > 0.9999 and far.upper() < 1 + 1e-12
    for sigma in (5000.0, 9999.0):  # beyond the lattice's cap: the bracket, not an error
        bound = 1 - 12 / (sigma * math.sqrt(math.pi)) - 1e-9  # radius kept to 30 bits
        assert float(self_weight_certified(4, sigma).lower()) >= bound
        assert consistency_certified(4, sigma, 0.5).contains(arb("0.4601"))
    # large sigma approaches s_2(r) = 1/2 + arcsin(r)/pi from below (rate 1/sigma^2)
    gap = 2 / 3 - float(consistency_certified(2, 200.0, 0.5).mid())
    assert 0 < gap < 1e-3


def test_range_is_the_monotone_hull():
    mid = consistency_certified(4, 16.0, 0.81)
    rng = consistency_certified_range(4, 16.0, 0.8, 0.82)
    assert rng.contains(mid) and float(rng.rad()) > 1e-4
    w = self_weight_certified(4, 16.0)
    top = consistency_certified_range(4, 16.0, 0.9, 0.999)  # an end above R_LATTICE_MAX
    for r in (0.9, 0.95, 0.999):
        assert top.contains(arb(softmax_consistency(4, 16.0, r)[0]))
    # a degenerate range at or above R_LATTICE_MAX still holds its value (a bug once returned
    # S(R_LATTICE_MAX) for [1, 1], which excludes w = S(1))
    assert consistency_certified_range(4, 16.0, 1.0, 1.0).contains(w)
    near = consistency_certified_range(4, 16.0, 0.999, 0.999)
    assert near.contains(arb(softmax_consistency(4, 16.0, 0.999)[0]))
    assert float(near.rad()) < 0.02  # the monotone hull [S(0.995), w], not the Mehler bracket
    with pytest.raises(NSTheoryError):
        consistency_certified_range(4, 16.0, 0.5, 0.4)


@pytest.mark.parametrize("args", [(2, -1.0, 0.5), (2, float("nan"), 0.5), (2, 1.0, 1.01),
                                  (0, 1.0, 0.5), (2, float("inf"), 0.5)])
def test_bad_arguments_raise(args):
    with pytest.raises(NSTheoryError):
        consistency_certified(*args)


def test_pattern_balls_are_certified_and_contain_the_float_route():
    s, w, t, t2 = finite_d_pattern_balls(4, 16, "sqrt", arb(1), arb(0), arb("0.9"), arb(0))
    pm = finite_d_pattern(4, 16, "sqrt", 1.0, 0.0, 0.9, 0.0)
    for ball, v, err in ((s, pm.s, pm.s_err), (w, pm.w, pm.w_err)):
        assert abs(float(ball.mid()) - v) <= err + float(ball.rad())
        assert float(ball.rad()) < 1e-8
    assert t.contains(arb(1) / 4) and t2.contains(arb(1) / 4)
    # a state with a radius widens by the proved Lipschitz bounds; ends stay in [0, 1]
    wide = finite_d_pattern_balls(4, 16, "sqrt", arb(1, 1e-3), arb(0), arb("0.9", "0.01"),
                                  arb(0))
    assert wide[0].contains(s) and wide[1].contains(w) and wide[1].upper() <= 1


@pytest.mark.parametrize("n, sigma", [(4, 0.2), (8, 0.1), (256, 0.2)])
def test_small_sigma_self_weight_routes_agree(n, sigma):
    # below SMALL_SIGMA the scaled-variable route (strip from the log-Gamma part) is used;
    # the unscaled route (strip from the Gaussian part) still runs there: two bounds, one value
    scaled = cs._self_weight_ball(n, sigma, 10)
    unscaled = cs._self_weight(n, sigma, 1e-10)
    assert scaled.overlaps(unscaled) and float(scaled.rad()) < 1e-9


@pytest.mark.parametrize("sigma", [2e-4, 1e-6, 1e-300, 5e-324])
def test_nearly_uniform_patterns_neither_crash_nor_drift(sigma):
    # w = 1/n + sigma^2 (n - 1)/n^2 + O(sigma^4); S(r) = 1/n + c_1 r + O(sigma^4)
    leading = 0.25 + sigma * sigma * 3 / 16
    assert abs(float(self_weight_certified(4, sigma).mid()) - leading) < 1e-9
    assert abs(softmax_self_weight(4, sigma)[0] - leading) < 1e-9
    for r in (0.5, -0.5):
        ball = consistency_certified(4, sigma, r)
        assert abs(float(ball.mid()) - (0.25 + r * sigma * sigma * 3 / 16)) < 1e-9
        assert abs(softmax_consistency(4, sigma, r)[0] - float(ball.mid())) < 2e-11


@pytest.mark.parametrize("n, sigma", [(4, 16.0), (2, 4.0), (8, 1.0), (4, 0.3)])
def test_slope_bound_holds_and_is_not_vacuous(n, sigma):
    # secant of S over [0.99, 1] from the float lattice (S(1) = w) and, for n = 2, the sigmoid
    # route: within the bound sigma^2 (1 - w)/2, and the bound within 4x of it
    w = self_weight_certified(n, sigma)
    below = (softmax_consistency_two_tokens(sigma, 0.99) if n == 2
             else softmax_consistency(n, sigma, 0.99)[0])
    secant = (float(w.mid()) - below) / 0.01
    bound = float(consistency_slope_bound(sigma, w))
    assert 0 < secant <= bound < 4 * secant
    # near r = 1 the enclosure is the hull [w - (1 - r) bound, w]: sharp where the lattice ends
    near = consistency_certified(n, sigma, 0.9999)
    assert float(near.rad()) <= 1e-4 * bound
    far = consistency_certified(n, sigma, -0.999)  # the edge at -0.995 moved by 0.004 bound
    edge = consistency_certified(n, sigma, -0.995)
    assert float(far.rad()) <= float(edge.rad()) + 0.0041 * bound + 1e-9
    if n == 2:
        assert near.contains(arb(softmax_consistency_two_tokens(sigma, 0.9999)))
        assert far.contains(arb(softmax_consistency_two_tokens(sigma, -0.999)))
