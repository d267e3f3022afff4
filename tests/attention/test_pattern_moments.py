"""Finite-d softmax pattern moments: the Gumbel-lattice route against independent routes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nstheory.attention.pattern_moments import (
    SMALL_R,
    finite_d_pattern,
    finite_d_pattern_balls,
    logit_correlations,
    moment_lipschitz,
    softmax_consistency,
    softmax_consistency_two_tokens,
    softmax_self_weight,
)
from nstheory.errors import NSTheoryError


def _softmax_mc(n, sigma, r, samples, seed):
    """Direct sampling of sum_k softmax(sigma G)_k softmax(sigma G')_k (mean, standard error)."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((samples, n))
    gp = r * g + math.sqrt(max(0.0, 1.0 - r * r)) * rng.standard_normal((samples, n))

    def sm(x):
        x = sigma * x
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    v = (sm(g) * sm(gp)).sum(axis=1)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(samples))


@pytest.mark.parametrize("sigma,r", [(4.0, 0.5), (16.0, 0.81), (0.5, -0.4), (16.0, 0.95),
                                     (64.0, 0.3), (3.0, 0.02), (1.0, -0.9)])
def test_two_tokens_lattice_matches_sigmoid_route(sigma, r):
    v, err = softmax_consistency(2, sigma, r)
    ref = softmax_consistency_two_tokens(sigma, r)
    assert abs(v - ref) <= max(err, 1e-10)
    assert err < 1e-9  # at least 9 digits claimed, and met


@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0, 16.0, 40.0])
def test_self_weight_matches_sigmoid_route_at_r_one(sigma):
    v, err = softmax_self_weight(2, sigma)
    assert abs(v - softmax_consistency_two_tokens(sigma, 1.0)) <= max(err, 1e-10)


def test_small_r_expansion_is_within_its_error_and_continuous():
    for r in (0.5 * SMALL_R, -0.9 * SMALL_R, 1e-4):
        v, err = softmax_consistency(2, 3.0, r)
        ref = softmax_consistency_two_tokens(3.0, r)
        assert abs(v - ref) <= err, (r, v, ref, err)
    below = softmax_consistency(4, 16.0, 0.999 * SMALL_R)
    above = softmax_consistency(4, 16.0, 1.001 * SMALL_R)
    assert abs(below[0] - above[0]) <= below[1] + above[1] + 2 * 0.002 * SMALL_R * 512


@pytest.mark.parametrize("n,sigma,r", [(3, 5.0, 0.5), (4, 4.0, 0.81), (4, 16.0, -0.3)])
def test_lattice_matches_direct_sampling(n, sigma, r):
    # alternative it must detect: the hard-argmax value s_n(r) (the d -> inf limit), which
    # differs by > 0.01 at these sigma; 200k samples give SE < 1.1e-3, so a 4-SE test has
    # power > 0.99 against it
    from nstheory.propagation.maps import consistency_float

    v, _ = softmax_consistency(n, sigma, r)
    mean, se = _softmax_mc(n, sigma, r, 200_000, seed=n * 100 + int(sigma))
    assert se < 1.1e-3
    assert abs(consistency_float(n, r) - v) > 0.01 or sigma > 10
    assert abs(mean - v) <= 4 * se


def test_limits_and_monotonicity():
    from nstheory.propagation.maps import consistency_float

    assert softmax_consistency(5, 0.0, 0.7) == (0.2, 0.0)
    assert softmax_consistency(5, 7.0, 0.0) == (0.2, 0.0)
    assert softmax_consistency(1, 7.0, 0.3) == (1.0, 0.0)
    # hard-argmax limit with the O(1/sigma^2) approach measured on 100 -> 400
    e1 = softmax_consistency(4, 100.0, 0.5)[0] - consistency_float(4, 0.5)
    e2 = softmax_consistency(4, 400.0, 0.5)[0] - consistency_float(4, 0.5)
    assert abs(e1) < 1e-4 and 10 < e1 / e2 < 22
    # Mehler: increasing in r on [0, 1], and S(-r) >= 2/n - S(r)
    vals = [softmax_consistency(4, 8.0, r)[0] for r in (0.05, 0.3, 0.6, 0.9)]
    assert vals == sorted(vals)
    assert softmax_consistency(4, 8.0, -0.6)[0] >= 0.5 - vals[2]


def test_pattern_from_stream_moments():
    pm = finite_d_pattern(4, 256, "sqrt", 1.0, 0.0, 0.9, 0.0)
    assert pm.sigma == 16.0 and pm.t == pm.t2 == 0.25
    assert pm.s == softmax_consistency(4, 16.0, 0.81)[0]
    assert pm.w == softmax_self_weight(4, 16.0)[0]
    # identical tokens: uniform pattern
    pm = finite_d_pattern(4, 256, "sqrt", 1.0, 1.0, 0.5, 0.5)
    assert pm.s == pm.w == pm.t == pm.t2 == 0.25
    assert logit_correlations(2.0, 0.5, 1.5, 0.25) == (1.5 * 1.25 / 3.0, 0.25 * 1.25 / 3.0,
                                                      0.25)
    # scales: 1/d gives sigma^2 = Q (Q - P), none gives d^2 Q (Q - P)
    assert finite_d_pattern(2, 64, "linear", 1.0, 0.0, 0.5, 0.0).sigma == 1.0
    assert finite_d_pattern(2, 8, "none", 1.0, 0.0, 0.5, 0.0).sigma == 8.0


