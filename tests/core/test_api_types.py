"""Helpers given a wrong *type* (or a type they could take exactly) answer with a clear error
or the exact value, never a raw AttributeError / OverflowError from deep inside."""

import decimal
from fractions import Fraction

import numpy as np
import pytest

from nstheory.errors import NSTheoryError


def test_exact_decimal_str_takes_rationals_exactly():
    from nstheory.numerics import exact_decimal_str

    assert exact_decimal_str(Fraction(1, 3), 5) == "0.33333"
    # the rounding mode applies to the exact rational, not to a float near it
    assert exact_decimal_str(Fraction(2, 3), 5, decimal.ROUND_FLOOR) == "0.66666"
    assert exact_decimal_str(Fraction(2, 3), 5, decimal.ROUND_CEILING) == "0.66667"
    assert exact_decimal_str(Fraction(-1, 7), 4, decimal.ROUND_CEILING) == "-0.1428"
    assert exact_decimal_str(3, 5) == "3"
    with pytest.raises(NSTheoryError, match="takes a float"):
        exact_decimal_str("1", 3)


def test_rational_json_of_floats_and_bad_values():
    from nstheory.numerics import rational_json

    assert rational_json(0.1)["exact"] == str(Fraction(0.1))  # the double's exact value
    assert rational_json(3) == {"exact": "3", "float": 3.0}
    for bad in (float("nan"), float("inf"), "x", None, True):
        with pytest.raises(NSTheoryError):
            rational_json(bad)


@pytest.mark.parametrize("dps", [1e400, 1.5, "x", None, 0])
def test_bits_for_digits_refuses(dps):
    from nstheory.numerics import bits_for_digits

    with pytest.raises(NSTheoryError, match="dps"):
        bits_for_digits(dps)


def test_correlated_gaussian_needs_a_tensor():
    from nstheory.noise import correlated_gaussian

    with pytest.raises(NSTheoryError, match="torch tensor"):
        correlated_gaussian(np.zeros(3), 0.5)


@pytest.mark.parametrize("rec", [{}, {"n": "x", "mean": 1, "m2": 0}, {"n": -1, "mean": 1,
                                                                       "m2": 0}, [1, 2]])
def test_moments_from_dict_refuses_non_records(rec):
    from nstheory.stats import Moments

    with pytest.raises(NSTheoryError, match="moments record"):
        Moments.from_dict(rec)


def test_moments_round_trip():
    from nstheory.stats import Moments

    m = Moments(5, 0.25, 2.0)
    assert Moments.from_dict(m.to_dict()) == m


def test_s_n_certified_range_at_a_number_is_the_point_enclosure():
    from flint import arb

    from nstheory.attention.certified import s_n_certified, s_n_certified_range

    assert s_n_certified_range(4, 0.5).overlaps(s_n_certified(4, 0.5))
    assert s_n_certified_range(4, np.float64(0.5)).overlaps(s_n_certified(4, 0.5))
    for bad in (float("nan"), arb("nan"), arb(0, "inf")):
        with pytest.raises(NSTheoryError):
            s_n_certified_range(4, bad)


def test_mlp_spectrum_variances():
    from nstheory.spectrum.kernels import MLPKernel, mlp_spectrum

    for bad in (True, None, "1/3", Fraction(1, 3), 10 ** 400, "nan"):
        with pytest.raises(NSTheoryError, match="sw2"):
            MLPKernel(sw2=bad)
    # a numpy scalar is its value; a decimal string keeps its digits
    a = mlp_spectrum(n=2, sw2=np.float64(2.0))["ntk"][0]
    b = mlp_spectrum(n=2, sw2="2")["ntk"][0]
    assert a.overlaps(b) and a.rad() < 1e-14
    assert MLPKernel(sw2=" 0.1 ").sw2 == "0.1"


def test_s_n_takes_a_decimal_string_zero():
    """s_n(4, '0') divided by zero: the exact cases compared the string with 0."""
    from nstheory.attention import s_n
    from nstheory.attention.consistency import s_n_quadrature

    assert s_n(4, "0") == s_n(4, 0) == s_n_quadrature(4, "0")
    assert s_n(4, "1") == 1 and s_n(4, "-1") == 0
