"""Smooth activations at high precision: the trapezoid coefficients, the end-point expansion near
rho = +-1, the fast 1-D reduction and the activation CLI's precision guard.

Reference values come from routes that share no code with the one under test: per-coefficient
``acb.integral`` (old certified route) for the trapezoid coefficients, the nested-trapezoid 1-D
reduction (no Hermite coefficient, no Taylor expansion) for the certified maps, and mpmath's
tanh-sinh quadrature for the reduction itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

import mpmath
import pytest
from flint import arb
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.errors import NSTheoryError
from nstheory.gaussian.cli import evaluate
from nstheory.gaussian.hermite import hermite_coefficient_arb
from nstheory.gaussian.precise import reduction_trapezoid
from nstheory.gaussian.smooth import get_smooth
from nstheory.gaussian.trapezoid import hermite_coefficients_trapezoid
from nstheory.numerics import arb_precision

SMOOTH = ("tanh", "gelu", "silu", "softplus")
ENDS = ("0.999", "-0.999", "0.999999", "-0.999999", "1", "-1")


def _consistent(ball, value_mp, digits):
    """``ball`` meets ``value_mp`` widened by the reference's own accuracy, ``10^-digits`` times
    ``max(|value|, 1)`` (the quadrature error is absolute on maps of order one); the widening is
    far below the ball's radius, so this is containment up to the reference's accuracy."""
    with arb_precision(bits=400):
        ref = arb(mpmath.nstr(value_mp, digits + 5),
                  max(abs(float(value_mp)), 1.0) * 10.0 ** -digits)
        return ball.overlaps(ref)


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("q", ["1", "0.37"])
def test_trapezoid_coefficients_overlap_acb_integral(name, q):
    act = get_smooth(name)
    a = arb(q).sqrt()
    c, _ = hermite_coefficients_trapezoid(act, a, 12, 53)
    for k in (0, 1, 2, 5, 12):
        ref = hermite_coefficient_arb(act.phi_acb, k, a, act.A, act.B, 53)
        assert c[k].overlaps(ref), (k, c[k], ref)
        if not act.zero_coefficient(k):
            assert float(c[k].rad()) < 1e-15


@pytest.mark.parametrize("name", [
    "tanh", "gelu", pytest.param("silu", marks=pytest.mark.slow),
    pytest.param("softplus", marks=pytest.mark.slow)])
@pytest.mark.parametrize("rho", ENDS)
def test_near_ends_radius_and_containment(name, rho):
    """Radius <= 1e-15 at 53 bits at rho = +-0.999, +-(1 - 1e-6), +-1, containing the 1-D
    reduction at 30 digits."""
    act = get_smooth(name)
    with arb_precision(bits=53):
        ball = act.raw_arb(arb(rho), arb("0.8"), arb("1.3"))
    assert ball.is_finite() and float(ball.rad()) <= 1e-15, ball
    ref = reduction_trapezoid(act, rho, "0.8", "1.3", dps=30)
    assert ball.contains(arb(mpmath.nstr(ref, 25))), (ball, ref)


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(name=st.sampled_from(SMOOTH), e=st.floats(3.0, 9.0), sign=st.sampled_from([1, -1]),
       q1=st.sampled_from(["0.5", "1", "2.25"]))
def test_near_ends_property(name, e, sign, q1):
    """rho = +-(1 - 10^-e): certified ball (53 bits, radius <= 1e-15) contains the reduction."""
    act = get_smooth(name)
    rho = mpmath.nstr(sign * (1 - mpmath.mpf(10) ** -mpmath.mpf(e)), 20)
    with arb_precision(bits=53):
        ball = act.raw_arb(arb(rho), arb(q1), arb(1))
    assert float(ball.rad()) <= 1e-15
    ref = reduction_trapezoid(act, rho, q1, 1, dps=30)
    assert _consistent(ball, ref, 12), (ball, ref)


@settings(max_examples=6, deadline=None)
@given(name=st.sampled_from(SMOOTH),
       rho=st.floats(-0.95, 0.95).filter(lambda r: r == 0 or abs(r) > 1e-6),
       q1=st.floats(0.2, 3.0), q2=st.floats(0.2, 3.0))
def test_series_contains_reduction_at_30_digits(name, rho, q1, q2):
    act = get_smooth(name)
    with arb_precision(dps=30):
        ball = act.raw_arb(rho, q1, q2)
        assert float(ball.rad()) < 1e-28
    ref = reduction_trapezoid(act, mpmath.mpf(rho), mpmath.mpf(q1), mpmath.mpf(q2), dps=40)
    assert _consistent(ball, ref, 37), (ball, ref)


@pytest.mark.parametrize("name", ["tanh", "softplus"])
def test_reduction_matches_tanh_sinh(name):
    """The nested-trapezoid reduction vs mpmath's tanh-sinh quadrature of the same 1-D
    reduction at rho = 1 (a single integral E phi(aX) phi(bX)), 25 digits."""
    act = get_smooth(name)
    with mpmath.workdps(40):
        a, b = mpmath.sqrt(mpmath.mpf("0.7")), mpmath.sqrt(mpmath.mpf("1.9"))
        ref = mpmath.quad(lambda x: act.phi_mp(a * x) * act.phi_mp(b * x) * mpmath.npdf(x),
                          [-mpmath.inf, 0, mpmath.inf])
    v = reduction_trapezoid(act, 1, "0.7", "1.9", dps=30)
    assert abs(v - ref) < mpmath.mpf(10) ** -27 * abs(ref)


def test_gelu_ball_near_end_covers_points():
    """GELU's map is not monotone in rho: a rho ball near 1 is evaluated as a ball."""
    act = get_smooth("gelu")
    with arb_precision(bits=53):
        ball = act.raw_arb(arb("0.9995", "0.0004"), arb(1), arb(1))
    for r in ("0.9991", "0.9995", "0.9999"):
        assert ball.contains(arb(mpmath.nstr(reduction_trapezoid(act, r, 1, 1, dps=25), 20)))


