"""Activation maps: bad input, exact limits, symmetry, views, monotonicity and containment."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from flint import arb
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.errors import NSTheoryError
from nstheory.gaussian._backend import to_arb
from nstheory.gaussian.activations import NAMES, correlation_from_covariance, get_activation
from nstheory.numerics import arb_precision

CLOSED = ("relu", "leaky_relu", "abs", "sign", "erf", "identity")
SMOOTH = ("tanh", "gelu", "silu", "softplus")


def test_unknown_activation():
    with pytest.raises(NSTheoryError, match="unknown activation"):
        get_activation("swish")


@pytest.mark.parametrize("bad", [1.5, -1.0001, float("nan")])
def test_bad_rho(bad):
    relu = get_activation("relu")
    with pytest.raises(NSTheoryError):
        relu.raw(bad)
    with pytest.raises(NSTheoryError):
        relu.raw_arb(bad)
    with pytest.raises(NSTheoryError):
        relu.raw_float(np.array([bad]))


@pytest.mark.parametrize("q", [0, -1, float("inf")])
def test_bad_variance(q):
    with pytest.raises(NSTheoryError):
        get_activation("erf").raw(0.5, q, 1)


def test_bad_dps_view_covariance():
    relu = get_activation("relu")
    with pytest.raises(NSTheoryError, match="dps"):
        relu.raw(0.5, dps=0)
    with pytest.raises(NSTheoryError, match="view"):
        relu.value(0.5, view="pearson")
    with pytest.raises(NSTheoryError, match="c\\^2"):
        correlation_from_covariance(1, 4, 2.5)
    with pytest.raises(NSTheoryError):
        get_activation("relu", slope=0.1)


@pytest.mark.parametrize("name", CLOSED)
@pytest.mark.parametrize("rho", [-1, 1])
def test_exact_limits_closed(name, rho):
    act = get_activation(name)
    v = act.raw(rho, 2.0, 0.5, dps=30)
    assert mpmath.isfinite(v)
    ball = act.raw_arb(rho, 2.0, 0.5)
    assert (ball.is_finite() and ball.contains(to_arb(mpmath.nstr(v, 15)))) or ball.overlaps(
        to_arb(mpmath.nstr(v, 15)))
    assert np.isfinite(act.raw_float(np.array([float(rho)]), 2.0, 0.5)).all()


def test_relu_exact_endpoints():
    relu = get_activation("relu")
    assert relu.raw(1) == mpmath.mpf(1) / 2
    assert relu.raw(-1) == 0
    assert relu.raw_arb(1).contains(arb(1) / 2)
    assert relu.raw_arb(-1).contains(0)


@pytest.mark.parametrize("name", CLOSED)
def test_small_variance_limit(name):
    act = get_activation(name)
    tiny = 1e-300
    v = act.raw(0.5, tiny, 1)
    assert mpmath.isfinite(v)
    ball = act.raw_arb(0.5, arb(0, "1e-12"), 1)  # q ball touching 0
    assert ball.is_finite()
    if name != "sign":  # sign's map does not depend on q
        assert abs(v) < 1e-140


@pytest.mark.parametrize("name", [*CLOSED, "tanh"])
def test_symmetric_in_inputs(name):
    act = get_activation(name)
    a = act.raw(0.3, 0.7, 1.9, dps=20)
    b = act.raw(0.3, 1.9, 0.7, dps=20)
    assert abs(a - b) < 1e-18


def test_relu_homogeneity_and_views():
    relu = get_activation("relu")
    with mpmath.workdps(40):
        assert abs(relu.raw(0.4, 4, 9) - 6 * relu.raw(0.4)) < mpmath.mpf(10) ** -25
        cov = relu.value(0.4, view="cov")
        assert abs(cov - (relu.raw(0.4) - 1 / (2 * mpmath.pi))) < mpmath.mpf(10) ** -25
        corr = relu.value(0.4, 3, 5, view="corr")
        assert abs(corr - 2 * relu.raw(0.4)) < mpmath.mpf(10) ** -25


@pytest.mark.parametrize("name", NAMES)
def test_increasing_in_rho_flag(name):
    # x - x^3/4: its degree-1 Hermite coefficients at q = 1 and q = 2 have opposite signs, so
    # the raw map with (q1, q2) = (1, 2) starts decreasing at rho = 0
    act = get_activation(name, **({"coeffs": (0, 1, 0, -0.25)} if name == "polynomial" else {}))
    r = np.linspace(-1, 1, 201)
    f = act.raw_float(r, 1.0, 2.0)
    d = np.diff(f)
    if act.increasing_in_rho:
        assert (d >= -1e-12).all()
    elif name in ("abs", "polynomial"):
        assert (d < -1e-6).any()  # genuinely non-monotone
    # for equal variances every map is sum c_k^2 rho^k: increasing and convex on [0, 1]
    g = act.raw_float(np.linspace(0, 1, 101), 1.5, 1.5)
    assert (np.diff(g) >= -1e-9).all()
    assert (np.diff(g, 2) >= -1e-7).all()


@pytest.mark.parametrize("name", CLOSED)
def test_float_matches_mpmath(name):
    act = get_activation(name)
    r = np.array([-0.9, -0.2, 0.0, 0.35, 0.99])
    f = act.raw_float(r, 1.3, 0.6)
    m = [float(act.raw(float(x), 1.3, 0.6, dps=20)) for x in r]
    np.testing.assert_allclose(f, m, rtol=1e-13, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(CLOSED),
    rho=st.floats(-1, 1),
    q1=st.floats(1e-6, 50),
    q2=st.floats(1e-6, 50),
)
def test_certified_contains_higher_precision(name, rho, q1, q2):
    act = get_activation(name)
    ref = act.raw(rho, q1, q2, dps=60)
    with arb_precision(bits=100):
        ball = act.raw_arb(rho, q1, q2)
    with arb_precision(bits=300):
        assert ball.contains(to_arb(ref)), (ball, ref)


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(CLOSED), mid=st.floats(-0.9, 0.9), rad=st.floats(1e-8, 0.1))
def test_certified_ball_inputs(name, mid, rad):
    """The enclosure over a rho ball contains the map at sampled points of the ball."""
    act = get_activation(name)
    ball = act.raw_arb(arb(mid, rad), 1.5, 0.8)
    for t in np.linspace(max(-1, mid - rad), min(1, mid + rad), 5):
        v = act.raw(float(t), 1.5, 0.8, dps=30)
        with arb_precision(bits=200):
            assert ball.contains(to_arb(v))


@pytest.mark.parametrize("rho", [0.5, -0.3])
def test_tanh_certified_contains_precise(rho):
    act = get_activation("tanh")
    ball = act.raw_arb(rho)
    assert float(ball.rad()) < 1e-14
    v = act.raw(rho, dps=16)
    with arb_precision(bits=200):
        assert ball.contains(to_arb(v))


def test_smooth_at_rho_one_is_second_moment():
    act = get_activation("softplus")
    v = act.raw(1, 0.8, 0.8, dps=20)
    assert abs(v - act.second_moment(0.8, dps=20)) < 1e-18
    ball = act.raw_arb(1, 0.8, 0.8)
    assert ball.is_finite() and ball.overlaps(to_arb(float(v)) + arb(0, 1e-15))


@pytest.mark.parametrize("name", ["relu", "abs", "erf", "sign", "tanh"])
def test_monte_carlo_z(name):
    act = get_activation(name)
    rng = np.random.default_rng(1234)
    n, rho, q1, q2 = 200_000, 0.6, 1.2, 0.7
    x, z = rng.standard_normal(n), rng.standard_normal(n)
    u, v = math.sqrt(q1) * x, math.sqrt(q2) * (rho * x + math.sqrt(1 - rho**2) * z)
    s = act.phi_np(u) * act.phi_np(v)
    zscore = (s.mean() - float(act.raw(rho, q1, q2, dps=12))) / (s.std() / math.sqrt(n))
    assert abs(zscore) < 4.5


def test_map_evaluators_validate_careless_arguments():
    """reduction_mp took dps = -3 (a value wrong from the 9th digit), NaN/inf variances (NaN
    out), numpy scalars and Fractions failed inside mpmath; kappa_np clipped rho = 2 to 1;
    q_fixed_point of a diverging length map blamed 'q = 0'."""
    from fractions import Fraction

    import mpmath
    import numpy as np

    from nstheory.errors import NSTheoryError
    from nstheory.gaussian import get_activation, kappa_np
    from nstheory.gaussian.precise import reduction_mp, reduction_trapezoid
    from nstheory.gaussian.recurrence import chi1, q_fixed_point

    relu, tanh = get_activation("relu"), get_activation("tanh")
    kappa_half = (mpmath.sqrt(3) / 2 + mpmath.pi / 3) / (2 * mpmath.pi)
    for rho in (0.5, np.float32(0.5), Fraction(1, 2), "0.5"):
        assert abs(reduction_mp(relu, rho, dps=20) - kappa_half) < 1e-15
    assert abs(reduction_trapezoid(tanh, np.float64(0.5), dps=15)
               - reduction_trapezoid(tanh, 0.5, dps=15)) == 0
    bad = [dict(dps=-3), dict(dps=0), dict(dps=2.5), dict(q1=float("nan")),
           dict(q1=float("inf")), dict(q2=0), dict(q1=-1)]
    for kw in bad:
        with pytest.raises(NSTheoryError):
            reduction_mp(relu, 0.5, **kw)
    for rho in (None, float("nan"), 1.5):
        with pytest.raises(NSTheoryError):
            reduction_mp(relu, rho)
    with pytest.raises(NSTheoryError, match="rho must lie"):
        kappa_np(2.0)
    with pytest.raises(NSTheoryError, match="rho must lie"):
        kappa_np(np.array([0.5, np.nan]))
    assert kappa_np(1 + 1e-15) == 0.5            # rounding past 1 is still clipped
    with pytest.raises(NSTheoryError, match="no positive fixed point"):
        q_fixed_point(relu, 3.0)
    with pytest.raises(NSTheoryError, match="sigma_w2"):
        q_fixed_point(tanh, -1.0)
    with pytest.raises(NSTheoryError, match="q must be"):
        chi1(tanh, 1.5, -1.0)
