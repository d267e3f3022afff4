"""Exact Boolean quantities against textbook fixtures, brute force and properties."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.boolean import zoo
from nstheory.boolean.analysis import (
    average_sensitivity,
    degree,
    influences,
    local_sensitivity,
    max_sensitivity,
    noise_operator,
    noise_sensitivity,
    normalised_average_sensitivity,
    stability,
    stability_polynomial,
    tail_weight,
    total_influence,
    weights,
)
from nstheory.boolean.enumeration import (
    disagreement_by_pairs,
    fourier_by_definition,
    influences_by_derivatives,
    stability_by_pairs,
)
from nstheory.boolean.function import BooleanFunction, cube_points
from nstheory.errors import NSTheoryError

HALF = Fraction(1, 2)


# ------------------------------------------------------------------ conventions / bit order
def test_bit_order_documented():
    # index i: bit j is x_{j+1}, 0 -> +1, 1 -> -1
    X = cube_points(3)
    assert X[0].tolist() == [1, 1, 1]
    assert X[1].tolist() == [-1, 1, 1]
    assert X[4].tolist() == [1, 1, -1]
    assert X[7].tolist() == [-1, -1, -1]
    f = zoo.dictator(3, 3)
    assert f.values_exact() == [1, 1, 1, 1, -1, -1, -1, -1]


def test_callable_and_table_agree():
    f = BooleanFunction.from_callable(lambda X: X[:, 0] * X[:, 2], 3)
    assert f.fourier_coefficient({1, 3}) == 1
    assert f.fourier_coefficient(0b101) == 1
    assert sum(abs(v) for v in f.fourier(exact=True)) == 1


def test_callable_chunking(monkeypatch):
    import nstheory.boolean.function as F

    monkeypatch.setattr(F, "CHUNK_ROWS", 8)
    f = F.BooleanFunction.from_callable(zoo.majority_fn, 7)
    assert f.values_exact() == zoo.majority(7).values_exact()


# ------------------------------------------------------------------ textbook fixtures
def test_majority3_fixture():
    f = zoo.majority(3)
    assert f.fourier(exact=True) == [0, HALF, HALF, 0, HALF, 0, 0, -HALF]
    assert stability(f, HALF) == Fraction(13, 32)  # 0.40625 (anchors.md §8)
    assert total_influence(f) == Fraction(3, 2)


def test_vasudeva_n7_table():
    d = Fraction(1, 10)
    assert float(average_sensitivity(zoo.majority(7))) == 2.1875
    assert average_sensitivity(zoo.majority(7)) == Fraction(7 * comb(6, 3), 2**6)
    assert round(float(noise_sensitivity(zoo.majority(7), d)), 5) == 0.16788
    assert round(float(noise_sensitivity(zoo.parity(7), d)), 5) == 0.39514
    assert noise_sensitivity(zoo.dictator(7), d) == d
    assert average_sensitivity(zoo.parity(7, {1, 2, 3})) == 3
    assert average_sensitivity(zoo.parity(7)) == 7


def test_majority11_anchors():
    f = zoo.majority(11)
    assert round(float(stability(f, HALF)), 6) == 0.350959
    assert round(float(stability(f, Fraction(9, 10))), 6) == 0.783577


def test_parity_and_dictator():
    for k in range(0, 6):
        f = zoo.parity(5, set(range(1, k + 1)))
        assert weights(f)[k] == 1
        assert stability(f, Fraction(-1, 3)) == Fraction(-1, 3) ** k
        assert total_influence(f) == k
        assert degree(f) == (k if k else 0)


def test_tribes_and_and_or():
    t = zoo.tribes(2, 2)
    # Pr[f = -1] = 1 - (3/4)^2 = 7/16 -> E f = 1 - 2 * 7/16 = 1/8
    assert t.mean() == Fraction(1, 8)
    assert zoo.and_(3).mean() == Fraction(3, 4)
    assert zoo.or_(3).mean() == Fraction(-3, 4)
    # AND_n and OR_n are dual: OR(x) = -AND(-x)
    assert weights(zoo.and_(4)) == weights(zoo.or_(4))
    assert max_sensitivity(zoo.and_(5)) == 5


def test_ltf_majority_and_ties():
    assert weights(zoo.threshold([1, 1, 1, 1, 1])) == weights(zoo.majority(5))
    with pytest.raises(NSTheoryError, match="ties"):
        zoo.threshold([1, 1])


def _ltf_by_fractions(w, theta, X):
    """The LTF's values by exact rational sums, one point at a time (no floats)."""
    out = []
    for x in X.tolist():
        m = sum((wi if xi > 0 else -wi) for wi, xi in zip(w, x, strict=True)) - theta
        assert m != 0
        out.append(1 if m > 0 else -1)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-320, 300)), min_size=2, max_size=7),
       st.integers(0, 10**6))
