"""Juntas: influential coordinates, closest juntas, Friedgut's bound (O'Donnell ch. 3, 9).

* :func:`influential_coordinates` -- the fewest coordinates (by decreasing influence) that carry
  a given share of the total influence.
* :func:`subset_weights` -- ``sum_{S subset of J} f^(S)^2`` for every ``J`` (exact zeta
  transform); the Fourier weight *outside* ``J`` is ``||f||^2`` minus it, and equals
  ``||f - f^{subset J}||^2`` where ``f^{subset J} = E[f | x_J]`` is the best ``J``-junta in L2.
* :func:`closest_junta` -- exact over all ``C(n, k)`` sets: the ``k``-set with least weight
  outside, and (for ±1-valued f) the Boolean distance ``Pr[f != sgn(f^{subset J})] =
  (1 - E|f^{subset J}|) / 2``, the closest Boolean junta on that set. The Boolean distance is at
  most the weight outside.
* :func:`friedgut_bound` -- an explicit form of Friedgut's junta theorem derived with Bonami's
  (2, 4/3)-hypercontractivity: with ``k = ceil(I/eps)`` and ``tau = (eps / (3^(k-1) I))^2``,
  ``J = {i : Inf_i >= tau}`` has ``|J| <= I / tau = I^3 9^(k-1) / eps^2`` and Fourier weight
  outside ``{S subset of J, |S| <= k}`` at most ``2 eps``, so f is ``2 eps``-close to a junta
  on ``J``. (``sum_{S containing i, |S| <= k} f^(S)^2 <= 3^(k-1) ||T_{1/sqrt 3} D_i f||^2 <=
  3^(k-1) Inf_i^(3/2)``; sum over ``i`` not in ``J``; Markov for ``|S| > k``.)

Examples
--------
>>> from nstheory.boolean.zoo import tribes
>>> f = tribes(2, 2)
>>> influential_coordinates(f, Fraction(1, 2))
[1, 2]
>>> j = closest_junta(f, 2)
>>> j.coords, j.weight_outside, j.boolean_distance
([1, 2], Fraction(9, 16), Fraction(3, 16))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nstheory.boolean.analysis import influences, total_influence
from nstheory.boolean.function import BooleanFunction, as_function, popcounts, subset_mask
from nstheory.errors import NSTheoryError, check_int, check_probability


def influential_coordinates(f, share) -> list[int]:
    """Fewest coordinates (1-based, by decreasing influence, ties by index) whose influences sum
    to at least ``share * I[f]``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    share : rational in [0, 1]
        Fraction of ``I[f]`` to cover.

    Returns
    -------
    list of int

    Examples
    --------
    >>> from nstheory.boolean.zoo import dictator
    >>> influential_coordinates(dictator(4, 3), 1)
    [3]
    """
    check_probability(share, "share")
    inf = influences(f)
    target = Fraction(share) * sum(inf, Fraction(0))
    order = sorted(range(len(inf)), key=lambda i: (-inf[i], i))
    acc, out = Fraction(0), []
    for i in order:
        if acc >= target:
            break
        acc += inf[i]
        out.append(i + 1)
    return out


def subset_weights(f) -> np.ndarray:
    """Scaled exact ``g[J] = scale^2 sum_{S subset of J} f^(S)^2`` for every bitmask ``J``
    (integer array; divide by ``f.scale**2``).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).

    Returns
    -------
    numpy.ndarray
        Length ``2^n``, indexed by bitmask ``J``.

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> f = majority(3)
    >>> (subset_weights(f) / f.scale**2).tolist()
    [0.0, 0.25, 0.25, 0.5, 0.25, 0.5, 0.5, 1.0]
    """
    f = as_function(f)
    g = np.array(f.squared_coefficients_scaled, copy=True)
    for i in range(f.n):
        v = g.reshape(-1, 2, 1 << i)
        v[:, 1, :] += v[:, 0, :]
    return g


def junta_projection(f, J) -> BooleanFunction:
    """``f^{subset J} = E[f | x_J]`` (average over the coordinates outside ``J``), exact.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    J : iterable of int or int
        1-based coordinates (or a bitmask).

    Returns
    -------
    BooleanFunction

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> [str(v) for v in junta_projection(majority(3), {1}).values_exact()[:2]]
    ['1/2', '-1/2']
    """
    f = as_function(f)
    mask = subset_mask(J, f.n)
    t = f.table.astype(object if f.table.dtype == object else np.int64)
    shape = (2,) * f.n  # axis a <-> bit n-1-a (C order)
    cube = t.reshape(shape)
    out_axes = tuple(f.n - 1 - i for i in range(f.n) if not mask >> i & 1)
    summed = cube.sum(axis=out_axes, keepdims=True)
    full = np.broadcast_to(summed, shape).reshape(-1).copy()
    m = f.n - bin(mask).count("1")
    return BooleanFunction(full, f.denom << m, name=f"E[{f.name} | x_J]")


@dataclass(frozen=True)
class JuntaApproximation:
    """Best junta on ``coords``: Fourier weight outside (``= ||f - f^{subset J}||^2``) and, for
    ±1-valued f, the Boolean distance ``Pr[f != sgn(f^{subset J})]`` (else None).

    Parameters
    ----------
    coords : list of int
        The junta's coordinates (1-based).
    weight_outside : fractions.Fraction
        Fourier weight on sets not contained in ``coords``.
    boolean_distance : fractions.Fraction or None
        Distance to the rounded projection, for ±1-valued ``f``.

    Examples
    --------
    ``AND_2`` on its first coordinate alone: the weight outside is
    ``f^({2})^2 + f^({1, 2})^2 = 1/4 + 1/4``, and ``sgn E[f | x_1]`` errs on 1 point of 4:

    >>> from nstheory.boolean.zoo import and_
    >>> a = closest_junta(and_(2), 1)
    >>> a.coords, a.weight_outside, a.boolean_distance
    ([1], Fraction(1, 2), Fraction(1, 4))
    """

    coords: list[int]
    weight_outside: Fraction
    boolean_distance: Fraction | None


def _approximation(f: BooleanFunction, mask: int, inside_scaled: int) -> JuntaApproximation:
    norm = f.squared_norm()
    outside = norm - Fraction(int(inside_scaled), f.scale * f.scale)
    dist = None
    if f.is_boolean:
        p = junta_projection(f, mask)
        absmean = Fraction(sum(abs(int(v)) for v in p.table.tolist()), p.denom << f.n)
        dist = (1 - absmean) / 2
    coords = [i + 1 for i in range(f.n) if mask >> i & 1]
    return JuntaApproximation(coords, outside, dist)


def closest_junta(f, k: int) -> JuntaApproximation:
    """The ``k``-set ``J`` minimising the Fourier weight outside ``J`` (exact search over all
    ``C(n, k)`` sets via :func:`subset_weights`; ties go to the smallest bitmask).

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    k : int
        Junta size, ``0 <= k <= n``.

    Returns
    -------
    JuntaApproximation

    Examples
    --------
    >>> from nstheory.boolean.zoo import dictator
    >>> closest_junta(dictator(3, 2), 1)
    JuntaApproximation(coords=[2], weight_outside=Fraction(0, 1), boolean_distance=Fraction(0, 1))
    """
    f = as_function(f)
    k = check_int(k, "k", lo=0, hi=f.n)
    g = subset_weights(f)
    cand = np.flatnonzero(popcounts(f.n) == k)
    vals = g[cand]
    best = int(cand[int(np.argmax(vals))]) if vals.dtype != object else int(
        cand[max(range(len(cand)), key=lambda j: (vals[j], -j))])
    return _approximation(f, best, g[best])


def smallest_junta(f, eps) -> JuntaApproximation:
    """Least ``k`` (and its best set) with Fourier weight outside at most ``eps ||f||^2``.

    Parameters
    ----------
    f : BooleanFunction or array_like
        The function or its truth table (length ``2^n``).
    eps : rational in [0, 1]
        Allowed relative weight outside.

    Returns
    -------
    JuntaApproximation

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> smallest_junta(majority(5), Fraction(1, 2)).coords
    [1, 2, 3, 4]
    """
    check_probability(eps, "eps")
    f = as_function(f)
    bound = Fraction(eps) * f.squared_norm()
    for k in range(f.n + 1):
        a = closest_junta(f, k)
        if a.weight_outside <= bound:
            return a
    raise NSTheoryError("unreachable: the full set has zero weight outside")  # pragma: no cover


@dataclass(frozen=True)
class FriedgutBound:
    """Explicit Friedgut junta bound: degree cut ``k``, influence threshold ``tau``, the size
    bound ``I/tau``; with a function: the set ``J = {Inf_i >= tau}`` and its Fourier weight
    outside ``{S subset J, |S| <= k}`` (guaranteed ``<= 2 eps``).

    Parameters
    ----------
    eps : fractions.Fraction
        Target accuracy.
    total_influence : float
        ``I[f]``.
    k : int
        Degree cut ``ceil(I / eps)``.
    tau : float
        Influence threshold ``(eps / (3^(k-1) I))^2``.
    size_bound : float
        ``I / tau``, the bound on ``|J|`` (``inf`` beyond float range, from ``I / eps`` of
        about 320 on; ``tau`` is then 0.0, rounded from its exact positive value).
    coords, weight_outside_low_junta : optional
        With a function: ``J`` and its exact weight outside the low-degree junta.

    Examples
    --------
    >>> from nstheory.boolean.zoo import majority
    >>> b = friedgut_bound(majority(3), Fraction(1, 4))
    >>> b.k == 6 and b.weight_outside_low_junta <= 2 * b.eps
    True
    """

    eps: Fraction
    total_influence: float
    k: int
    tau: float
    size_bound: float
    coords: list[int] | None = None
    weight_outside_low_junta: Fraction | None = None


def friedgut_bound(f_or_influence, eps) -> FriedgutBound:
    """Friedgut's junta theorem with explicit constants (see the module docstring).

    Pass a ±1-valued function (the set ``J`` and its weight are then computed exactly) or a
    number ``I[f]``.

    Parameters
    ----------
    f_or_influence : BooleanFunction or number
        A ±1-valued function, or its total influence ``I[f] > 0``.
    eps : rational in (0, 1]
        Target accuracy.

    Returns
    -------
    FriedgutBound

    Examples
    --------
    >>> b = friedgut_bound(1.0, 0.5)
    >>> b.k, round(b.tau, 6), round(b.size_bound, 2)
    (2, 0.027778, 36.0)
    """
    check_probability(eps, "eps")
    if eps == 0:
        raise NSTheoryError("Friedgut's bound needs eps > 0")
    f = None
    if isinstance(f_or_influence, BooleanFunction):
        f = f_or_influence.require_boolean()
        total = total_influence(f)
    else:
        total = Fraction(f_or_influence)
    if total <= 0:
        raise NSTheoryError(f"Friedgut's bound needs I[f] > 0, got {total}")
    e = Fraction(eps)
    k = max(1, math.ceil(total / e))
    tau = (e / (3 ** (k - 1) * total)) ** 2
    size = total / tau
    coords = outside = None
    if f is not None:
        inf = influences(f)
        coords = [i + 1 for i, v in enumerate(inf) if v >= tau]
        mask = subset_mask(coords, f.n)
        idx = np.arange(1 << f.n)
        low_in_j = ((idx & ~mask) == 0) & (popcounts(f.n) <= k)
        sq = f.squared_coefficients_scaled
        inside = int(sq[low_in_j].sum())
        outside = f.squared_norm() - Fraction(inside, f.scale * f.scale)
    # the exact tau and I/tau leave float range once I/eps passes ~320 (3^(k-1) squared)
    size_f = float(size) if size < Fraction(2**1023) else math.inf
    return FriedgutBound(e, float(total), k, float(tau), size_f, coords, outside)


__all__ = [
    "FriedgutBound",
    "JuntaApproximation",
    "closest_junta",
    "friedgut_bound",
    "influential_coordinates",
    "junta_projection",
    "smallest_junta",
    "subset_weights",
]
