"""Corners where the exact Boolean routes gave silently wrong numbers or raw errors (a
differential sweep against brute-force enumeration in Fractions): integer overflow of sums,
truncated or rounded tables, cancellation in the float noise sensitivity, inputs accepted by the
validators and then mishandled, and zero-spread Monte Carlo intervals."""

from __future__ import annotations

import json
import time
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from nstheory.boolean.analysis import noise_operator, noise_sensitivity, stability
from nstheory.boolean.concentration import lemma1_threshold
from nstheory.boolean.enumeration import influences_by_derivatives
from nstheory.boolean.function import BooleanFunction
from nstheory.boolean.fwht import fwht
from nstheory.boolean.juntas import closest_junta, friedgut_bound
from nstheory.boolean.majority_exact import majority_stability, sheppard_limit
from nstheory.boolean.zoo import and_, majority
from nstheory.errors import NSTheoryError


def test_sums_of_large_tables_do_not_wrap():
    # n = 24, f = +-10^6 alternating in x_1: E f^2 = 10^12, Inf_1 = 10^12, the others 0, and
    # NS_{1/4} = (E f^2 - Stab_{1/2})/2 = 10^12 (1 - 1/2)/2. The int64 sum 2^24 10^12 > 2^63
    # wrapped to -99511627776.
    f = BooleanFunction.from_table(np.tile(np.array([10**6, -10**6]), 2**23))
    assert f.squared_norm() == 10**12
    inf = influences_by_derivatives(f)
    assert inf[0] == 10**12 and inf[1] == 0
    assert noise_sensitivity(f, Fraction(1, 4)) == Fraction(10**12, 4)
    assert closest_junta(f, 1).weight_outside == 0


def test_tables_are_taken_exactly_or_refused():
    with pytest.raises(NSTheoryError, match="integer numerators"):
        BooleanFunction([0.5, 1.0])                 # was analysed as [0, 1]
    assert BooleanFunction.from_table([0.5, 1.0]).values_exact() == [Fraction(1, 2), 1]
    big = [0, 2**64 - 1]                            # numpy reads this list as float64
    assert BooleanFunction.from_table(big).values_exact() == big
    assert BooleanFunction.from_table([0, 2**63 + 1]).values_exact() == [0, 2**63 + 1]
    u = np.array([2**63 + 5, 1], dtype=np.uint64)  # wrapped to negative in int64
    assert BooleanFunction.from_table(u).mean() == Fraction(2**63 + 6, 2)
    assert BooleanFunction(u).values_exact() == [2**63 + 5, 1]


def test_fwht_at_the_int64_edges():
    # H [a, 0] = [a, a]; |int64 min| overflowed the bound and int32 garbage came back
    assert [int(v) for v in fwht(np.array([-2**63, 0], dtype=np.int64))] == [-2**63] * 2
    assert [int(v) for v in fwht(np.array([2**63, 0], dtype=np.uint64))] == [2**63] * 2


def test_float_noise_sensitivity_keeps_relative_precision_at_tiny_delta():
    # the float route subtracted E f^2 - Stab: 9.4e-6 relative error at delta = 1e-12, 2.5%
    # at 1e-15; the exact route is the referee
    f = majority(11)
    for delta in (1e-12, 1e-15, 0.3, 0.5, 0.9, 1 - 1e-13, 1.0):
        exact = noise_sensitivity(f, Fraction(delta))
        assert noise_sensitivity(f, delta) == pytest.approx(float(exact), rel=1e-13, abs=0), delta


def test_noise_operator_of_float_tables_at_rho_zero_is_the_mean():
    for table in ([1e-3] * 8, [1e-3, -1e-3] * 8, [0.1, 0.2, 0.7, -0.3]):
        f = BooleanFunction.from_table(table)
        g = noise_operator(f, 0)                    # raised (gcd on float64 / OverflowError)
        assert set(g.values_exact()) == {f.mean()}


def test_validated_inputs_are_read_exactly_not_crashed_on():
    f = majority(3)
    assert stability(f, "1/2") == stability(f, Fraction(1, 2)) == Fraction(13, 32)
    assert noise_sensitivity(f, "1/4") == noise_sensitivity(f, Fraction(1, 4))
    assert noise_operator(f, "1/2").values_exact() == noise_operator(
        f, Fraction(1, 2)).values_exact()
    assert majority_stability(3, mpmath.mpf("0.5")) == Fraction(13, 32)
    assert sheppard_limit(mpmath.mpf("0.5"), dps=30) == sheppard_limit(Fraction(1, 2), dps=30)
    assert lemma1_threshold("0.9", "0.01", "0.05") == lemma1_threshold(
        Fraction(9, 10), Fraction(1, 100), Fraction(1, 20))
    with pytest.raises(NSTheoryError, match="real number"):
        noise_sensitivity(f, True)                  # was read as delta = 1


def test_friedgut_bound_beyond_float_range():
    # k = ceil(I / eps) = 542: I / tau = I^3 9^(k-1) / eps^2 ~ 10^519 -> inf, not OverflowError
    b = friedgut_bound(majority(11), Fraction(1, 200))
    assert b.k == 542 and b.size_bound == float("inf")
    assert friedgut_bound(10, Fraction(1, 100)).size_bound == float("inf")


def test_huge_exponents_are_refused_quickly():
    from nstheory.cli import main

    t0 = time.perf_counter()
    with pytest.raises(NSTheoryError, match="exponent beyond"):
        stability(majority(3), "1e-99999999")       # 10^99999999 was built first (a hang)
    assert main(["boolean", "dictator", "2", "--rho", "1e-99999999"]) == 2
    assert time.perf_counter() - t0 < 5


def test_zero_spread_sample_interval_contains_the_rare_value(capsys):
    # AND_25 has I = 25 / 2^24 = 1.5e-6: 1000 draws see no pivotal bit; "[0, 0]" excluded it
    f = and_(25, sampling=True)
    est = f.total_influence(samples=1000, seed=1)
    assert est.mean == 0 and est.ci95[0] <= 25 / 2**24 <= est.ci95[1]
    assert est.ci95[1] == pytest.approx(25 * (1 - 0.025 ** (1 / 1000)), rel=1e-9)
    s = f.stability(0.5, samples=1000, seed=0)
    assert s.ci95[0] < s.mean == 1 == s.ci95[1]


def test_stab_is_called_a_correlation_only_for_pm1_functions(capsys):
    from nstheory.cli import main

    assert main(["boolean", "noisy-parity", "3:1", "--eta", "0.3", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert not r["boolean"] and "second moment" in r["view"] and "correlation" not in r["view"]
    assert main(["boolean", "majority", "3", "--json"]) == 0
    assert "correlation" in json.loads(capsys.readouterr().out)["view"]