def test_ltf_signs_are_exact_at_any_scale(terms, salt):
    """Weights spanning 600 decades, with near-cancelling pairs: the float margins round
    (or overflow) but the signs must equal the exact rational ones; ties must be reported."""
    from nstheory.boolean.function import cube_points

    w = [Fraction(c) * Fraction(10) ** e + Fraction(salt, 10**7) for c, e in terms]
    w.append(-w[0] + Fraction(1, 10**9))          # cancels w[0] up to 1e-9
    theta = Fraction(1, 3)
    X = cube_points(len(w))
    exact = [sum((wi if xi > 0 else -wi) for wi, xi in zip(w, x, strict=True)) - theta
             for x in X.tolist()]
    if any(m == 0 for m in exact):
        with pytest.raises(NSTheoryError, match="ties"):
            zoo.threshold_fn(X, w, theta)
        return
    assert zoo.threshold_fn(X, w, theta).tolist() == _ltf_by_fractions(w, theta, X)


def test_ltf_decimal_ties_and_overflow():
    from nstheory.boolean.cli import build_function

    # 1/10 + 2/10 = 3/10 exactly: a tie the binary doubles would hide (0.1 + 0.2 > 0.3)
    with pytest.raises(NSTheoryError, match="ties"):
        build_function("threshold", "0.1,0.2", theta="0.3")
    # w.x overflows the doubles; x = (1, 1, 1, 1) is an exact tie
    with pytest.raises(NSTheoryError, match="ties"):
        build_function("threshold", "1e308,1e308,-1e308,-1e308")
    # large equal weights stay Majority
    assert weights(build_function("threshold", "1e308,1e308,1e308")) == weights(zoo.majority(3))
    assert weights(zoo.threshold([Fraction(1, 10)] * 3, Fraction(0))) == weights(zoo.majority(3))
    with pytest.raises(NSTheoryError, match="finite real"):
        zoo.threshold([1.0, float("inf")])


def test_noisy_parity_expectation_and_samples():
    eta = Fraction(1, 10)
    f = zoo.noisy_sparse_parity(6, {2, 4}, eta)
    assert f.fourier_coefficient({2, 4}) == 1 - 2 * eta
    assert stability(f, HALF) == (1 - 2 * eta) ** 2 * HALF**2
    X, y = zoo.sample_noisy_sparse_parity(6, {2, 4}, 0.1, 20000, seed=3)
    agree = np.mean(y == X[:, 1] * X[:, 3])
    assert abs(agree - 0.9) < 5 * np.sqrt(0.09 / 20000)


# ------------------------------------------------------------------ identities and brute force
FUNCS = [zoo.majority(5), zoo.tribes(2, 3), zoo.and_(4), zoo.random_function(6, seed=2),
         zoo.random_function(5, seed=4, boolean=False),
         zoo.noisy_sparse_parity(5, {1, 5}, Fraction(1, 3))]


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.name)
def test_against_brute_force(f):
    assert f.fourier(exact=True) == fourier_by_definition(f)
    for r in (Fraction(1, 3), Fraction(-4, 5), Fraction(1)):
        assert stability(f, r) == stability_by_pairs(f, r)
    assert influences(f) == influences_by_derivatives(f)
    if f.is_boolean:
        assert noise_sensitivity(f, Fraction(1, 7)) == disagreement_by_pairs(f, Fraction(1, 7))
        assert average_sensitivity(f) == total_influence(f)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.name)
def test_noise_operator(f):
    r = Fraction(2, 5)
    g = noise_operator(f, r)
    # <f, T_rho f> = Stab_rho[f]
    inner = sum((a * b for a, b in zip(f.values_exact(), g.values_exact(), strict=True)),
                Fraction(0)) / f.size
    assert inner == stability(f, r)
    gf = noise_operator(f, 0.4)
    assert np.allclose(gf, g.values_float(), atol=1e-12)
    assert noise_operator(f, 1).values_exact() == f.values_exact()


def test_stability_float_rho_and_polynomial():
    import sympy

    f = zoo.majority(5)
    assert stability(f, 0.5) == pytest.approx(float(stability(f, HALF)), abs=1e-15)
    rho = sympy.Symbol("rho")
    p = stability_polynomial(f, rho)
    assert sympy.diff(p, rho).subs(rho, 1) == sympy.Rational(15, 8)


def test_sensitivity_views():
    f = zoo.majority(3)
    assert local_sensitivity(f).tolist() == [0, 2, 2, 2, 2, 2, 2, 0]
    assert average_sensitivity(f) == Fraction(3, 2)
    assert normalised_average_sensitivity(f) == HALF
    assert max_sensitivity(f) == 2


def test_tail_weight_and_degree():
    f = zoo.tribes(2, 2)
    w = weights(f)
    assert tail_weight(f, 0) == 1
    assert tail_weight(f, 2) == sum(w[2:])
    assert degree(f) == 4
    assert degree(BooleanFunction.from_table([0, 0])) == -1


def test_n20_exact():
    f = zoo.dictator(20, 7)
    assert weights(f)[1] == 1
    assert influences(f)[6] == 1
    assert total_influence(f) == 1


