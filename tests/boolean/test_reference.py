"""The closed-form reference values equal exact enumeration of the truth tables."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest

from nstheory.boolean import analysis, zoo
from nstheory.boolean.reference import references

RHO = Fraction(2, 5)


@pytest.mark.parametrize("w,s", [(1, 3), (2, 2), (2, 3), (3, 2)])
def test_tribes_influences(w, s):
    f = zoo.tribes(w, s)
    inf, total = references("tribes", (w, s), RHO)
    assert set(analysis.influences(f)) == {inf.value}
    assert analysis.total_influence(f) == total.value


@pytest.mark.parametrize("n,S", [(4, None), (6, [2, 5]), (5, [3])])
def test_parity(n, S):
    f = zoo.parity(n, S)
    stab, total = references("parity", (n, S), RHO)
    assert analysis.stability(f, RHO) == stab.value
    assert analysis.total_influence(f) == total.value


@pytest.mark.parametrize("func,build", [("and", zoo.and_), ("or", zoo.or_)])
def test_and_or(func, build):
    f = build(5)
    inf, total = references(func, (5,), RHO)
    assert set(analysis.influences(f)) == {inf.value}
    assert analysis.total_influence(f) == total.value


def test_majority_exact_and_rate():
    f = zoo.majority(9)
    refs = {r.label.split(" ")[0]: r for r in references("majority", (9,), RHO)}
    assert analysis.stability(f, RHO) == refs["exact"].value
    assert analysis.total_influence(f) == refs["I[Maj_n]"].value
    # the C(rho)/n prediction is closer to the exact value than the limit itself at n = 401
    big = {r.label.split(" ")[0]: r.value for r in references("majority", (401,), RHO)}
    exact = mpmath.mpf(big["exact"].numerator) / big["exact"].denominator
    assert abs(exact - big["limit"]) < abs(exact - big["Sheppard's"]) / 20
