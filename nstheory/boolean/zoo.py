"""A zoo of functions on {-1, 1}^n for teaching and testing.

Each constructor returns an exact :class:`~nstheory.boolean.function.BooleanFunction` for
``n <= EXACT_LIMIT``; pass ``sampling=True`` to get a
:class:`~nstheory.boolean.sampling.SampledFunction` instead (any n). The matching vectorised
callables (``*_fn``) act on int8 arrays of ±1 rows of shape ``(m, n)``.

Conventions: ``-1`` is True (O'Donnell), so ``AND_n(x) = -1`` iff every ``x_i = -1`` and
``OR_n(x) = -1`` iff some ``x_i = -1``. ``Tribes_{w,s}`` is the OR of ``s`` ANDs over
consecutive blocks of ``w`` coordinates (``n = w s``). Majority is defined for odd ``n``.
A linear threshold function is ``sgn(w . x - theta)``, and must not tie at any point.

Examples
--------
>>> from nstheory.boolean.analysis import stability, total_influence
>>> from fractions import Fraction
>>> stability(majority(3), Fraction(1, 2))
Fraction(13, 32)
>>> total_influence(tribes(2, 2))
Fraction(3, 2)
>>> noisy_sparse_parity(4, {1, 2}, Fraction(1, 10)).fourier_coefficient({1, 2})
Fraction(4, 5)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from functools import partial
from numbers import Real

import numpy as np

from nstheory.boolean.function import EXACT_LIMIT, BooleanFunction, cube_points, subset_mask
from nstheory.errors import NSTheoryError, check_int, check_probability, check_seed

#: Most coordinates of a sampled zoo function (each sampled point is a row of ``n`` bytes; the
#: command line allows 10 000).
MAX_SAMPLED_BITS = 100_000


def _build(fn, n: int, name: str, sampling: bool, boolean: bool = True):
    if sampling:
        check_int(n, "n", hi=MAX_SAMPLED_BITS)
    return BooleanFunction.from_callable(fn, n, name=name, boolean=boolean, sampling=sampling)


def _coords(S: Iterable[int] | None, n: int) -> list[int]:
    check_int(n, "n", hi=MAX_SAMPLED_BITS)  # before any list of n coordinates is built
    if S is None:
        return list(range(n))
    m = subset_mask(S, n)
    return [i for i in range(n) if m >> i & 1]


def chi_fn(X: np.ndarray, coords: list[int]) -> np.ndarray:
    """``chi_S(x) = prod_{i in S} x_i`` (0-based column indices).

    Parameters
    ----------
    X : numpy.ndarray
        int8 array ``(m, n)`` of ±1 rows.
    coords : list of int
        0-based columns in ``S``.

    Returns
    -------
    numpy.ndarray
        int8 array ``(m,)``.

    Examples
    --------
    >>> chi_fn(np.array([[1, -1, -1]], dtype=np.int8), [1, 2]).tolist()
    [1]
    """
    if not coords:
        return np.ones(X.shape[0], dtype=np.int8)
    return np.prod(X[:, coords], axis=1, dtype=np.int8)


def parity(n: int, S: Iterable[int] | None = None, sampling: bool = False):
    """``chi_S`` (1-based coordinates; all ``n`` when ``S`` is None).

    Parameters
    ----------
    n : int
        Number of coordinates.
    S : iterable of int, optional
        1-based coordinates (default: all).
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> parity(3, {1, 3}).values_exact()[:4]
    [Fraction(1, 1), Fraction(-1, 1), Fraction(1, 1), Fraction(-1, 1)]
    """
    n = check_int(n, "n", lo=0)
    cs = _coords(S, n)
    name = f"parity_{n}" if S is None else f"chi_{{{','.join(str(i + 1) for i in cs)}}}"
    return _build(partial(chi_fn, coords=cs), n, name, sampling)


def dictator(n: int, i: int = 1, sampling: bool = False):
    """``f(x) = x_i``.

    Parameters
    ----------
    n : int
        Number of coordinates.
    i : int, optional
        The coordinate, ``1 <= i <= n``.
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> dictator(2, 2).values_exact()
    [Fraction(1, 1), Fraction(1, 1), Fraction(-1, 1), Fraction(-1, 1)]
    """
    n = check_int(n, "n", lo=1)
    i = check_int(i, "i", lo=1, hi=n)
    return _build(partial(chi_fn, coords=[i - 1]), n, f"dictator_{i}", sampling)


def majority_fn(X: np.ndarray) -> np.ndarray:
    """``sgn(sum_i x_i)`` for odd n, row-wise.

    Parameters
    ----------
    X : numpy.ndarray
        int8 array of shape ``(m, n)`` with ±1 entries, ``n`` odd.

    Returns
    -------
    numpy.ndarray
        int8 array of shape ``(m,)`` with the majority vote of each row.

    Examples
    --------
    >>> import numpy as np
    >>> majority_fn(np.array([[1, 1, -1], [-1, 1, -1]], dtype=np.int8)).tolist()
    [1, -1]
    """
    return np.where(X.sum(axis=1, dtype=np.int32) > 0, 1, -1).astype(np.int8)


def majority(n: int, sampling: bool = False):
    """``Maj_n`` for odd ``n``.

    Parameters
    ----------
    n : int
        Odd number of coordinates.
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> majority(4)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: Majority_n needs odd n, got 4
    """
    n = check_int(n, "n", lo=1)
    if n % 2 == 0:
        raise NSTheoryError(f"Majority_n needs odd n, got {n}")
    return _build(majority_fn, n, f"majority_{n}", sampling)


def and_fn(X: np.ndarray) -> np.ndarray:
    """``AND_n`` row-wise: -1 iff every ``x_i = -1`` (-1 = True).

    Parameters
    ----------
    X : numpy.ndarray
        int8 array of shape ``(m, n)`` with ±1 entries.

    Returns
    -------
    numpy.ndarray
        int8 array of shape ``(m,)``.

    Examples
    --------
    >>> import numpy as np
    >>> and_fn(np.array([[-1, -1], [-1, 1]], dtype=np.int8)).tolist()
    [-1, 1]
    """
    return np.where(np.all(X == -1, axis=1), -1, 1).astype(np.int8)


def or_fn(X: np.ndarray) -> np.ndarray:
    """``OR_n`` row-wise: -1 iff some ``x_i = -1`` (-1 = True).

    Parameters
    ----------
    X : numpy.ndarray
        int8 array of shape ``(m, n)`` with ±1 entries.

    Returns
    -------
    numpy.ndarray
        int8 array of shape ``(m,)``.

    Examples
    --------
    By De Morgan, ``OR(x) = -AND(-x)``:

    >>> import numpy as np
    >>> from nstheory.boolean.function import cube_points
    >>> X = cube_points(3)
    >>> bool(np.array_equal(or_fn(X), -and_fn(-X)))
    True
    """
    return np.where(np.any(X == -1, axis=1), -1, 1).astype(np.int8)


def and_(n: int, sampling: bool = False):
    """``AND_n`` (-1 = True).

    Parameters
    ----------
    n : int
        Number of coordinates.
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> and_(2).values_exact()[-1]
    Fraction(-1, 1)
    """
    return _build(and_fn, check_int(n, "n", lo=1), f"and_{n}", sampling)


def or_(n: int, sampling: bool = False):
    """``OR_n`` (-1 = True).

    Parameters
    ----------
    n : int
        Number of coordinates.
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> or_(2).values_exact()[0]
    Fraction(1, 1)
    """
    return _build(or_fn, check_int(n, "n", lo=1), f"or_{n}", sampling)


def tribes_fn(X: np.ndarray, w: int, s: int) -> np.ndarray:
    """OR of ``s`` ANDs of width ``w`` over consecutive blocks (-1 = True), row-wise.

    Parameters
    ----------
    X : numpy.ndarray
        int8 array of shape ``(m, w * s)`` with ±1 entries.
    w, s : int
        Tribe width and number of tribes.

    Returns
    -------
    numpy.ndarray
        int8 array of shape ``(m,)``.

    Examples
    --------
    ``Pr[Tribes = True] = 1 - (1 - 2^-w)^s``; for ``w = 2, s = 2`` that is 7/16:

    >>> from nstheory.boolean.function import cube_points
    >>> int((tribes_fn(cube_points(4), 2, 2) == -1).sum())
    7
    """
    blocks = X.reshape(X.shape[0], s, w)
    any_tribe = np.any(np.all(blocks == -1, axis=2), axis=1)
    return np.where(any_tribe, -1, 1).astype(np.int8)


def tribes(w: int, s: int, sampling: bool = False):
    """``Tribes_{w,s}`` on ``n = w s`` coordinates.

    Parameters
    ----------
    w, s : int
        Tribe width and number of tribes.
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> tribes(2, 2).values_exact()[3]  # x_1 = x_2 = -1: the first tribe is all True
    Fraction(-1, 1)
    """
    w = check_int(w, "w", lo=1)
    s = check_int(s, "s", lo=1)
    return _build(partial(tribes_fn, w=w, s=s), w * s, f"tribes_{w},{s}", sampling)


def threshold_fn(X: np.ndarray, w, theta) -> np.ndarray:
    """``sgn(w . x - theta)`` row-wise, the sign exact; raises on a tie (``w . x = theta``).

    The weights and the threshold are taken exactly (a float by its binary value, a
    :class:`~fractions.Fraction` as it is). The margins are computed in floating point after
    an exact power-of-two rescaling (so no weight overflows), with a rigorous bound on the
    rounding error; the rows whose float margin lies within that bound are recomputed in
    exact integer arithmetic. So a sign is never decided by rounding, and an exact tie is
    always reported.

    Parameters
    ----------
    X : numpy.ndarray
        int8 array of shape ``(m, n)`` with ±1 entries.
    w : sequence of real numbers
        Weight vector of length ``n`` (floats, ints or Fractions).
    theta : real number
        Threshold.

    Returns
    -------
    numpy.ndarray
        int8 array of shape ``(m,)``.

    Raises
    ------
    NSTheoryError
        If some row has ``w . x = theta`` exactly.

    Examples
    --------
    Equal weights and ``theta = 0`` give Majority:

    >>> import numpy as np
    >>> from nstheory.boolean.function import cube_points
    >>> X = cube_points(3)
    >>> bool(np.array_equal(threshold_fn(X, np.ones(3), 0.0), majority_fn(X)))
    True
    >>> threshold_fn(X[:1], np.ones(3), 3.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: linear threshold function ties ... at x = [1, 1, 1]; ...

    Exact weights: ``1/10 + 2/10 = 3/10`` is a tie (floats would give ``+1``), and a sum
    beyond the float range keeps its sign:

    >>> threshold_fn(X[:1], [Fraction(1, 10), Fraction(2, 10), 0], Fraction(3, 10))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: linear threshold function ties ...
    >>> threshold_fn(X[:2], [1e308, 1e308, -1e308], 0.0).tolist()
    [1, -1]
    """
    wq = [Fraction(x) for x in np.asarray(w, dtype=object).ravel()]
    tq = Fraction(theta)
    big = max(abs(x) for x in [*wq, tq])
    scale = Fraction(1)
    if big:
        # a power of two with |w_i|, |theta| <= 1 after scaling: exact, and nothing overflows
        e = big.numerator.bit_length() - big.denominator.bit_length() + 1
        scale = Fraction(1, 2**e) if e > 0 else Fraction(2 ** (-e))
    wf = np.array([float(x * scale) for x in wq])
    tf = float(tq * scale)
    n = len(wq)
    # each weight rounds with relative error <= 2^-53 (absolute 2^-1075 if subnormal); a sum
    # of n + 1 terms adds at most (n + 1) roundings of relative size 2^-53: a generous bound
    bound = (2 * n + 4) * 2.0**-53 * (float(np.abs(wf).sum()) + abs(tf)) + (n + 2) * 2.0**-1074
    m = X.astype(np.float64) @ wf - tf
    near = np.flatnonzero(np.abs(m) <= bound)
    if near.size:
        den = math.lcm(*(x.denominator for x in [*wq, tq]))
        wi = np.array([int(x * den) for x in wq], dtype=object)
        exact = X[near].astype(np.int64).astype(object) @ wi - int(tq * den)
        m[near] = [(v > 0) - (v < 0) for v in exact]
        ties = near[[v == 0 for v in exact]]
        if ties.size:
            raise NSTheoryError(
                f"linear threshold function ties (w.x = theta) at x = {X[ties[0]].tolist()}; "
                "shift theta or perturb the weights"
            )
    return np.where(m > 0, 1, -1).astype(np.int8)


def threshold(weights: Iterable[float], theta: float = 0.0, sampling: bool = False):
    """Linear threshold function ``sgn(w . x - theta)`` (LTF).

    Parameters
    ----------
    weights : iterable of float
        Non-empty finite weight vector.
    theta : float, optional
        Threshold; no point may tie.
    sampling : bool, optional
        Return a :class:`~nstheory.boolean.sampling.SampledFunction` (any ``n``) instead of an
        exact function.

    Returns
    -------
    BooleanFunction or SampledFunction

    Examples
    --------
    >>> from nstheory.boolean.analysis import weights as W
    >>> W(threshold([1, 1, 1])) == W(majority(3))
    True
    """
    w = [x.item() if isinstance(x, np.generic) else x for x in weights]
    theta = theta.item() if isinstance(theta, np.generic) else theta
    for x in (*w, theta):
        if isinstance(x, bool) or not isinstance(x, Real | Fraction) or not math.isfinite(x):
            raise NSTheoryError(f"threshold weights and theta must be finite real numbers, "
                                f"got {w} and {theta!r}")
    if not w:
        raise NSTheoryError("threshold weights must be a non-empty vector")
    return _build(partial(threshold_fn, w=tuple(w), theta=theta), len(w), "ltf", sampling)


def noisy_sparse_parity(n: int, S: Iterable[int], eta) -> BooleanFunction:
    """Expected label of k-sparse parity with label noise: ``E[label | x] = (1 - 2 eta) chi_S``
    (the label is ``chi_S(x)`` flipped with probability ``eta``). Exact for rational ``eta``.

    Parameters
    ----------
    n : int
        Number of coordinates.
    S : iterable of int
        1-based coordinates of the parity.
    eta : int, Fraction or float
        Label-flip probability in ``[0, 1]``.

    Returns
    -------
    BooleanFunction

    Examples
    --------
    >>> noisy_sparse_parity(3, {2}, Fraction(1, 4)).values_exact()[:3]
    [Fraction(1, 2), Fraction(1, 2), Fraction(-1, 2)]
    """
    n = check_int(n, "n", lo=1, hi=EXACT_LIMIT)  # a full truth table
    check_probability(eta, "eta")
    cs = _coords(S, n)
    a = 1 - 2 * Fraction(eta.item() if isinstance(eta, np.generic) else eta)
    if max(abs(a.numerator), a.denominator) >= 2**62:  # the table is int64 numerators
        raise NSTheoryError(f"eta = {eta!r}: the exact rational 1 - 2 eta needs more than 62 "
                            "bits; pass a Fraction with a smaller denominator")
    chi = chi_fn(cube_points(n), cs).astype(np.int64)
    return BooleanFunction(chi * a.numerator, a.denominator,
                           name=f"noisy_parity(k={len(cs)}, eta={eta})")


def sample_noisy_sparse_parity(n: int, S: Iterable[int], eta: float, m: int, seed: int = 0):
    """``m`` labelled samples ``(X, y)``: uniform ±1 rows and ``y = chi_S(x)`` flipped w.p.
    ``eta`` (int8 arrays). Seeded by ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n : int
        Number of coordinates.
    S : iterable of int
        1-based coordinates of the parity.
    eta : float
        Label-flip probability.
    m : int
        Number of samples.
    seed : int, optional
        Seed.

    Returns
    -------
    tuple of numpy.ndarray
        ``(X, y)``: ``(m, n)`` and ``(m,)`` int8 arrays.

    Examples
    --------
    >>> X, y = sample_noisy_sparse_parity(6, {1, 2}, 0.0, 5)
    >>> bool(np.all(y == X[:, 0] * X[:, 1]))
    True
    """
    n = check_int(n, "n", lo=1)
    m = check_int(m, "m", lo=1)
    check_probability(eta, "eta")
    rng = np.random.default_rng(seed)
    X = np.where(rng.random((m, n)) < 0.5, 1, -1).astype(np.int8)
    y = chi_fn(X, _coords(S, n))
    flip = rng.random(m) < float(eta)
    return X, np.where(flip, -y, y).astype(np.int8)


def random_function(n: int, seed: int = 0, boolean: bool = True) -> BooleanFunction:
    """A uniformly random ±1-valued function (or, with ``boolean=False``, integer values in
    [-3, 3]), seeded by ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n : int
        Number of coordinates.
    seed : int, optional
        Seed.
    boolean : bool, optional
        ±1 values (else integers in ``[-3, 3]``).

    Returns
    -------
    BooleanFunction

    Examples
    --------
    >>> random_function(3, seed=1).is_boolean
    True
    """
    n = check_int(n, "n", lo=0, hi=EXACT_LIMIT)  # a full truth table
    rng = np.random.default_rng(check_seed(seed))
    if boolean:
        t = np.where(rng.random(1 << n) < 0.5, 1, -1).astype(np.int8)
    else:
        t = rng.integers(-3, 4, 1 << n).astype(np.int8)
    return BooleanFunction.from_table(t, name=f"random_{n}(seed={seed})")


#: Name -> (constructor, argument spec) for the CLI.
ZOO = {
    "dictator": dictator,
    "parity": parity,
    "majority": majority,
    "tribes": tribes,
    "and": and_,
    "or": or_,
    "threshold": threshold,
    "noisy-parity": noisy_sparse_parity,
    "random": random_function,
}

__all__ = [
    "ZOO",
    "and_",
    "dictator",
    "majority",
    "noisy_sparse_parity",
    "or_",
    "parity",
    "random_function",
    "sample_noisy_sparse_parity",
    "threshold",
    "tribes",
]
