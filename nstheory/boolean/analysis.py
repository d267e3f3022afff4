"""Exact spectral quantities of f: {-1,1}^n -> R (O'Donnell chs. 1-2; see docs/conventions.md).

Every function takes a :class:`~nstheory.boolean.function.BooleanFunction` (or a truth table)
and returns exact ``Fraction`` s (or, for a float ``rho``, a float computed from the exact
weights).

* ``W^k[f] = sum_{|S|=k} f^(S)^2`` (:func:`weights`), tails ``W^{>=k}`` (:func:`tail_weight`).
* ``Stab_rho[f] = E[f(x) f(y)] = sum_k rho^k W^k`` for rho-correlated ``y`` -- the **raw**
  (uncentred) stability, a correlation for ±1-valued f (``2 Pr[f(x) = f(y)] - 1``), not an
  agreement probability.
* ``NS_delta[f] = (E[f^2] - Stab_{1-2 delta}[f]) / 2``; for ±1-valued f this is
  ``1/2 - 1/2 Stab_{1-2 delta}[f] = Pr[f(x) != f(y)]`` with ``y`` flipping each bit w.p. delta.
* ``Inf_i[f] = sum_{S contains i} f^(S)^2``, ``I[f] = sum_S |S| f^(S)^2``.
* Sensitivity (from the truth table, not from Fourier): local ``s(f, x) = #{i: f(x) !=
  f(x^{+i})}``, average ``as(f) = E_x s(f, x)`` (in ``[0, n]``; equals ``I[f]`` for ±1-valued
  f), the normalised ``as(f)/n`` that sensitivity papers report, and max ``s(f)``.

Examples
--------
>>> from nstheory.boolean.zoo import majority
>>> f = majority(3)
>>> [str(w) for w in weights(f)]
['0', '3/4', '0', '1/4']
>>> stability(f, Fraction(1, 2))
Fraction(13, 32)
>>> total_influence(f), average_sensitivity(f), normalised_average_sensitivity(f)
(Fraction(3, 2), Fraction(3, 2), Fraction(1, 2))
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nstheory.boolean.function import BooleanFunction, as_function, popcounts
from nstheory.errors import NSTheoryError, check_int, check_probability, check_rho


def weights(f) -> list[Fraction]:
    """Fourier weights ``[W^0, W^1, ..., W^n]`` (exact).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    list of Fraction
        ``W^k[f]`` for ``k = 0..n``; they sum to ``E[f^2]``.

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> [str(w) for w in weights(parity(3))]
    ['0', '0', '0', '1']
    """
    f = as_function(f)
    s2 = f.scale * f.scale
    return [Fraction(v, s2) for v in f.weight_sums_scaled]


def tail_weight(f, k: int) -> Fraction:
    """``W^{>=k}[f] = sum_{|S| >= k} f^(S)^2``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    k : int
        Lowest degree counted (``k >= 0``; zero weight for ``k > n``).

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> tail_weight(majority(3), 2)
    Fraction(1, 4)
    """
    f = as_function(f)
    k = check_int(k, "k", lo=0)
    return sum(weights(f)[k:], Fraction(0))


def degree(f) -> int:
    """Fourier degree (``-1`` for the zero function).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    int

    Examples
    --------
    >>> from nstheory.boolean.zoo import tribes
    >>> degree(tribes(2, 2))
    4
    """
    w = weights(f)
    nz = [k for k, v in enumerate(w) if v != 0]
    return nz[-1] if nz else -1


def _exact_or_float(x, name: str):
    """``x`` as the two routes take it: a float for a float, else an exact ``Fraction`` (ints,
    Fractions, mpmath numbers by their exact binary value, text such as ``"1/2"`` or ``"0.1"``
    by its decimal value)."""
    if isinstance(x, bool):
        raise NSTheoryError(f"{name} must be a real number, got {x!r}")
    if isinstance(x, float | np.floating):
        return float(x)
    from nstheory.validate import exact_real

    return exact_real(x, name)


def _as_rho(rho):
    check_rho(rho)
    return _exact_or_float(rho, "rho")


def stability(f, rho):
    """Raw noise stability ``Stab_rho[f] = E[f(x) f(y)] = sum_k rho^k W^k``.

    Exact ``Fraction`` for an int, Fraction, mpmath number or text ``rho`` (``"1/2"``), float
    for a float ``rho``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    rho : int, Fraction or float
        Correlation in ``[-1, 1]``.

    Returns
    -------
    Fraction or float

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> stability(parity(4), Fraction(1, 3))
    Fraction(1, 81)
    >>> stability(parity(4), 2)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: rho must lie in [-1, 1], got 2
    """
    rho = _as_rho(rho)
    w = weights(f)
    if isinstance(rho, Fraction):
        return sum((wk * rho**k for k, wk in enumerate(w)), Fraction(0))
    r = float(rho)
    return float(sum(float(wk) * r**k for k, wk in enumerate(w)))


def stability_polynomial(f, symbol=None):
    """``Stab_rho[f]`` as a SymPy polynomial in ``rho`` with exact rational coefficients.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    symbol : sympy.Symbol, optional
        The variable (default ``rho``).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> stability_polynomial(majority(3))
    rho**3/4 + 3*rho/4
    """
    import sympy

    rho = symbol if symbol is not None else sympy.Symbol("rho")
    return sympy.Add(
        *[sympy.Rational(w.numerator, w.denominator) * rho**k for k, w in enumerate(weights(f))]
    )


def noise_sensitivity(f, delta):
    """``NS_delta[f] = (E[f^2] - Stab_{1-2 delta}[f]) / 2`` (= ``Pr[f(x) != f(y)]`` for
    ±1-valued f, y flipping each bit independently with probability ``delta``).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    delta : int, Fraction or float
        Flip probability in ``[0, 1]``.

    Returns
    -------
    Fraction or float
        Exact for an exact ``delta`` (as :func:`stability`); for a float ``delta`` the sum
        ``sum_k W^k (1 - (1 - 2 delta)^k) / 2`` with each ``1 - r^k`` formed without
        cancellation (``expm1``/``log1p``), so a tiny ``delta`` keeps full relative precision.

    Examples
    --------
    >>> from nstheory.boolean.zoo import dictator, majority
    >>> noise_sensitivity(dictator(5, 2), Fraction(1, 10))
    Fraction(1, 10)
    >>> exact = noise_sensitivity(majority(11), Fraction(1, 10**12))
    >>> abs(noise_sensitivity(majority(11), 1e-12) / float(exact) - 1) < 1e-14
    True
    """
    check_probability(delta, "delta")
    d = _exact_or_float(delta, "delta")
    f = as_function(f)
    if isinstance(d, Fraction):
        return (f.squared_norm() - stability(f, 1 - 2 * d)) / 2
    # 1 - r^k with r = 1 - 2d: for r >= 0, -expm1(k log1p(-2d)); for r < 0 (d > 1/2),
    # |r| = 1 - 2(1 - d) and r^k = (-1)^k |r|^k
    e = min(d, 1 - d)
    lg = math.log1p(-2 * e) if e < 0.5 else -math.inf
    total = 0.0
    for k, wk in enumerate(weights(f)):
        if k == 0 or wk == 0:
            continue
        mag = math.exp(k * lg)                     # |r|^k
        one_minus = -math.expm1(k * lg) if (d <= 0.5 or k % 2 == 0) else 1 + mag
        total += float(wk) * one_minus
    return total / 2


def noise_operator(f, rho):
    """``T_rho f = sum_S rho^|S| f^(S) chi_S``.

    For int/Fraction ``rho`` returns an exact :class:`BooleanFunction`; for a float ``rho`` a
    float64 array of values in truth-table order.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    rho : int, Fraction or float
        Correlation in ``[-1, 1]``.

    Returns
    -------
    BooleanFunction or numpy.ndarray

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> g = noise_operator(majority(3), Fraction(1, 2))
    >>> [str(v) for v in g.values_exact()[:2]]
    ['11/16', '5/16']
    """
    rho = _as_rho(rho)
    f = as_function(f)
    c = f.coefficients_scaled
    pc = popcounts(f.n)
    if not isinstance(rho, Fraction):
        from nstheory.boolean.fwht import fwht_inplace

        d = c.astype(np.float64) * float(rho) ** pc.astype(np.float64)
        return fwht_inplace(np.ascontiguousarray(d)) / f.scale
    r = rho
    p, q = r.numerator, r.denominator
    # (T f)(x) = H(c * p^|S| q^(n-|S|)) / (scale q^n)
    mult = [p**k * q ** (f.n - k) for k in range(f.n + 1)]
    cmax = int(np.abs(c.astype(object)).max()) if c.size else 0
    bound = cmax * max(abs(m) for m in mult) << (f.n + 1)
    if bound < 2**62 and c.dtype != object:
        d = c.astype(np.int64) * np.array(mult, dtype=np.int64)[pc]
    else:
        d = np.array([int(v) * mult[k] for v, k in zip(c.tolist(), pc.tolist(), strict=True)],
                     dtype=object)
    from nstheory.boolean.fwht import fwht

    vals = fwht(d)
    den = f.scale * q**f.n
    if vals.dtype != object and den < 2**62:
        g = int(np.gcd.reduce(np.append(vals.astype(np.int64), den)))
    else:
        from math import gcd

        g = 0
        for v in vals.tolist():
            g = gcd(g, int(v))
        g = gcd(g, den)
    g = g or 1
    if vals.dtype == object or g >= 2**62:
        vals = np.array([int(v) // g for v in vals.tolist()], dtype=object)
    else:
        vals = vals.astype(np.int64) // g
    return BooleanFunction(vals, den // g, name=f"T_{r} {f.name}".strip())


def influences(f) -> list[Fraction]:
    """``[Inf_1, ..., Inf_n]`` with ``Inf_i = sum_{S contains i} f^(S)^2`` (exact).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    list of Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> [str(v) for v in influences(majority(3))]
    ['1/2', '1/2', '1/2']
    """
    f = as_function(f)
    sq = f.squared_coefficients_scaled
    s2 = f.scale * f.scale
    out = []
    for i in range(f.n):
        v = sq.reshape(-1, 2, 1 << i)[:, 1, :]
        out.append(Fraction(int(v.sum()), s2))
    return out


def total_influence(f) -> Fraction:
    """``I[f] = sum_S |S| f^(S)^2 = sum_k k W^k``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> total_influence(parity(5))
    Fraction(5, 1)
    """
    return sum((k * w for k, w in enumerate(weights(f))), Fraction(0))


def local_sensitivity(f) -> np.ndarray:
    """``s(f, x) = #{i : f(x) != f(x^{+i})}`` for every x, in truth-table order (from values).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    numpy.ndarray
        Integer array of length ``2^n``.

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> local_sensitivity(majority(3)).tolist()
    [0, 2, 2, 2, 2, 2, 2, 0]
    """
    f = as_function(f)
    t = f.table
    s = np.zeros(t.size, dtype=np.int16)
    for i in range(f.n):
        tv = t.reshape(-1, 2, 1 << i)
        diff = (tv[:, 0, :] != tv[:, 1, :]).astype(np.int16)
        sv = s.reshape(-1, 2, 1 << i)
        sv[:, 0, :] += diff
        sv[:, 1, :] += diff
    return s


def average_sensitivity(f) -> Fraction:
    """``as(f) = E_x s(f, x)``, in ``[0, n]`` (equals ``I[f]`` when f is ±1-valued).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> float(average_sensitivity(majority(7)))
    2.1875
    """
    f = as_function(f)
    return Fraction(int(local_sensitivity(f).astype(np.int64).sum()), f.size)


def normalised_average_sensitivity(f) -> Fraction:
    """``as(f) / n`` in ``[0, 1]``: the flip probability under one uniformly chosen bit flip,
    the scale sensitivity papers (e.g. vasudeva2025) report.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from nstheory.boolean.zoo import parity
    >>> normalised_average_sensitivity(parity(4))
    Fraction(1, 1)
    """
    f = as_function(f)
    if f.n == 0:
        raise NSTheoryError("as(f)/n is undefined for n = 0")
    return average_sensitivity(f) / f.n


def max_sensitivity(f) -> int:
    """``s(f) = max_x s(f, x)``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    int

    Examples
    --------
    >>> from nstheory.boolean.zoo import tribes
    >>> max_sensitivity(tribes(2, 3))
    3
    """
    return int(local_sensitivity(f).max(initial=0))


def summary(f, rho) -> dict:
    """Exact summary used by the CLI: stability, total influence, weights, influences,
    sensitivities and degree, each as a Fraction.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function (or its truth table).
    rho : rational
        Correlation for ``Stab_rho``.

    Returns
    -------
    dict
        Keys ``n, boolean, rho, stab, total_influence, weights, influences, degree, mean,
        squared_norm, average_sensitivity, max_sensitivity``.

    Examples
    --------
    For Majority on 3 bits, ``Stab_rho = (3 rho + rho^3) / 4`` and every influence is 1/2:

    >>> from fractions import Fraction
    >>> from nstheory.boolean.zoo import majority
    >>> s = summary(majority(3), Fraction(1, 2))
    >>> s["stab"] == (3 * Fraction(1, 2) + Fraction(1, 8)) / 4
    True
    >>> s["influences"], s["degree"]
    ([Fraction(1, 2), Fraction(1, 2), Fraction(1, 2)], 3)
    """
    f = as_function(f)
    out = {
        "n": f.n,
        "boolean": f.is_boolean,
        "rho": Fraction(rho),
        "stab": stability(f, Fraction(rho)),
        "total_influence": total_influence(f),
        "weights": weights(f),
        "influences": influences(f),
        "degree": degree(f),
        "mean": f.mean(),
        "squared_norm": f.squared_norm(),
    }
    out["average_sensitivity"] = average_sensitivity(f)
    out["max_sensitivity"] = max_sensitivity(f)
    return out


__all__ = [
    "BooleanFunction",
    "average_sensitivity",
    "degree",
    "influences",
    "local_sensitivity",
    "max_sensitivity",
    "noise_operator",
    "noise_sensitivity",
    "normalised_average_sensitivity",
    "stability",
    "stability_polynomial",
    "summary",
    "tail_weight",
    "total_influence",
    "weights",
]
