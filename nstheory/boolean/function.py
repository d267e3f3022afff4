"""Functions on the Boolean cube {-1, 1}^n held exactly, and their Fourier coefficients.

Conventions (O'Donnell, *Analysis of Boolean Functions*; see docs/conventions.md)
---------------------------------------------------------------------------------
* Domain {-1, 1}^n, ``f = sum_S f^(S) chi_S`` with ``chi_S(x) = prod_{i in S} x_i``.
* **Truth-table bit order.** Entry ``i`` of a table of length ``2^n`` is ``f(x)`` where
  ``x_{j+1} = +1`` if bit ``j`` of ``i`` is 0 and ``x_{j+1} = -1`` if it is 1 (bit 0 is the
  least significant). So index 0 is the all-ones point, index 1 has ``x_1 = -1``, index
  ``2^n - 1`` is the all-minus-ones point. A set ``S`` of coordinates is the bitmask
  ``sum_{i in S} 2^(i-1)``; then ``chi_S`` at index ``i`` is ``(-1)^popcount(i & mask)``.
* **Boolean-valued** means ±1-valued (``-1`` is "True", as in O'Donnell).

A :class:`BooleanFunction` stores ``f`` exactly as an integer table and a positive integer
denominator (``f = table / denom``), so rational-valued functions such as ``(1 - 2 eta) chi_S``
are exact. Coefficients come from the exact integer FWHT (:mod:`nstheory.boolean.fwht`):
``f^(S) = c[S] / (denom 2^n)`` with ``c = H table``.

Examples
--------
>>> f = BooleanFunction.from_table([1, 1, 1, -1])   # AND in the -1 = True convention
>>> f.n, f.is_boolean
(2, True)
>>> [str(v) for v in f.fourier(exact=True)]
['1/2', '1/2', '1/2', '-1/2']
>>> f.fourier_coefficient({1, 2})
Fraction(-1, 2)
>>> cube_points(2).tolist()
[[1, 1], [-1, 1], [1, -1], [-1, -1]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from functools import cached_property, lru_cache

import numpy as np

from nstheory.boolean.fwht import exact_dtype, fwht_inplace, log2_length, max_abs
from nstheory.errors import NSTheoryError, check_int

#: Largest n handled exactly from a full truth table (2^24 entries).
EXACT_LIMIT = 24
#: Rows per call when a callable is evaluated on the whole cube.
CHUNK_ROWS = 1 << 18


def cube_points(n: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows ``start..stop-1`` of the ``(2^n, n)`` int8 array of cube points in truth-table order.

    Parameters
    ----------
    n : int
        Dimension.
    start, stop : int, optional
        Row range (default: all ``2^n`` rows).

    Returns
    -------
    numpy.ndarray
        int8 array ``(stop - start, n)``.

    Examples
    --------
    >>> cube_points(3, 5, 7).tolist()
    [[-1, 1, -1], [1, -1, -1]]
    >>> cube_points(3, stop=100)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: stop must be <= 8, got 100
    """
    n = check_int(n, "n", lo=0)
    size = 1 << n
    stop = size if stop is None else check_int(stop, "stop", lo=0, hi=size)
    start = check_int(start, "start", lo=0, hi=stop)
    m = stop - start
    if m > 1 << EXACT_LIMIT:
        raise NSTheoryError(f"cube_points: {m} rows of {n} bytes requested; at most "
                            f"2^{EXACT_LIMIT} rows per call (ask for row ranges)")
    if m > 0 and m & (m - 1) == 0 and start % m == 0 and m <= (1 << n):
        # aligned block of 2^L rows: the low L columns repeat, the high ones are constant
        L = m.bit_length() - 1
        X = np.empty((m, n), dtype=np.int8)
        X[:, :L] = _low_block(L)
        for j in range(L, n):
            X[:, j] = -1 if (start >> j) & 1 else 1
        return X
    idx = np.arange(start, stop, dtype=np.int64)
    bits = (idx[:, None] >> np.arange(n, dtype=np.int64)[None, :]) & 1
    return (1 - 2 * bits).astype(np.int8)


