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


def test_sheppard_at_a_correlation_just_below_one():
    # rho = 1 - 1e-18 (exact): was a ZeroDivisionError in the rate constant and a limit of
    # exactly 1.0; reference: the textbook forms in mpmath at 60 digits
    import mpmath

    from nstheory.boolean.majority_exact import sheppard_limit, sheppard_rate_constant

    rho = "0.999999999999999999"
    with mpmath.workdps(60):
        x = mpmath.mpf(rho)
        ref_limit = 2 / mpmath.pi * mpmath.asin(x)
        ref_rate = x / (mpmath.pi * mpmath.sqrt(1 - x * x))
    assert abs(sheppard_limit(rho) - ref_limit) < 1e-14
    assert abs(sheppard_rate_constant(rho) / ref_rate - 1) < 1e-12
    assert abs(sheppard_limit("-1/2") + mpmath.mpf(1) / 3) < 1e-15
