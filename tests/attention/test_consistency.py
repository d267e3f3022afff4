"""Tests of s_n(r): closed forms, quadrature, certified balls, limits, bad input."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.attention.consistency import (
    quadrature_grid,
    s2_closed_form,
    s3_closed_form,
    s_n,
    s_n_arb,
    s_n_quadrature,
)
from nstheory.errors import NSTheoryError


@pytest.mark.parametrize("r", [0.3, -0.7, 0.9])
def test_quadrature_matches_sheppard(r):
    q = s_n_quadrature(2, r, dps=20)
    assert abs(q - s2_closed_form(r, dps=25)) < mpmath.mpf("1e-19")


@pytest.mark.parametrize("r", [0.1, -0.3, 0.6])
def test_quadrature_matches_n3_closed_form(r):
    assert abs(s_n_quadrature(3, r, dps=18) - s3_closed_form(r, dps=25)) < mpmath.mpf("1e-17")


@pytest.mark.parametrize("n, r", [(2, 0.99), (2, -0.99), (3, 0.99)])
def test_quadrature_keeps_its_digits_near_r_one(n, r):
    # the outer step once followed sqrt(1 - |r|) with too large a constant: at |r| = 0.99 the
    # quadrature claimed 14 digits and delivered 11-13 (abs. error 1e-12 at r = -0.99, n = 2)
    closed = s2_closed_form if n == 2 else s3_closed_form
    assert abs(s_n_quadrature(n, r, dps=14) - closed(r, dps=30)) < mpmath.mpf("1e-14")


def test_quadrature_self_convergence_large_n():
    a = s_n_quadrature(32, 0.6, dps=18)
    b = s_n_quadrature(32, 0.6, dps=18, refine=0.6)
    assert abs(a - b) < mpmath.mpf("1e-17")


def test_exact_values_and_limits():
    assert s_n(7, 0) == mpmath.mpf(1) / 7
    assert s_n(5, 1) == 1
    assert s_n(5, -1) == 0
    assert s_n(1, 0.4) == 1
    # continuity at r -> 0 and r -> 1 from the quadrature side
    assert abs(s_n_quadrature(6, 1e-7, dps=16) - mpmath.mpf(1) / 6) < 1e-6
    assert 1 - s_n_quadrature(4, 0.99, dps=16) < 0.1  # 0.999 takes ~15 s (0.974)


@settings(max_examples=8, deadline=None)
@given(st.floats(min_value=-0.95, max_value=0.95), st.floats(min_value=0.01, max_value=0.04))
def test_monotone_in_r(r, dr):
    assert s_n(5, r + dr, dps=12) > s_n(5, r, dps=12)


@settings(max_examples=10, deadline=None)
@given(st.floats(min_value=-1.0, max_value=1.0))
def test_arb_balls_contain_closed_forms(r):
    from flint import arb

    from nstheory.numerics import arb_precision

    for n, f in ((2, s2_closed_form), (3, s3_closed_form)):
        ball = s_n_arb(n, r, prec=120)
        v = f(r, dps=45)  # mpmath closed form, error far below 1e-40
        with arb_precision(bits=200):
            # the mpmath value as a ball: 50 digits (exact to 1e-50) plus a 1e-40 error radius
            ref = arb(mpmath.nstr(v, 50, strip_zeros=False), "1e-40")
            assert float(ref.rad()) < 2e-40
            assert ball.overlaps(ref)
        assert float(ball.rad()) < 1e-30


def test_arb_ball_over_an_interval_of_r():
    from flint import arb

    ball = s_n_arb(2, arb("0.5", "0.01"))
    assert ball.contains(s_n_arb(2, 0.505)) and ball.contains(s_n_arb(2, 0.495))


def test_arb_restores_precision():
    from flint import ctx

    old = ctx.prec
    s_n_arb(3, 0.2, prec=300)
    assert ctx.prec == old


def test_fixture_values():
    # reconstruction's MC table (+-0.0003)
    assert abs(float(s_n(4, 0.25)) - 0.3457) <= 0.0003
    assert abs(float(s_n(8, 0.25)) - 0.2097) <= 0.0003
    assert abs(float(s_n(2, 0.25)) - 0.58043) <= 0.00001


def test_bad_input():
    with pytest.raises(NSTheoryError, match="n must be >= 1"):
        s_n(0, 0.3)
    with pytest.raises(NSTheoryError, match="r must lie in"):
        s_n(3, 1.5)
    with pytest.raises(NSTheoryError, match="only for n <= 3"):
        s_n_arb(5, 0.3)
    with pytest.raises(NSTheoryError, match="1 - 1e-6"):
        s_n_quadrature(4, 1 - 1e-9)
    with pytest.raises(NSTheoryError):
        s_n(3, float("nan"))


def test_grid_lower_limit_rises_with_n():
    assert quadrature_grid(64, 0.3, 20)["lower"] > quadrature_grid(2, 0.3, 20)["lower"]
    assert math.isfinite(quadrature_grid(64, 0.3, 20)["upper"])
