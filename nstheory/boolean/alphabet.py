"""Functions on finite alphabets [U]^n under the regularizer's token-resampling noise.

A function is an array of shape ``(U,) * n`` (``f[x_1, ..., x_n]``, symbols ``0..U-1``),
values ints, Fractions or floats (floats are taken exactly). The noise (Haris et al. §3, shared in
:mod:`nstheory.noise`) keeps each symbol with probability ``q``, else redraws it uniformly from
all ``U`` symbols, or (``exclude_current=True``) from the other ``U - 1``.

Two exact routes to ``Stab = E[f(x) f(y)]`` (x uniform):

* :func:`stability_by_enumeration` -- the literal sum over all ``U^n x U^n`` pairs with
  ``Pr[y | x] = prod_i P(x_i, y_i)`` (small U, n only);
* :func:`stability_by_efron_stein` -- ``sum_S rho_eff^|S| ||f^{=S}||^2`` with the Efron–Stein
  decomposition (:func:`efron_stein_weights`) and ``rho_eff`` from the shared
  :func:`nstheory.noise.effective_token_correlation` (the formula under test).

Examples
--------
>>> import numpy as np
>>> from fractions import Fraction
>>> f = np.array([[1, 0, -1], [0, 2, 0], [-1, 0, 1]])      # U = 3, n = 2
>>> q = Fraction(5, 8)
>>> stability_by_enumeration(f, q, False) == stability_by_efron_stein(f, q, False)
True
>>> stability_by_enumeration(f, q, True) == stability_by_efron_stein(f, q, True)
True
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_probability
from nstheory.noise import effective_token_correlation


def as_alphabet_function(f) -> tuple[np.ndarray, int, int]:
    """Validate a function on ``[U]^n`` and convert its values to exact Fractions.

    Parameters
    ----------
    f : array_like
        Values of shape ``(U,) * n`` with ``U >= 2``, ``n >= 1``.

    Returns
    -------
    tuple
        ``(values as an object array of Fractions, U, n)``.

    Examples
    --------
    >>> vals, U, n = as_alphabet_function([[0, 0.5, 1], [1, 2, 3], [0, 0, 0]])
    >>> U, n, vals[0, 1]
    (3, 2, Fraction(1, 2))
    >>> as_alphabet_function([[1, 2, 3], [4, 5, 6]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: an alphabet function must have shape (U,)*n ... got (2, 3)
    """
    from nstheory.boolean.function import _to_fraction

    arr = np.asarray(f)
    if arr.ndim < 1:
        raise NSTheoryError("an alphabet function needs at least one coordinate (ndim >= 1)")
    U = arr.shape[0]
    if U < 2 or any(s != U for s in arr.shape):
        raise NSTheoryError(f"an alphabet function must have shape (U,)*n with U >= 2, got "
                            f"{arr.shape}")
    vals = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        vals[idx] = _to_fraction(v)
    return vals, U, arr.ndim


def token_noise_kernel(U: int, q, exclude_current: bool) -> list[list[Fraction]]:
    """``P[a][b] = Pr[y_i = b | x_i = a]`` for one symbol (exact for rational ``q``).

    Parameters
    ----------
    U : int
        Alphabet size.
    q : rational or float
        Keep probability in ``[0, 1]``.
    exclude_current : bool
        Whether the redraw avoids the current symbol.

    Returns
    -------
    list of list of Fraction

    Examples
    --------
    >>> token_noise_kernel(2, Fraction(3, 4), True)
    [[Fraction(3, 4), Fraction(1, 4)], [Fraction(1, 4), Fraction(3, 4)]]
    """
    U = check_int(U, "vocab", lo=2)
    check_probability(q, "keep_prob")
    q = Fraction(q)
    if exclude_current:
        off = (1 - q) / (U - 1)
        return [[q if a == b else off for b in range(U)] for a in range(U)]
    off = (1 - q) / U
    return [[q + off if a == b else off for b in range(U)] for a in range(U)]


def stability_by_enumeration(f, q, exclude_current: bool) -> Fraction:
    """Exact ``E[f(x) f(y)]`` by summing over all pairs ``(x, y)`` (``U^(2n)`` terms).

    Parameters
    ----------
    f : array_like
        Values of shape ``(U,) * n``.
    q : rational or float
        Keep probability in ``[0, 1]``.
    exclude_current : bool
        Whether the redraw avoids the current symbol.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> stability_by_enumeration(np.array([1, -1]), Fraction(3, 4), True)  # U=2: rho = 1/2
    Fraction(1, 2)
    """
    vals, U, n = as_alphabet_function(f)
    if U ** (2 * n) > 5_000_000:
        raise NSTheoryError(f"enumeration of all U^(2n) = {U ** (2 * n)} pairs is too large")
    P = token_noise_kernel(U, q, exclude_current)
    points = list(itertools.product(range(U), repeat=n))
    total = Fraction(0)
    for x in points:
        fx = vals[x]
        if fx == 0:
            continue
        for y in points:
            fy = vals[y]
            if fy == 0:
                continue
            w = Fraction(1)
            for a, b in zip(x, y, strict=True):
                w *= P[a][b]
            total += w * fx * fy
    return total / U**n


def efron_stein_weights(f) -> dict[tuple[int, ...], Fraction]:
    """``||f^{=S}||^2`` for every ``S`` (0-based coordinate tuples), by Möbius inversion of
    ``||f^{subset T}||^2 = E[(E[f | x_T])^2] = sum_{R subset of T} ||f^{=R}||^2``.

    Parameters
    ----------
    f : array_like
        Values of shape ``(U,) * n``.

    Returns
    -------
    dict
        ``S`` (tuple of 0-based coordinates) -> Fraction.

    Examples
    --------
    >>> w = efron_stein_weights(np.array([[1, -1], [-1, 1]]))   # chi_{1,2} on U = 2
    >>> {S: str(v) for S, v in w.items() if v}
    {(0, 1): '1'}
    """
    vals, U, n = as_alphabet_function(f)
    sub = {}
    for k in range(n + 1):
        for T in itertools.combinations(range(n), k):
            others = tuple(i for i in range(n) if i not in T)
            cond = vals.sum(axis=others) / U ** len(others) if others else vals
            sub[T] = sum((v * v for v in np.asarray(cond).ravel()), Fraction(0)) / U**k
    out = {}
    for S in sub:
        out[S] = sum(((-1) ** (len(S) - k) * sub[T]
                      for k in range(len(S) + 1) for T in itertools.combinations(S, k)),
                     Fraction(0))
    return out


def stability_by_efron_stein(f, q, exclude_current: bool) -> Fraction:
    """``sum_S rho_eff^|S| ||f^{=S}||^2`` with ``rho_eff`` from
    :func:`nstheory.noise.effective_token_correlation`.

    Parameters
    ----------
    f : array_like
        Values of shape ``(U,) * n``.
    q : rational or float
        Keep probability in ``[0, 1]``.
    exclude_current : bool
        Whether the redraw avoids the current symbol.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> f = np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 0]])
    >>> stability_by_efron_stein(f, Fraction(1, 2), exclude_current=True)
    Fraction(1, 36)
    """
    _, U, _ = as_alphabet_function(f)
    r = Fraction(effective_token_correlation(Fraction(q), U, exclude_current))
    return sum((r ** len(S) * w for S, w in efron_stein_weights(f).items()), Fraction(0))


def stability_by_sampling(f, q: float, exclude_current: bool, samples: int = 200_000,
                          seed: int = 0):
    """Monte Carlo ``E[f(x) f(y)]`` with the shared :func:`nstheory.noise.resample_tokens`;
    returns :class:`nstheory.stats.Moments`.

    Parameters
    ----------
    f : array_like
        Values of shape ``(U,) * n``.
    q : float
        Keep probability.
    exclude_current : bool
        Whether the redraw avoids the current symbol.
    samples : int, optional
        Number of pairs.
    seed : int, optional
        Seed.

    Returns
    -------
    nstheory.stats.Moments

    Examples
    --------
    >>> m = stability_by_sampling(np.array([1, -1]), 1.0, True, samples=100)
    >>> m.mean
    1.0
    """
    import torch

    from nstheory.noise import resample_tokens
    from nstheory.stats import Moments

    vals, U, n = as_alphabet_function(f)
    table = torch.tensor(np.asarray(vals, dtype=np.float64).ravel())
    g = torch.Generator().manual_seed(int(seed))
    x = torch.randint(0, U, (check_int(samples, "samples", lo=2), n), generator=g)
    y = resample_tokens(x, float(q), U, exclude_current, generator=g)
    weights_ = torch.tensor([U ** (n - 1 - i) for i in range(n)])
    fx = table[(x * weights_).sum(dim=1)]
    fy = table[(y * weights_).sum(dim=1)]
    return Moments.from_values(fx * fy)


__all__ = [
    "efron_stein_weights",
    "stability_by_efron_stein",
    "stability_by_enumeration",
    "stability_by_sampling",
    "token_noise_kernel",
]