@lru_cache(maxsize=4)
def _low_block(L: int) -> np.ndarray:
    """All of {-1,1}^L in truth-table order (read-only, cached)."""
    X = np.empty((1 << L, L), dtype=np.int8)
    for j in range(L):
        X.reshape(-1, 2, 1 << j, L)[:, 0, :, j] = 1
        X.reshape(-1, 2, 1 << j, L)[:, 1, :, j] = -1
    X.flags.writeable = False
    return X


def popcounts(n: int) -> np.ndarray:
    """``|S|`` for every bitmask ``S`` in ``0..2^n - 1`` (uint8).

    Parameters
    ----------
    n : int
        Dimension.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> popcounts(3).tolist()
    [0, 1, 1, 2, 1, 2, 2, 3]
    """
    return np.bitwise_count(np.arange(1 << n, dtype=np.uint32)).astype(np.uint8)


def subset_mask(S: Iterable[int] | int, n: int) -> int:
    """Bitmask of a set of 1-based coordinates (an int is taken as a mask already).

    Parameters
    ----------
    S : iterable of int or int
        1-based coordinates, or a bitmask.
    n : int
        Dimension (coordinates must lie in ``1..n``).

    Returns
    -------
    int

    Examples
    --------
    >>> subset_mask({1, 3}, 4), subset_mask(5, 4)
    (5, 5)
    """
    if isinstance(S, int | np.integer):
        m = int(S)
        if not 0 <= m < (1 << n):
            raise NSTheoryError(f"subset mask must lie in [0, 2^{n}), got {m}")
        return m
    m = 0
    for i in S:
        i = check_int(i, "coordinate", lo=1, hi=n)
        m |= 1 << (i - 1)
    return m


def _to_fraction(v) -> Fraction:
    if isinstance(v, Fraction):
        return v
    if isinstance(v, int | np.integer):
        return Fraction(int(v))
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            raise NSTheoryError(f"function values must be finite, got {v}")
        return Fraction(float(v))
    try:
        return Fraction(v)
    except (TypeError, ValueError):
        raise NSTheoryError(f"function values must be real numbers, got {v!r}") from None


def _as_array(values) -> np.ndarray:
    """``values`` as an array without rounding: numpy turns a list holding Python ints of
    ``2^63`` and above into float64 (rounded), so such lists become object arrays."""
    if isinstance(values, np.ndarray):
        return values
    vals = list(values) if isinstance(values, list | tuple) else values
    if isinstance(vals, list) and any(
            isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53 for v in vals):
        return np.array(vals, dtype=object)
    return np.asarray(vals)


