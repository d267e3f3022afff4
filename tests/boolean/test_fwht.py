"""The exact fast Walsh-Hadamard transform against brute force and SymPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstheory.boolean.fwht import exact_dtype, fwht, fwht_inplace, fwht_numpy_plain
from nstheory.errors import NSTheoryError


def brute_force(values):
    idx = np.arange(len(values))
    chi = 1 - 2 * (np.bitwise_count(np.bitwise_and.outer(idx, idx)).astype(np.int64) & 1)
    return [int(v) for v in chi.astype(object) @ np.array([int(x) for x in values], dtype=object)]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9])
def test_random_tables_match_brute_force(n):
    rng = np.random.default_rng(n)
    a = rng.integers(-5, 6, 1 << n)
    assert fwht(a).tolist() == brute_force(a)


@pytest.mark.parametrize("n", [15, 16, 19])
def test_blocked_path_matches_plain_butterfly(n):
    # n >= BLOCK_BITS exercises the cache-blocked low levels and the strip-wise high levels
    rng = np.random.default_rng(n)
    a = rng.choice(np.array([-1, 1], dtype=np.int8), 1 << n)
    assert np.array_equal(fwht(a), fwht_numpy_plain(a))


def test_sympy_agrees():
    from sympy.discrete.transforms import fwht as sympy_fwht

    rng = np.random.default_rng(3)
    a = rng.integers(-9, 10, 1 << 8)
    assert fwht(a).tolist() == [int(v) for v in sympy_fwht([int(x) for x in a])]


def test_involution():
    rng = np.random.default_rng(4)
    a = rng.integers(-100, 100, 1 << 10)
    assert np.array_equal(fwht(fwht(a)) // (1 << 10), a)


def test_big_integers_stay_exact():
    a = np.array([2**70, -(2**70) + 1, 3, 2**65], dtype=object)
    out = fwht(a)
    assert out.dtype == object
    assert out.tolist() == brute_force(a.tolist())


def test_dtype_choice():
    assert exact_dtype(1, 24) == np.int32
    assert exact_dtype(2**10, 24) == np.int64
    assert exact_dtype(2**61, 10) == np.dtype(object)


@pytest.mark.parametrize("bad", [[1, 2, 3], [], np.zeros((2, 2))])
def test_bad_lengths(bad):
    with pytest.raises(NSTheoryError):
        fwht(bad)


def test_non_integer_floats_rejected():
    with pytest.raises(NSTheoryError, match="non-integer"):
        fwht([0.5, 1.0])


def test_inplace_requires_contiguous():
    a = np.arange(16)[::2]
    with pytest.raises(NSTheoryError):
        fwht_inplace(a)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 7).flatmap(
    lambda n: st.lists(st.integers(-50, 50), min_size=1 << n, max_size=1 << n)))
def test_property_brute_force(values):
    assert fwht(np.array(values)).tolist() == brute_force(values)
