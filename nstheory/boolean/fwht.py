"""Fast Walsh–Hadamard transform in exact integer arithmetic.

The transform of a length-``2^n`` vector ``a`` is ``(H a)[s] = sum_i a[i] (-1)^{popcount(i & s)}``
(unnormalised Sylvester–Hadamard matrix, ``H H = 2^n I``). With the truth-table bit order of
:mod:`nstheory.boolean.function` (bit ``j`` of the index is ``x_{j+1}``, ``0 -> +1``,
``1 -> -1``) this gives ``2^n f^(S)`` where the set ``S`` is the bitmask ``s``.

The implementation is an in-place butterfly on a narrow integer type chosen from a bound on
the entries (``int32`` suffices for ±1 tables up to ``n = 29``; ``int64`` next; Python ints in
an ``object`` array beyond that, so the result is always exact). It is cache-blocked: the low
levels run inside blocks that fit the L2 cache, then the high levels run on column strips of the
``(2^{n-k}, 2^k)`` matrix view, so every element is read from main memory about twice instead of
``n`` times.

Examples
--------
>>> import numpy as np
>>> fwht(np.array([1, 1, 1, -1])).tolist()
[2, 2, 2, -2]
>>> (fwht(fwht(np.array([3, -1, 4, 1]))) // 4).tolist()
[3, -1, 4, 1]
"""

from __future__ import annotations

import numpy as np

from nstheory.errors import NSTheoryError

#: log2 of the block length for the low levels (2^15 int32 = 128 KiB, comfortably in L2).
BLOCK_BITS = 15
#: Levels with span < 2^LOW_BITS run on a transposed copy of the block (long contiguous rows).
LOW_BITS = 4
#: log2 of the column-strip width for the high levels.
STRIP_BITS = 9


def log2_length(size: int) -> int:
    """``n`` for a length ``2^n``; raises :class:`NSTheoryError` otherwise.

    Parameters
    ----------
    size : int
        A power of two.

    Returns
    -------
    int

    Examples
    --------
    >>> log2_length(1024)
    10
    """
    if size < 1 or size & (size - 1):
        raise NSTheoryError(f"length must be a power of two (2^n), got {size}")
    return size.bit_length() - 1


def max_abs(a: np.ndarray) -> int:
    """``max |a|`` as a Python int, without an int64 copy of ``a`` (``|int64 min|`` and uint64
    values of ``2^63`` and more do not fit in int64).

    >>> max_abs(np.array([-2**63, 5], dtype=np.int64)) == 2**63, max_abs(np.array([]))
    (True, 0)
    """
    if a.size == 0:
        return 0
    if a.dtype == object:
        return max(abs(int(v)) for v in a.tolist())
    return max(abs(int(a.min())), abs(int(a.max())))


def exact_dtype(max_abs: int, n: int):
    """Narrowest numpy dtype holding every intermediate of an ``n``-level butterfly on integers
    bounded by ``max_abs`` (intermediates reach ``2^(n+1) * max_abs``); ``object`` (Python
    ints) when int64 is not enough.

    Parameters
    ----------
    max_abs : int
        Bound on the absolute values.
    n : int
        Butterfly levels.

    Returns
    -------
    numpy.dtype

    Examples
    --------
    >>> exact_dtype(1, 24), exact_dtype(1, 40), exact_dtype(2**40, 30)
    (dtype('int32'), dtype('int64'), dtype('O'))
    """
    bound = (int(max_abs) or 1) << (n + 1)
    if bound < 2**31:
        return np.dtype(np.int32)
    if bound < 2**63:
        return np.dtype(np.int64)
    return np.dtype(object)


def _butterfly(a: np.ndarray, h: int) -> None:
    """One in-place level of span ``h`` on the last axis of ``a`` (length a multiple of 2h)."""
    v = a.reshape((*a.shape[:-1], -1, 2, h))
    lo, hi = v[..., 0, :], v[..., 1, :]
    np.add(lo, hi, out=lo)  # lo' = lo + hi
    np.multiply(hi, -2, out=hi)
    np.add(hi, lo, out=hi)  # hi' = lo' - 2 hi = lo - hi


def _butterfly_rows(m: np.ndarray, h: int) -> None:
    """One in-place level of span ``h`` along the first axis of the 2-D array ``m``."""
    v = m.reshape((-1, 2, h, *m.shape[1:]))
    lo, hi = v[:, 0], v[:, 1]
    np.add(lo, hi, out=lo)
    np.multiply(hi, -2, out=hi)
    np.add(hi, lo, out=hi)