def test_balls_contain_points_and_widen_with_radius():
    from flint import arb

    s, w, t, t2 = finite_d_pattern_balls(4, 256, "sqrt", arb(1), arb(0), arb("0.9"), arb(0))
    pm = finite_d_pattern(4, 256, "sqrt", 1.0, 0.0, 0.9, 0.0)
    for ball, v in ((s, pm.s), (w, pm.w), (t, pm.t), (t2, pm.t2)):
        assert ball.contains(arb(v)) and float(ball.rad()) < 1e-9
    wide = finite_d_pattern_balls(4, 256, "sqrt", arb(1), arb(0), arb("0.9", "0.001"), arb(0))
    assert wide[0].contains(s) and float(wide[0].rad()) > 1e-4
    assert moment_lipschitz(4, 16.0)[0] == 512.0


@pytest.mark.parametrize("args", [(2, -1.0, 0.5), (2, float("nan"), 0.5), (2, 1.0, 1.01),
                                  (0, 1.0, 0.5), (2, float("inf"), 0.5)])
def test_bad_arguments_raise(args):
    with pytest.raises(NSTheoryError):
        softmax_consistency(*args)


def test_mehler_bracket_where_the_lattice_is_too_large():
    # huge sigma with r near 1 and tiny sigma: the bracket holds the value, its error is honest
    v, err = softmax_consistency(4, 1e4, 0.999999)
    w, _ = softmax_self_weight(4, 1e4)
    assert 0.25 <= v - err and v + err >= w - 2 * 1e8 * 1e-6  # S >= S(0); S' <= 2 sigma^2
    v, err = softmax_consistency(2, 1e-3, 0.5)
    ref = softmax_consistency_two_tokens(1e-3, 0.5)
    assert abs(v - ref) <= err and err < 1e-10
    # small sigma: S = 1/n + sigma^2 r (n - 1) / n^2 + O(sigma^4)
    v, err = softmax_consistency(4, 0.01, 0.5)
    assert abs(v - (0.25 + 1e-4 * 0.5 * 3 / 16)) < 1e-8 and err < 1e-8


def test_self_weight_bracket_beyond_the_grid(monkeypatch):
    # the nearly-hard-argmax bracket [1 - n (n - 1) / (sigma sqrt(pi)), 1] must hold the
    # lattice value wherever both exist: force the bracket at sigma = 300 and compare
    from nstheory.attention import pattern_moments as pm

    lattice, _ = pm.softmax_self_weight(4, 300.0)
    monkeypatch.setattr(pm, "MAX_SELF_POINTS", 1000)
    v, err = pm.softmax_self_weight(4, 300.0)
    assert v - err <= lattice <= v + err and err <= 6 / (300 * math.sqrt(math.pi)) + 1e-10
    # and it is what keeps huge logit scales (residual stacks without LayerNorm) cheap
    v, err = pm.softmax_self_weight(4, 1e6)
    assert 1 - 7e-6 < v - err < v + err <= 1 + 1e-10


def test_mehler_bracket_stays_in_the_a_priori_range():
    # S_n(sigma, r) lies in [1/n, w] for r >= 0 and in [max(0, 2/n - w), w] for r < 0, however
    # loose the Mehler remainder is (here sigma = 1e6: c_1 carries a sigma^2 factor)
    for r in (0.9, -0.9):
        v, err = softmax_consistency(4, 1e6, r)
        w, w_err = softmax_self_weight(4, 1e6)
        lo = 0.25 if r > 0 else max(0.0, 0.5 - w - w_err)
        assert lo - 1e-10 <= v - err and v + err <= w + w_err + 1e-10


def test_self_weight_at_huge_n_matches_the_law_of_large_numbers_or_is_refused():
    """For n -> infinity, w = E e^{2 sigma G} / (n (E e^{sigma G})^2) = e^{sigma^2} / n (the
    softmax denominator concentrates); at n = 1e18 the grid returned 4e82 for a weight in
    [0, 1]: such n are refused."""
    import math

    from nstheory.attention.pattern_moments import MAX_FLOAT_TOKENS, softmax_self_weight
    from nstheory.errors import NSTheoryError

    n = MAX_FLOAT_TOKENS
    v, err = softmax_self_weight(n, 1.0)
    assert abs(v - math.e / n) < 1e-6 * math.e / n and err < 1e-10
    with pytest.raises(NSTheoryError, match="n must be <="):
        softmax_self_weight(10**18, 1.0)


def test_two_token_route_and_s_n_refuse_sizes_they_cannot_handle():
    """softmax_consistency_two_tokens(1e308) divided by zero (its grid step), and its (u, v)
    grid grows like sigma^2 (sigma = 1000: ~6e8 points); s_n(1e308) failed in a statistics
    routine. Both are refused with the reason; in range they still work (s_2 at r = 0 is 1/2
    for any sigma by symmetry)."""
    from nstheory.attention.consistency import MAX_N, s_n
    from nstheory.attention.pattern_moments import softmax_consistency_two_tokens
    from nstheory.errors import NSTheoryError

    assert abs(softmax_consistency_two_tokens(150.0, 0.0) - 0.5) < 1e-9
    for sigma in (1000.0, 1e308):
        with pytest.raises(NSTheoryError, match="too large for the two-token"):
            softmax_consistency_two_tokens(sigma, 0.0)
    with pytest.raises(NSTheoryError, match="n must be <="):
        s_n(10 * MAX_N, 0.5)
