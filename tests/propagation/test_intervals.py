"""Certified interval propagation: soundness against point routes, monotonicity, no blow-up."""

import mpmath
import pytest
from flint import arb
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.numerics import arb_precision
from nstheory.propagation.intervals import (
    bounds,
    interval_propagation,
    paper_relu_intervals,
    width,
)
from nstheory.propagation.model import attention_stack, mlp, transformer
from nstheory.propagation.recurrence import point_recurrence


def _contains(ball, mp_value) -> bool:
    with arb_precision(bits=200):
        return ball.overlaps(arb(mpmath.nstr(mp_value, 40), "1e-40"))


@pytest.mark.parametrize("model", [mlp(30), mlp(10, sigma2=1.0), mlp(8, layernorm=True),
                                   transformer(4), attention_stack(6, gamma2=0.7),
                                   attention_stack(3, mode="random", n_tokens=2)],
                         ids=["he", "sigma1", "ln", "transformer", "attention", "random"])
def test_intervals_contain_mpmath_point_recurrence(model):
    iv = interval_propagation(model, 0.6, bits=80)
    pts = point_recurrence(model, 0.6, backend="mpmath", dps=40)
    for i, (ball, pt) in enumerate(zip(iv, pts, strict=True)):
        assert _contains(ball.C, pt.C), (i, ball.C, pt.C)
        assert _contains(ball.Q, pt.Q), (i, ball.Q, pt.Q)


def test_precision_only_changes_width():
    lo53 = interval_propagation(mlp(20), 0.9, bits=53)[-1].C
    lo200 = interval_propagation(mlp(20), 0.9, bits=200)[-1].C
    assert lo53.contains(lo200)
    assert width(lo200) < 1e-50 < width(lo53)


def test_no_dependency_blowup_relu_stack_depth_100():
    # an input range of width 2e-6: its image must not blow up through 100 ReLU layers
    for sigma2 in (2.0, 1.0):
        iv = interval_propagation(mlp(100, sigma2=sigma2), (0.5 - 1e-6, 0.5 + 1e-6))
        w1, w100 = width(iv[1].C), width(iv[100].C)
        assert w100 <= 10 * w1, (sigma2, w1, w100)
        n1, n100 = width(iv[1].normalised()), width(iv[100].normalised())
        assert n100 <= 10 * n1, (sigma2, n1, n100)


def test_point_input_width_depth_100_within_10x_depth_1():
    # the acceptance: no blow-up for a ReLU stack, width(depth 100) <= 10 width(depth 1)
    for sigma2 in (2.0, 1.0):
        iv = interval_propagation(mlp(100, sigma2=sigma2), 0.9, bits=53)
        assert 0 < width(iv[100].C) <= 10 * width(iv[1].C), (width(iv[1].C), width(iv[100].C))


def test_point_input_without_guard_bits_grows_only_linearly():
    # with no guard bits the per-layer rounding accumulates, linearly in depth (not
    # exponentially): the dependency problem is absent, only rounding adds up
    iv = interval_propagation(mlp(1000), 0.9, bits=53, guard_bits=0)
    assert width(iv[1000].C) < 1e-11
    assert width(iv[100].C) < 100 * width(iv[1].C)


def test_paper_recurrence_intervals_collapse_to_fixed_point():
    iv = paper_relu_intervals((-1.0, 1.0), 100)
    lo, hi = bounds(iv[-1], 20)
    assert float(lo) <= 0.2172336282112216574 <= float(hi)
    assert width(iv[-1]) < 1e-14 and width(iv[100]) <= 10 * width(iv[1])


@settings(max_examples=25, deadline=None)
@given(st.floats(-1, 1), st.floats(-1, 1), st.integers(1, 6))
def test_monotone_in_rho_and_range_encloses_endpoints(r1, r2, depth):
    a, b = min(r1, r2), max(r1, r2)
    model = transformer(depth) if depth % 2 else mlp(depth)
    both = interval_propagation(model, (a, b))[-1].C
    ia = interval_propagation(model, a)[-1].C
    ib = interval_propagation(model, b)[-1].C
    for r in (a, b):  # the range's enclosure holds the exact values at its endpoints
        assert _contains(both, point_recurrence(model, r, backend="mpmath", dps=30)[-1].C)
    assert both.overlaps(ia) and both.overlaps(ib)
    assert ia.lower() <= ib.upper()  # non-decreasing in rho


def test_any_pattern_attention_bound():
    st_any = interval_propagation(attention_stack(10, gamma2=0.75, pattern_slack=1.0), 0.875)
    bound = 0.75**10 * 0.875
    lo, hi = bounds(st_any[-1].C, 17)
    # hulls store their radius with a 30-bit mantissa: endpoints move out by ~2^-30 x width
    assert -1e-8 <= float(lo) and float(hi) <= bound * (1 + 1e-6)


def test_bad_input():
    from nstheory.errors import NSTheoryError

    with pytest.raises(NSTheoryError):
        interval_propagation(mlp(2), 1.5)
    with pytest.raises(NSTheoryError):
        interval_propagation(mlp(2), (0.6, 0.2))