def fwht_inplace(a: np.ndarray) -> np.ndarray:
    """Transform the contiguous 1-D array ``a`` in place (no overflow check: choose its dtype
    with :func:`exact_dtype`); returns ``a``.

    Parameters
    ----------
    a : numpy.ndarray
        Contiguous 1-D array of length ``2^n``.

    Returns
    -------
    numpy.ndarray
        ``a``, transformed.

    Examples
    --------
    >>> a = np.array([1, 0, 0, 0], dtype=np.int32)
    >>> fwht_inplace(a)
    array([1, 1, 1, 1], dtype=int32)
    """
    if a.ndim != 1 or not a.flags.c_contiguous:
        raise NSTheoryError("fwht_inplace needs a contiguous 1-D array")
    n = log2_length(a.size)
    if a.dtype == object:  # Python ints: plain whole-array levels (small n only in practice)
        for j in range(n):
            _butterfly(a, 1 << j)
        return a
    k = min(n, BLOCK_BITS)
    rows = a.reshape(-1, 1 << k)
    # low levels, block by block, each block staying in cache
    t = min(k, LOW_BITS)
    for b in range(rows.shape[0]):
        blk = rows[b]
        if t:
            # the first t levels have short spans: run them on the transposed (2^t, 2^(k-t))
            # copy, where they become butterflies between long contiguous rows
            sq = blk.reshape(-1, 1 << t)
            tr = np.ascontiguousarray(sq.T)
            for j in range(t):
                _butterfly_rows(tr, 1 << j)
            sq[...] = tr.T
        for j in range(t, k):
            _butterfly(blk, 1 << j)
    if n > k:
        # high levels: butterflies across the rows of the (2^(n-k), 2^k) view, strip by strip
        w = 1 << min(STRIP_BITS, k)
        for c in range(0, rows.shape[1], w):
            strip = np.ascontiguousarray(rows[:, c : c + w])
            for j in range(n - k):
                _butterfly_rows(strip, 1 << j)
            rows[:, c : c + w] = strip
    return a


#: Up to this n the transform runs as radix-16 matrix products (BLAS) on a cache-resident
#: array; beyond it the cache-blocked integer butterflies of :func:`fwht_inplace` win.
MATMUL_MAX_BITS = 18


def _hadamard(r: int, dtype) -> np.ndarray:
    """The 2^r x 2^r Sylvester-Hadamard matrix, entries (-1)^popcount(i & j)."""
    i = np.arange(1 << r)
    parity = (np.bitwise_count(i[:, None] & i[None, :]) & 1).astype(np.int64)
    return (1 - 2 * parity).astype(dtype)


def fwht_matmul(arr: np.ndarray, max_abs: int) -> np.ndarray | None:
    """Exact FWHT of a length-2^n integer vector by radix-16 matrix products in floating point,
    or ``None`` when floating point cannot be exact.

    Every partial sum is an integer of absolute value at most ``2^n * max_abs``; when that is
    below ``2^24`` (float32) or ``2^53`` (float64) every addition and multiplication by ±1 is
    exact in any summation order, so BLAS gives the exact transform.

    Parameters
    ----------
    arr : numpy.ndarray
        Integer vector of length ``2^n``.
    max_abs : int
        Bound on ``|arr|``.

    Returns
    -------
    numpy.ndarray or None

    Examples
    --------
    >>> fwht_matmul(np.array([1, -1, 1, 1]), 1).tolist()
    [2.0, 2.0, -2.0, 2.0]
    """
    n = log2_length(arr.size)
    bound = (int(max_abs) or 1) << n
    if bound < 2**24:
        ft = np.float32
    elif bound < 2**53:
        ft = np.float64
    else:
        return None
    x = arr.astype(ft)
    levels = 0
    while levels < n:
        r = min(4, n - levels)
        x = np.matmul(_hadamard(r, ft), x.reshape(-1, 1 << r, 1 << levels))
        levels += r
    return x.reshape(-1)


def fwht(values) -> np.ndarray:
    """Exact Walsh–Hadamard transform of an integer vector of length ``2^n``.

    Returns a new integer array (``int32``/``int64`` when the values fit, else ``object``
    holding Python ints). Floats are accepted only if they are integral.

    Parameters
    ----------
    values : array_like
        Integer (or integral float) vector of length ``2^n``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> fwht([1, -1]).tolist()
    [0, 2]
    >>> fwht(np.ones(8, dtype=np.int8)).tolist()
    [8, 0, 0, 0, 0, 0, 0, 0]
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise NSTheoryError(f"fwht needs a 1-D vector, got shape {arr.shape}")
    n = log2_length(arr.size)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise NSTheoryError("fwht works in exact integer arithmetic; got non-integer floats")
        arr = arr.astype(object) if np.abs(arr).max() >= 2**53 else arr.astype(np.int64)
    elif arr.dtype.kind not in "iub" and arr.dtype != object:
        raise NSTheoryError(f"fwht needs integer values, got dtype {arr.dtype}")
    bound = max_abs(arr)
    dt = exact_dtype(bound, n)
    if dt == np.dtype(object):
        out = np.array([int(v) for v in arr], dtype=object)
    else:
        if n <= MATMUL_MAX_BITS:
            res = fwht_matmul(arr, bound)
            if res is not None:
                return res.astype(dt)
        out = np.array(arr, dtype=dt, copy=True, order="C")
    return fwht_inplace(out)


def fwht_numpy_plain(values) -> np.ndarray:
    """Textbook whole-array numpy butterfly (int64, one temporary per level): the baseline
    the benchmark compares :func:`fwht` against.

    Parameters
    ----------
    values : array_like
        Integer vector of length ``2^n``.

    Returns
    -------
    numpy.ndarray
        int64.

    Examples
    --------
    >>> fwht_numpy_plain([1, 1, 1, -1]).tolist()
    [2, 2, 2, -2]
    """
    a = np.array(values, dtype=np.int64)
    n = log2_length(a.size)
    for j in range(n):
        v = a.reshape(-1, 2, 1 << j)
        s = v[:, 0, :] + v[:, 1, :]
        d = v[:, 0, :] - v[:, 1, :]
        v[:, 0, :] = s
        v[:, 1, :] = d
    return a


__all__ = ["exact_dtype", "fwht", "fwht_inplace", "fwht_numpy_plain", "log2_length",
           "max_abs"]
