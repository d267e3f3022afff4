"""Cube spectra: each route checked against an independent one (definition by enumeration,
closed forms, word counting, the Gram matrix)."""

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import arb

from nstheory.errors import NSTheoryError
from nstheory.numerics import arb_precision
from nstheory.spectrum.cube import (
    gram_eigenvalues,
    gram_monomial_residual,
    krawtchouk_rows,
    resolved,
    spectrum_arb,
    spectrum_exact,
    spectrum_mp,
    spectrum_polynomial_by_words,
    spectrum_polynomial_exact,
    word_counts,
)


def _definition(coeffs, n):
    """mu_k = 2^-n sum_x Phi(sum x / n) x_1...x_k by brute force over the cube."""
    out = []
    for k in range(n + 1):
        tot = Fraction(0)
        for x in itertools.product((1, -1), repeat=n):
            t = Fraction(sum(x), n)
            phi = sum(Fraction(c) * t**m for m, c in enumerate(coeffs))
            tot += phi * math.prod(x[:k])
        out.append(tot / 2**n)
    return out


POLYS = [[0, 1], [0, 1, 1, 1], [1, 0, 0, 0, 1], [Fraction(1, 3), -2, 0, Fraction(5, 7), 1, -1]]


@pytest.mark.parametrize("coeffs", POLYS)
@pytest.mark.parametrize("n", [1, 2, 5, 7])
def test_exact_equals_definition(coeffs, n):
    assert spectrum_polynomial_exact(coeffs, n) == _definition(coeffs, n)


@pytest.mark.parametrize("coeffs", POLYS)
def test_words_equal_krawtchouk(coeffs):
    for n in (3, 10, 31):
        assert spectrum_polynomial_by_words(coeffs, n) == spectrum_polynomial_exact(coeffs, n)


def test_paper_fixture_t_plus_t2_plus_t3():
    # the note's fixture: mu ~ (0.100, 0.128, 0.020, 0.006, 0, ...) at n = 10
    mu = spectrum_polynomial_exact([0, 1, 1, 1], 10)
    assert [round(float(m), 3) for m in mu[:5]] == [0.1, 0.128, 0.02, 0.006, 0.0]
    assert all(m == 0 for m in mu[4:])


def test_word_counts_small_bruteforce():
    n, k, m = 4, 2, 4
    cnt = 0
    for w in itertools.product(range(n), repeat=m):
        c = [w.count(i) for i in range(n)]
        cnt += all((c[i] % 2 == 1) == (i < k) for i in range(n))
    assert word_counts(n, k, m) == cnt


def test_krawtchouk_rows_generating_function():
    n = 6
    for k, row in enumerate(krawtchouk_rows(n)):
        for j in range(n + 1):
            # [z^k] (1 - z)^j (1 + z)^(n - j)
            val = sum((-1) ** i * math.comb(j, i) * math.comb(n - j, k - i) for i in range(k + 1))
            assert row[j] == val


def test_exp_closed_form_all_routes():
    # Phi = exp: mu_k = sinh(1/n)^k cosh(1/n)^(n-k) (the cube factorises)
    n = 40
    mu_arb = spectrum_arb(lambda t: t.exp(), n, bits=80)
    mu_mp = spectrum_mp(mpmath.exp, n, dps=30)
    with mpmath.workdps(60):
        exact = [mpmath.sinh(mpmath.mpf(1) / n) ** k * mpmath.cosh(mpmath.mpf(1) / n) ** (n - k)
                 for k in range(n + 1)]
        for k in range(n + 1):
            with arb_precision(bits=300):
                assert mu_arb[k].contains(arb(mpmath.nstr(exact[k], 50))) or \
                    mu_arb[k].overlaps(arb(mpmath.nstr(exact[k], 50)))
            assert resolved(mu_arb[k], 80)
            assert abs(mu_mp[k] / exact[k] - 1) < mpmath.mpf(10) ** -28


def test_no_cancellation_blowup_large_n():
    # n = 400: mu_k spans ~1e-1040..1; float64 would lose everything; arb keeps 53 bits
    n = 400
    mu = spectrum_arb(lambda t: t.exp(), n, bits=53)
    with mpmath.workdps(40):
        for k in (0, 1, 7, 200, 399, 400):
            e = mpmath.sinh(mpmath.mpf(1) / n) ** k * mpmath.cosh(mpmath.mpf(1) / n) ** (n - k)
            assert resolved(mu[k], 53)
            assert mu[k].overlaps(arb(mpmath.nstr(e, 35)))


def test_polynomial_certified_equals_exact():
    coeffs = [Fraction(1, 3), -2, 0, Fraction(5, 7), 1, -1]
    n = 25
    ex = spectrum_polynomial_exact(coeffs, n)

    def phi(t):
        acc = arb(0)
        for c in reversed(coeffs):
            acc = acc * t + arb(c.numerator) / c.denominator if isinstance(c, Fraction) \
                else acc * t + c
        return acc

    mu = spectrum_arb(phi, n)
    for m, e in zip(mu, ex, strict=True):
        with arb_precision(bits=200):
            assert m.contains(arb(e.numerator) / e.denominator)


@pytest.mark.parametrize("n", [3, 6])
def test_gram_matrix_eigenvalues(n):
    coeffs = [1, 1, Fraction(1, 2), Fraction(1, 6)]
    mu = spectrum_polynomial_exact(coeffs, n)
    expected = sorted((float(m) for k, m in enumerate(mu) for _ in range(math.comb(n, k))),
                      reverse=True)
    ev = gram_eigenvalues(lambda t: 1 + t + t * t / 2 + t**3 / 6, n)
    np.testing.assert_allclose(ev, expected, atol=1e-13)


def test_monomials_are_exact_eigenvectors():
    n = 4
    vals = [Fraction(3, 1) ** (n - 2 * j) for j in range(n + 1)]  # Phi(t) = 3^(n t)
    lam, ok = gram_monomial_residual(vals, n)
    assert ok
    assert lam == spectrum_exact(vals)


def test_validation():
    with pytest.raises(NSTheoryError):
        spectrum_polynomial_exact([0, 1], 0)
    with pytest.raises(NSTheoryError):
        spectrum_arb(lambda t: t, 10_001)
    with pytest.raises(NSTheoryError):
        spectrum_arb(lambda t: t / 0, 3)
    with pytest.raises(NSTheoryError):
        spectrum_polynomial_exact([], 3)


def test_huge_weight_variance_is_not_an_overflow():
    # sw2 = 1e300 puts the kernel values near 1e900, beyond floats (was: OverflowError). With
    # sb2 = 0 the ReLU kernels are homogeneous in sw2, so every ratio of eigenvalues is the
    # one at sw2 = 2
    from nstheory.spectrum.cli import evaluate

    big = evaluate(act="relu", depth=2, n=6, dps=12, sw2="1e300")
    ref = evaluate(act="relu", depth=2, n=6, dps=12, sw2="2")
    assert big["gp_influence_ratio"] == ref["gp_influence_ratio"]
    for a, b in zip(big["degrees"], ref["degrees"], strict=True):
        assert float(a["ntk"]) == float("inf") or math.isclose(
            mpmath.mpf(a["ntk"]) / mpmath.mpf(big["degrees"][0]["ntk"]),
            mpmath.mpf(b["ntk"]) / mpmath.mpf(ref["degrees"][0]["ntk"]), rel_tol=1e-10)