def _exact_table(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer table and denominator with ``values = table / denom`` exactly."""
    if values.dtype.kind in "iub":
        if values.dtype.kind == "u":
            if values.size and int(values.max()) >= 2**63:      # would wrap in int64
                return np.array([int(v) for v in values.tolist()], dtype=object), 1
            return values.astype(np.int64), 1
        return values, 1
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise NSTheoryError("function values must be finite (got NaN or inf)")
        if np.all(values == np.round(values)) and np.abs(values).max(initial=0) < 2**53:
            return values.astype(np.int64), 1
    fr = [_to_fraction(v) for v in values.ravel().tolist()]
    denom = math.lcm(*(x.denominator for x in fr)) if fr else 1
    nums = [x.numerator * (denom // x.denominator) for x in fr]
    big = max((abs(v) for v in nums), default=0) >= 2**62
    return np.array(nums, dtype=object if big else np.int64), denom


class BooleanFunction:
    """A real-valued function on {-1, 1}^n stored exactly: ``f = table / denom``.

    Build it with :meth:`from_table` or :meth:`from_callable` (or the constructors in
    :mod:`nstheory.boolean.zoo`). Fourier data are computed once and cached.

    Parameters
    ----------
    table : numpy.ndarray
        Integer numerators of the truth table (length ``2^n``, documented bit order: bit ``j``
        of the index set means ``x_{j+1} = -1``).
    denom : int, optional
        Positive common denominator.
    name : str, optional
        Label used in printed output.

    Examples
    --------
    Parity on two bits, ``x_1 x_2``, has all its weight on ``S = {1, 2}``:

    >>> f = BooleanFunction([1, -1, -1, 1], name="chi_12")
    >>> f.n, f.fourier_coefficient({1, 2}), f.fourier_coefficient(set())
    (2, Fraction(1, 1), Fraction(0, 1))
    >>> BooleanFunction([1, 2], denom=2).values_exact()
    [Fraction(1, 2), Fraction(1, 1)]
    """

    def __init__(self, table: np.ndarray, denom: int = 1, name: str = "") -> None:
        table = np.asarray(table)
        self.n = log2_length(table.size)
        if self.n > EXACT_LIMIT:
            raise NSTheoryError(
                f"n = {self.n} exceeds the exact limit n <= {EXACT_LIMIT}; use "
                "from_callable(fn, n, sampling=True) for sampling estimators"
            )
        if int(denom) < 1:
            raise NSTheoryError(f"denominator must be a positive integer, got {denom}")
        if table.dtype.kind == "u" and table.size and int(table.max()) >= 2**63:
            table = np.array([int(v) for v in table.tolist()], dtype=object)
        if table.dtype.kind not in "iub" and not (
                table.dtype == object and all(isinstance(v, int | np.integer)
                                              for v in table.tolist())):
            raise NSTheoryError(
                f"BooleanFunction(table, denom) takes integer numerators, got dtype "
                f"{table.dtype}; use BooleanFunction.from_table for real values (taken exactly)")
        if table.dtype != object and table.dtype.kind in "iub":
            lo, hi = (int(table.min()), int(table.max())) if table.size else (0, 0)
            if -128 <= lo and hi <= 127:
                table = table.astype(np.int8)  # a copy
            else:
                table = table.astype(np.int64)  # a copy
        else:
            table = np.array(table, copy=True)
        table.flags.writeable = False  # cached Fourier data must stay valid
        self.table = table
        self.denom = int(denom)
        self.name = name

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_table(cls, values, name: str = "", boolean: bool = False) -> BooleanFunction:
        """From a truth table of length ``2^n`` in the documented bit order. Values may be
        ints, Fractions or floats (floats are taken exactly). ``boolean=True`` requires ±1.

        >>> BooleanFunction.from_table([1, -1, 1])
        Traceback (most recent call last):
        ...
        nstheory.errors.NSTheoryError: truth table length must be a power of two (2^n), got 3
        """
        arr = _as_array(values)
        if arr.ndim != 1:
            raise NSTheoryError(f"truth table must be 1-D, got shape {arr.shape}")
        if arr.size < 1 or arr.size & (arr.size - 1):
            raise NSTheoryError(
                f"truth table length must be a power of two (2^n), got {arr.size}"
            )
        n = arr.size.bit_length() - 1
        if n > EXACT_LIMIT:
            raise NSTheoryError(
                f"truth table has 2^{n} entries: n = {n} exceeds the exact limit "
                f"n <= {EXACT_LIMIT}"
            )
        table, denom = _exact_table(arr)
        f = cls(table, denom, name)
        if boolean:
            f.require_boolean()
        return f

    @classmethod
    def from_callable(
        cls,
        fn: Callable[[np.ndarray], np.ndarray],
        n: int,
        name: str = "",
        boolean: bool = False,
        sampling: bool = False,
    ):
        """Evaluate a vectorised callable ``fn(X) -> values`` on every cube point.

        ``X`` is an int8 array of shape ``(m, n)`` of ±1 rows in truth-table order (the cube
        is passed in chunks of :data:`CHUNK_ROWS` rows, so ``fn`` must act row by row).
        For ``n > EXACT_LIMIT`` pass ``sampling=True`` to get a
        :class:`nstheory.boolean.sampling.SampledFunction` (estimators with confidence
        intervals); without it that is an error. ``boolean=True`` requires ±1 outputs.

        >>> f = BooleanFunction.from_callable(lambda X: X.prod(axis=1), 3, boolean=True)
        >>> f.fourier_coefficient({1, 2, 3})
        Fraction(1, 1)
        >>> BooleanFunction.from_callable(lambda X: X[:, 0], 30)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nstheory.errors.NSTheoryError: n = 30 exceeds the exact limit n <= 24; pass sampling=True...
        """
        n = check_int(n, "n", lo=0)
        if sampling:
            from nstheory.boolean.sampling import SampledFunction

            return SampledFunction(fn, n, name=name, boolean=boolean)
        if n > EXACT_LIMIT:
            raise NSTheoryError(
                f"n = {n} exceeds the exact limit n <= {EXACT_LIMIT}; pass sampling=True (CLI: "
                "--sampling) for sampling estimators with confidence intervals"
            )
        size = 1 << n
        parts = []
        for start in range(0, size, CHUNK_ROWS):
            stop = min(size, start + CHUNK_ROWS)
            X = cube_points(n, start, stop)
            out = fn(X)
            if hasattr(out, "detach"):
                out = out.detach().cpu().numpy()
            out = np.asarray(out).reshape(-1)
            if out.size != stop - start:
                raise NSTheoryError(
                    f"callable returned {out.size} values for {stop - start} input rows"
                )
            parts.append(out)
        values = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if boolean:
            _require_pm1(values, n)
        return cls.from_table(values, name=name)

    # ---------------------------------------------------------------- basic data
    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<BooleanFunction{label} n={self.n}>"

    @property
    def size(self) -> int:
        return self.table.size

    @cached_property
    def is_boolean(self) -> bool:
        """Whether every value is ±1."""
        if self.table.dtype == object:
            return all(abs(v) == self.denom for v in self.table)
        t = self.table
        return bool(np.all((t == self.denom) | (t == -self.denom)))

    def require_boolean(self) -> BooleanFunction:
        """Raise :class:`NSTheoryError` unless ±1-valued; returns ``self``."""
        if not self.is_boolean:
            vals = self.values_float()
            bad = int(np.flatnonzero(np.abs(vals) != 1)[0])
            raise NSTheoryError(
                f"a +-1-valued (Boolean) function is required, but f(x) = "
                f"{self.value(bad)} at x = {cube_points(self.n, bad, bad + 1)[0].tolist()}"
            )
        return self

    def value(self, index: int) -> Fraction:
        """Exact ``f`` at truth-table index ``index``."""
        return Fraction(int(self.table[index]), self.denom)

    def values_float(self) -> np.ndarray:
        """The truth table as float64."""
        if self.table.dtype == object:
            return np.array([float(Fraction(int(v), self.denom)) for v in self.table])
        return self.table.astype(np.float64) / self.denom

    def values_exact(self) -> list[Fraction]:
        """The truth table as Fractions."""
        return [Fraction(int(v), self.denom) for v in self.table.tolist()]

    # ---------------------------------------------------------------- Fourier data
    @cached_property
    def coefficients_scaled(self) -> np.ndarray:
        """Integer array ``c`` with ``f^(S) = c[S] / (denom * 2^n)`` (exact FWHT)."""
        t = self.table
        dt = exact_dtype(max_abs(t), self.n)
        if dt == np.dtype(object):
            c = np.array([int(v) for v in t], dtype=object)
        else:
            c = np.array(t, dtype=dt, order="C")
        c = fwht_inplace(c)
        c.flags.writeable = False
        return c

    @property
    def scale(self) -> int:
        """``denom * 2^n``: the common denominator of the Fourier coefficients."""
        return self.denom << self.n

    def fourier_coefficient(self, S: Iterable[int] | int) -> Fraction:
        """Exact ``f^(S)``; ``S`` a set of 1-based coordinates or a bitmask."""
        return Fraction(int(self.coefficients_scaled[subset_mask(S, self.n)]), self.scale)

    def fourier(self, exact: bool = False):
        """All coefficients indexed by bitmask: float64 array, or list of Fractions."""
        c = self.coefficients_scaled
        if exact:
            return [Fraction(int(v), self.scale) for v in c.tolist()]
        if c.dtype == object:
            return np.array([float(Fraction(int(v), self.scale)) for v in c])
        return c.astype(np.float64) / self.scale

    @cached_property
    def squared_coefficients_scaled(self) -> np.ndarray:
        """``c[S]^2`` (``f^(S)^2 = c^2 / scale^2``): int64 when exact, else Python ints."""
        c = self.coefficients_scaled
        if c.dtype != object:
            m = max_abs(c)
            # Parseval: sum_S c[S]^2 = 2^n sum_x table[x]^2, so every partial sum is bounded
            total = self.squared_norm() * (self.scale * self.scale)
            if m * m < 2**63 and total < 2**63:
                c64 = c.astype(np.int64)
                np.multiply(c64, c64, out=c64)
                c64.flags.writeable = False
                return c64
        return np.array([int(v) * int(v) for v in c.tolist()], dtype=object)

    @cached_property
    def weight_sums_scaled(self) -> tuple[int, ...]:
        """``scale^2 W^k`` for ``k = 0..n`` (exact integers; cached)."""
        return tuple(_group_sums(self.squared_coefficients_scaled, popcounts(self.n),
                                 self.n + 1))

    def mean(self) -> Fraction:
        """``E[f] = f^(emptyset)``."""
        return self.fourier_coefficient(0)

    def squared_norm(self) -> Fraction:
        """``||f||_2^2 = E[f^2]`` computed from the table (not from Parseval), in int64 only
        where the sum fits.

        >>> BooleanFunction([3, -1, 1, 1]).squared_norm()
        Fraction(3, 1)
        """
        t = self.table
        if t.dtype == np.int8 and max_abs(t) <= 1:
            s = int(np.count_nonzero(t))
        else:
            s = square_sum(t)
        return Fraction(s, self.denom * self.denom << self.n)


def square_sum(a: np.ndarray) -> int:
    """Exact ``sum a^2`` of an integer array: int64 dot products over chunks short enough that
    no chunk's sum can wrap, Python ints where a square alone would not fit.

    >>> square_sum(np.full(2**20, 3 * 10**9, dtype=np.int64)) == 2**20 * 9 * 10**18
    True
    """
    m = max_abs(a)
    if a.dtype == object or m >= 2**31:
        return sum(int(v) * int(v) for v in a.tolist())
    a = a.astype(np.int64, copy=False).ravel()
    step = max(1, (2**63 - 1) // max(m * m, 1))
    return sum(int(np.dot(a[i:i + step], a[i:i + step])) for i in range(0, a.size, step))


def _group_sums(sq: np.ndarray, keys: np.ndarray, nkeys: int) -> list[int]:
    """Exact integer sums of ``sq`` grouped by ``keys`` (0..nkeys-1)."""
    if sq.dtype != object:
        total = int(sq.sum())
        if total < 2**53:  # every partial sum is exact in float64
            return [int(v) for v in np.bincount(keys, weights=sq, minlength=nkeys)]
        return [int(sq[keys == k].sum()) for k in range(nkeys)]
    out = [0] * nkeys
    for k, v in zip(keys.tolist(), sq.tolist(), strict=True):
        out[k] += v
    return out


def _require_pm1(values: np.ndarray, n: int) -> None:
    vals = np.asarray(values)
    ok = (vals == 1) | (vals == -1)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise NSTheoryError(
            "a +-1-valued (Boolean) function is required, but the callable returned "
            f"{vals[bad]!r} at x = {cube_points(n, bad, bad + 1)[0].tolist()}"
        )


def as_function(f) -> BooleanFunction:
    """Accept a :class:`BooleanFunction` or a truth table.

    Parameters
    ----------
    f : BooleanFunction or array_like
        A function (returned unchanged) or a truth table of length ``2^n``.

    Returns
    -------
    BooleanFunction

    Examples
    --------
    >>> g = as_function([1, 1, 1, -1])     # AND_2 (-1 = True)
    >>> g.n, g.mean()
    (2, Fraction(1, 2))
    >>> as_function(g) is g
    True
    """
    if isinstance(f, BooleanFunction):
        return f
    return BooleanFunction.from_table(f)


__all__ = [
    "CHUNK_ROWS",
    "EXACT_LIMIT",
    "BooleanFunction",
    "as_function",
    "cube_points",
    "popcounts",
    "subset_mask",
]