def test_cli_series_reports_independent_agreement():
    out = evaluate("silu", "-0.4", "1", "2", dps=50)
    assert out["value_route"].startswith("midpoint of the certified ball")
    assert out["reduction"]["dps"] == 50 and not out["reduction"]["capped"]
    assert out["agreement_digits"] >= 48
    with mpmath.workdps(70):  # the reduction (50 digits) meets the ball up to its accuracy
        lo, hi = (mpmath.mpf(v) for v in out["enclosure"])
        tol = mpmath.mpf(10) ** -48 * abs(lo)
        assert lo - tol <= mpmath.mpf(out["routes"]["precise_reduction"]) <= hi + tol


def test_cli_views_use_reduction_moments():
    out = evaluate("tanh", "0.3", "0.5", "2", view="corr", dps=30)
    assert out["agreement_digits"] >= 28
    out = evaluate("softplus", "0.3", "0.5", "2", view="cov", dps=30)
    assert out["agreement_digits"] >= 28


def test_cli_dps_guard():
    with pytest.raises(NSTheoryError, match=r"--dps 100000 .* accepted 1\.\.5000"):
        evaluate("relu", "0.5", dps=100000)
    with pytest.raises(NSTheoryError, match=r"--dps 201 .* accepted 1\.\.200"):
        evaluate("tanh", "0.5", dps=201)
    proc = subprocess.run([sys.executable, "-m", "nstheory", "activation", "gelu", "--rho",
                           "0.5", "--dps", "5000"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "accepted 1..200" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_relu_dps_1000_capped_cross_check():
    proc = subprocess.run([sys.executable, "-m", "nstheory", "activation", "relu", "--rho", "0.5",
                           "--dps", "1000", "--json"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["reduction"] == {
        "route": "1-D reduction (closed-form inner expectation, mp.quad outer)", "dps": 60,
        "capped": True,
        "note": "cross-check run at 60 digits (capped for cost: mp.quad at most 60 digits; "
                "--reduction runs it at 1000)"}
    assert 58 <= out["agreement_digits"] <= 65
    assert len(out["value"].replace("0.", "", 1)) >= 1000


@pytest.mark.parametrize("rho", ["1e-30", "-1e-8"])
def test_reduction_keeps_relative_digits_at_tiny_rho(rho):
    """At tiny |rho| the map of an odd activation is ~ c_1^2 rho: the 1-D reduction must not
    round rho to 0 (it once returned E phi * E phi = 0 for |rho| < 1e-12) and must keep its
    relative digits; the certified Hermite series is the independent reference."""
    act = get_smooth("tanh")
    with arb_precision(dps=30):
        ball = act.raw_arb(rho, 1, 1)
    ref = reduction_trapezoid(act, mpmath.mpf(rho), 1, 1, dps=30)
    assert _consistent(ball, ref, 12), (ball, ref)
