"""Brute-force routes that do not use the fast transform (small n only).

These are the independent checks of :mod:`nstheory.boolean.analysis`:

* :func:`fourier_by_definition` -- ``f^(S) = E[f chi_S]`` by the full ``2^n x 2^n`` character
  matrix (``O(4^n)``).
* :func:`stability_by_pairs` -- ``E[f(x) f(y)]`` summed over all ``4^n`` pairs ``(x, y)`` with
  weight ``2^-n ((1+rho)/2)^(n-d) ((1-rho)/2)^d`` (``d`` = Hamming distance): the definition of
  the rho-correlated pair, not the Fourier formula.
* :func:`disagreement_by_pairs` -- ``Pr[f(x) != f(y)]`` for y flipping each bit w.p. delta.
* :func:`influences_by_derivatives` -- ``Inf_i = E[((f(x) - f(x^{+i})) / 2)^2]`` from the table.

Examples
--------
>>> from fractions import Fraction
>>> from nstheory.boolean.zoo import majority
>>> stability_by_pairs(majority(3), Fraction(1, 2))
Fraction(13, 32)
>>> influences_by_derivatives(majority(3))
[Fraction(1, 2), Fraction(1, 2), Fraction(1, 2)]
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from nstheory.boolean.function import as_function, popcounts, square_sum
from nstheory.boolean.fwht import max_abs
from nstheory.errors import NSTheoryError, check_probability, check_rho

#: Largest n for the O(4^n) routes.
PAIR_LIMIT = 11


def _small(f):
    f = as_function(f)
    if f.n > PAIR_LIMIT:
        raise NSTheoryError(f"brute-force routes are limited to n <= {PAIR_LIMIT}, got {f.n}")
    return f


def _distance_sums(f) -> list[int]:
    """``sum over pairs at Hamming distance d of table[x] table[y]`` (exact integers)."""
    t = np.array([int(v) for v in f.table.tolist()], dtype=object)
    idx = np.arange(f.size)
    d = popcounts(f.n)[np.bitwise_xor.outer(idx, idx)]  # (2^n, 2^n) distances
    outer = np.multiply.outer(t, t)
    return [int(outer[d == k].sum()) if np.any(d == k) else 0 for k in range(f.n + 1)]


def fourier_by_definition(f) -> list[Fraction]:
    """``f^(S) = 2^-n sum_x f(x) chi_S(x)`` for every bitmask S, with the explicit matrix.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    list of Fraction
        ``f^(S)`` indexed by bitmask ``S``.

    Examples
    --------
    >>> fourier_by_definition([1, 1, 1, -1])
    [Fraction(1, 2), Fraction(1, 2), Fraction(1, 2), Fraction(-1, 2)]
    """
    f = _small(f)
    idx = np.arange(f.size)
    chi = 1 - 2 * (popcounts(f.n)[np.bitwise_and.outer(idx, idx)].astype(np.int64) & 1)
    t = np.array([int(v) for v in f.table.tolist()], dtype=object)
    sums = chi.astype(object) @ t
    return [Fraction(int(v), f.scale) for v in sums]


def stability_by_pairs(f, rho) -> Fraction:
    """Exact ``E[f(x) f(y)]`` over all pairs with the rho-correlated pair law (rational rho).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    rho : int or Fraction
        Correlation in ``[-1, 1]``.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> stability_by_pairs(parity(3), Fraction(-1, 2))
    Fraction(-1, 8)
    """
    check_rho(rho)
    f = _small(f)
    r = Fraction(rho)
    a, b = (1 + r) / 2, (1 - r) / 2
    sums = _distance_sums(f)
    total = sum((a ** (f.n - d) * b**d * s for d, s in enumerate(sums)), Fraction(0))
    return total / (f.size * f.denom * f.denom)


def disagreement_by_pairs(f, delta) -> Fraction:
    """Exact ``Pr[f(x) != f(y)]`` with y flipping each bit of x independently w.p. ``delta``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    delta : int or Fraction
        Flip probability in ``[0, 1]``.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import dictator
    >>> disagreement_by_pairs(dictator(3), Fraction(1, 10))
    Fraction(1, 10)
    """
    check_probability(delta, "delta")
    f = _small(f)
    d = Fraction(delta)
    idx = np.arange(f.size)
    dist = popcounts(f.n)[np.bitwise_xor.outer(idx, idx)]
    diff = np.not_equal.outer(f.table, f.table)
    total = Fraction(0)
    for k in range(f.n + 1):
        cnt = int(np.count_nonzero(diff & (dist == k)))
        total += cnt * (1 - d) ** (f.n - k) * d**k
    return total / f.size


def influences_by_derivatives(f) -> list[Fraction]:
    """``Inf_i = E[((f(x) - f(x^{+i}))/2)^2]`` directly from the table (any n <= 24).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    list of Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> influences_by_derivatives(parity(2))
    [Fraction(1, 1), Fraction(1, 1)]
    """
    f = as_function(f)
    wide = f.table.dtype == object or max_abs(f.table) >= 2**62   # differences must fit
    t = f.table.astype(object if wide else np.int64)
    out = []
    for i in range(f.n):
        v = t.reshape(-1, 2, 1 << i)
        diff = v[:, 0, :] - v[:, 1, :]
        s = square_sum(diff)  # each unordered pair counted once; E over 2^n points
        out.append(Fraction(2 * s, 4 * f.size * f.denom * f.denom))
    return out


__all__ = [
    "PAIR_LIMIT",
    "disagreement_by_pairs",
    "fourier_by_definition",
    "influences_by_derivatives",
    "stability_by_pairs",
]