@pytest.mark.slow
def test_n24_exact_limit():
    f = zoo.majority(23)
    assert total_influence(f) == Fraction(23 * comb(22, 11), 2**22)
    g = zoo.dictator(24, 24)
    assert influences(g)[23] == 1 and weights(g)[1] == 1


# ------------------------------------------------------------------ properties
tables = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.sampled_from([-1, 1]), min_size=1 << n, max_size=1 << n))


@settings(max_examples=40, deadline=None)
@given(tables, st.fractions(-1, 1, max_denominator=12))
def test_property_boolean_identities(table, rho):
    f = BooleanFunction.from_table(table)
    w = weights(f)
    assert sum(w) == 1  # Parseval, +-1-valued
    s = stability(f, rho)
    assert -1 <= s <= 1
    assert s == 2 * (1 - disagreement_by_pairs(f, (1 - rho) / 2)) - 1  # correlation form
    I = total_influence(f)
    assert average_sensitivity(f) == I
    d = Fraction(1, 10)
    assert noise_sensitivity(f, d) <= d * I
    for k in range(1, f.n + 1):
        assert tail_weight(f, k) <= I / k


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5).flatmap(
    lambda n: st.lists(st.fractions(-3, 3, max_denominator=7), min_size=1 << n,
                       max_size=1 << n)))
def test_property_real_valued_parseval(values):
    f = BooleanFunction.from_table(values)
    assert sum(weights(f)) == f.squared_norm()
    assert f.fourier(exact=True) == fourier_by_definition(f)


# ------------------------------------------------------------------ bad input
def test_bad_rho():
    f = zoo.majority(3)
    for r in (1.5, -2, Fraction(3, 2), float("nan")):
        with pytest.raises(NSTheoryError):
            stability(f, r)
    with pytest.raises(NSTheoryError):
        noise_operator(f, 1.01)


def test_wrong_length_table():
    with pytest.raises(NSTheoryError, match="power of two"):
        BooleanFunction.from_table([1, -1, 1])


def test_above_exact_limit_needs_sampling():
    with pytest.raises(NSTheoryError, match="sampling=True"):
        zoo.majority(25)
    with pytest.raises(NSTheoryError, match="exact limit"):
        BooleanFunction.from_table(np.ones(1 << 25, dtype=np.int8))
    s = zoo.majority(25, sampling=True)
    assert s.n == 25


def test_non_boolean_callable():
    with pytest.raises(NSTheoryError, match=r"\+-1-valued"):
        BooleanFunction.from_callable(lambda X: X.sum(axis=1), 3, boolean=True)
    with pytest.raises(NSTheoryError, match=r"\+-1-valued"):
        BooleanFunction.from_table([1, 0, 1, 1], boolean=True)


def test_nan_values_rejected():
    with pytest.raises(NSTheoryError):
        BooleanFunction.from_table([1.0, float("nan")])


def test_sizes_and_row_ranges_are_validated_before_allocation():
    """Full truth tables beyond n = 24 and sampled functions beyond MAX_SAMPLED_BITS are
    refused up front (were: MemoryError for 40 TiB, an empty MemoryError, a hang building a
    list of 1e59 coordinates); cube_points' row range must lie in the cube (stop = 100 gave
    100 rows of an 8-point cube, a negative start duplicated rows)."""
    from nstheory.boolean.function import EXACT_LIMIT, cube_points

    for call in (lambda: zoo.noisy_sparse_parity(40, [1], Fraction(1, 10)),
                 lambda: zoo.noisy_sparse_parity(10**59, [1], Fraction(1, 10)),
                 lambda: zoo.random_function(EXACT_LIMIT + 1),
                 lambda: zoo.random_function(3, seed=-3),
                 lambda: zoo.parity(10**9, sampling=True),
                 lambda: zoo.and_(10**9, sampling=True),
                 lambda: cube_points(3, stop=100),
                 lambda: cube_points(3, start=-2),
                 lambda: cube_points(3, start=5, stop=2),
                 lambda: cube_points(EXACT_LIMIT + 6)):
        with pytest.raises(NSTheoryError):
            call()
    assert cube_points(3, 0, 8).tolist() == cube_points(3).tolist()
    assert zoo.parity(1000, [1, 2], sampling=True).n == 1000


def test_numpy_scalars_and_tiny_rates_are_taken_or_refused_clearly():
    """numpy scalars as LTF weights/threshold or as eta failed inside Fraction (TypeError,
    AttributeError); eta = 5e-324 overflowed int64 with a bare OverflowError."""
    assert weights(zoo.threshold([1, 1, 1], theta=np.float32(0.5))) == \
        weights(zoo.threshold([1, 1, 1], theta=0.5))
    assert weights(zoo.threshold([np.float32(1), 1, 1], theta=np.int64(0))) == \
        weights(zoo.majority(3))
    assert zoo.noisy_sparse_parity(3, [1], np.float32(0.125)).values_exact()[:2] == \
        [Fraction(3, 4), Fraction(-3, 4)]
    with pytest.raises(NSTheoryError, match="62 bits"):
        zoo.noisy_sparse_parity(3, [1], 5e-324)
