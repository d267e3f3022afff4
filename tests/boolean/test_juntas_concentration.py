"""Juntas, Friedgut's bound, spectral concentration and Lemma 1."""

from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.boolean import zoo
from nstheory.boolean.analysis import influences, stability, tail_weight, total_influence, weights
from nstheory.boolean.concentration import (
    concentration_degree,
    influence_tail_bound,
    is_spectrally_concentrated,
    lemma1_threshold,
    stability_tail_bound,
)
from nstheory.boolean.function import BooleanFunction
from nstheory.boolean.juntas import (
    closest_junta,
    friedgut_bound,
    influential_coordinates,
    junta_projection,
    smallest_junta,
    subset_weights,
)
from nstheory.errors import NSTheoryError


def _weight_outside_brute(f, J):
    co = f.fourier(exact=True)
    jm = sum(1 << (i - 1) for i in J)
    return sum((c * c for s, c in enumerate(co) if s & ~jm), Fraction(0))


def _boolean_distance_brute(f, J):
    # closest Boolean function of x_J: majority vote of f on each restriction
    n = f.n
    jm = sum(1 << (i - 1) for i in J)
    groups = {}
    for idx, v in enumerate(f.values_exact()):
        groups.setdefault(idx & jm, []).append(v)
    wrong = sum(min(sum(1 for v in g if v == 1), sum(1 for v in g if v == -1))
                for g in groups.values())
    return Fraction(wrong, 1 << n)


@pytest.mark.parametrize("f", [zoo.tribes(2, 3), zoo.majority(5), zoo.random_function(6, 9),
                               zoo.threshold([5, 3, 1, 1, 1])], ids=lambda f: f.name)
def test_closest_junta_exhaustive(f):
    for k in range(f.n + 1):
        a = closest_junta(f, k)
        best = min(_weight_outside_brute(f, J)
                   for J in itertools.combinations(range(1, f.n + 1), k))
        assert a.weight_outside == best
        assert a.weight_outside == _weight_outside_brute(f, a.coords)
        assert a.boolean_distance == _boolean_distance_brute(f, a.coords)
        assert a.boolean_distance <= a.weight_outside  # Pr[f != sgn g] <= ||f - g||^2


def test_junta_projection_is_conditional_expectation():
    f = zoo.tribes(2, 2)
    p = junta_projection(f, {3, 4})
    # weight of p = weight of f on subsets of {3, 4}
    g = subset_weights(f)
    assert p.squared_norm() == Fraction(int(g[0b1100]), f.scale**2)
    assert weights(p)[3:] == [0, 0]


def test_influential_coordinates_and_smallest_junta():
    assert influential_coordinates(zoo.threshold([8, 4, 1, 1, 1]), 1) == [1]  # = x_1
    f = zoo.threshold([5, 3, 1, 1, 1])
    # x_1 is overruled only when x_2..x_5 all oppose it: Inf_1 = 7/8, the others 1/8 each
    assert influences(f) == [Fraction(7, 8)] + [Fraction(1, 8)] * 4
    assert influential_coordinates(f, 1) == [1, 2, 3, 4, 5]
    assert influential_coordinates(f, Fraction(1, 2)) == [1]
    assert closest_junta(f, 2).weight_outside == Fraction(7, 32)
    j = smallest_junta(f, Fraction(1, 5))
    assert j.coords == [1, 2, 3] and j.weight_outside == Fraction(3, 16)
    assert smallest_junta(zoo.dictator(6, 4), 0).coords == [4]


@pytest.mark.parametrize("f", [zoo.tribes(2, 3), zoo.majority(7), zoo.and_(6),
                               zoo.threshold([6, 3, 1, 1, 1, 1])], ids=lambda f: f.name)
@pytest.mark.parametrize("eps", [Fraction(1, 4), Fraction(1, 10)])
def test_friedgut_explicit_bound(f, eps):
    b = friedgut_bound(f, eps)
    assert b.weight_outside_low_junta <= 2 * eps
    assert len(b.coords) <= b.size_bound
    assert b.k * eps >= total_influence(f)


def test_friedgut_bad_input():
    with pytest.raises(NSTheoryError):
        friedgut_bound(1.0, 0)
    with pytest.raises(NSTheoryError):
        friedgut_bound(zoo.noisy_sparse_parity(3, {1}, Fraction(1, 4)), Fraction(1, 2))


def test_concentration_degree():
    f = zoo.majority(5)
    w = weights(f)
    for eps in (Fraction(0), Fraction(1, 10), Fraction(1, 3), Fraction(1)):
        T = concentration_degree(f, eps)
        assert tail_weight(f, T) <= eps
        assert T == 0 or tail_weight(f, T - 1) > eps
    assert is_spectrally_concentrated(f, Fraction(1, 2), 2)
    assert sum(w) == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fractions(0, 5, max_denominator=9), min_size=2, max_size=8),
       st.fractions(0, Fraction(99, 100), max_denominator=100))
def test_corrected_lemma1_on_random_spectra(ws, rho):
    # the bound depends on the spectrum only through the weights by degree W_0..W_n
    n = len(ws) - 1
    norm = sum(ws)
    stab = sum(w * rho**k for k, w in enumerate(ws))
    for T in range(1, n + 1):
        assert sum(ws[T:]) <= (norm - stab) / (1 - rho**T)


def test_stability_tail_bound_on_functions():
    for f in (zoo.majority(7), zoo.tribes(2, 3), zoo.random_function(6, 1)):
        for rho in (Fraction(1, 2), Fraction(9, 10)):
            for T in range(1, f.n + 1):
                assert tail_weight(f, T) <= stability_tail_bound(f, rho, T)
        for k in range(1, f.n + 1):
            assert tail_weight(f, k) <= influence_tail_bound(f, k)


def test_lemma1_thresholds():
    # T* is defined by rho**T* = 1 - delta/eps (corrected); the printed base 1/rho negates it
    for rho, delta, eps in ((0.9, 0.01, 0.05), (0.95, 0.02, 0.1), (0.5, 0.3, 0.4)):
        t = lemma1_threshold(rho, delta, eps, dps=40)
        with mpmath.workdps(40):
            target = 1 - mpmath.mpf(delta) / mpmath.mpf(eps)
            assert abs(mpmath.power(mpmath.mpf(rho), t) - target) < mpmath.mpf(10) ** -35
        printed = lemma1_threshold(rho, delta, eps, form="printed", dps=40)
        assert abs(printed + t) < mpmath.mpf(10) ** -35
    with pytest.raises(NSTheoryError):
        lemma1_threshold(1.0, 0.01, 0.05)
    with pytest.raises(NSTheoryError):
        lemma1_threshold(0.9, 0.01, 0.05, form="other")


def test_printed_lemma1_counterexample():
    f = BooleanFunction.from_table([4, 2])  # 3 + x_1
    rho, delta, eps = Fraction(9, 10), Fraction(1, 100), Fraction(1, 20)
    assert stability(f, rho) == (1 - delta) * f.squared_norm()
    assert lemma1_threshold(rho, delta, eps, form="printed") < 1
    assert tail_weight(f, 1) > eps * f.squared_norm()  # conclusion fails at T = 1
    assert influences(f) == [1]
