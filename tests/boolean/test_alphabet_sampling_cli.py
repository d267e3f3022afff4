"""Finite alphabets, sampling estimators, Majority closed forms and the CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb

import numpy as np
import pytest

from nstheory.boolean import zoo
from nstheory.boolean.alphabet import (
    efron_stein_weights,
    stability_by_efron_stein,
    stability_by_enumeration,
    token_noise_kernel,
)
from nstheory.boolean.analysis import stability, total_influence
from nstheory.boolean.majority_exact import majority_stability, majority_total_influence
from nstheory.boolean.sampling import SampledFunction
from nstheory.errors import NSTheoryError


# ------------------------------------------------------------------ alphabets
@pytest.mark.parametrize("U,n", [(2, 2), (3, 2), (4, 2), (3, 3)])
@pytest.mark.parametrize("excl", [False, True])
def test_token_noise_routes_agree(U, n, excl):
    rng = np.random.default_rng(U * 10 + n)
    f = rng.integers(-2, 3, (U,) * n)
    for q in (Fraction(5, 8), Fraction(1, 3), Fraction(0), Fraction(1)):
        assert stability_by_enumeration(f, q, excl) == stability_by_efron_stein(f, q, excl)


def test_kernel_rows_are_distributions():
    for excl in (False, True):
        P = token_noise_kernel(5, Fraction(2, 7), excl)
        assert all(sum(row) == 1 for row in P)


def test_efron_stein_is_orthogonal_decomposition():
    f = np.random.default_rng(0).integers(-3, 4, (3, 3, 3))
    w = efron_stein_weights(f)
    vals = [Fraction(int(v)) for v in f.ravel()]
    assert sum(w.values()) == sum(v * v for v in vals) / 27
    assert all(v >= 0 for v in w.values())
    assert w[()] == (sum(vals) / 27) ** 2


def test_binary_alphabet_with_exclusion_is_boolean_noise():
    # U = 2 and exclusion: rho_eff = 2q - 1 = rho (O'Donnell's flip noise)
    f = zoo.majority(3)
    table = np.array([int(v) for v in f.values_exact()]).reshape(2, 2, 2).transpose(2, 1, 0)
    q = Fraction(3, 4)
    assert stability_by_efron_stein(table, q, True) == stability(f, 2 * q - 1)


def test_alphabet_bad_input():
    with pytest.raises(NSTheoryError):
        stability_by_enumeration(np.zeros((2, 3)), Fraction(1, 2), False)
    with pytest.raises(NSTheoryError):
        stability_by_enumeration(np.zeros((2, 2)), Fraction(3, 2), False)


# ------------------------------------------------------------------ sampling
def test_sampled_estimates_cover_exact_values():
    f = zoo.majority(9)
    s = zoo.majority(9, sampling=True)
    est = s.stability(0.3, samples=40_000, seed=5)
    assert abs(est.mean - float(stability(f, Fraction(3, 10)))) < 4.5 * est.stderr
    ti = s.total_influence(samples=40_000, seed=6)
    assert abs(ti.mean - float(total_influence(f))) < 4.5 * ti.stderr
    inf = s.influence(2, samples=40_000, seed=7)
    assert abs(inf.mean - float(total_influence(f)) / 9) < 4.5 * inf.stderr
    ns = s.noise_sensitivity(0.1, samples=40_000, seed=8)
    exact_ns = (1 - float(stability(f, Fraction(4, 5)))) / 2
    assert abs(ns.mean - exact_ns) < 4.5 * ns.stderr
    assert est.ci95[0] < est.mean < est.ci95[1]
    assert "95% CI" in str(est)


def test_sampled_beyond_limit_two_seeds_against_exact():
    s = zoo.majority(41, sampling=True)
    a = s.stability(0.5, samples=5000, seed=1)
    b = s.stability(0.5, samples=5000, seed=2)
    exact = float(majority_stability(41, Fraction(1, 2)))
    for est in (a, b):  # two independent estimates, each against the exact value
        assert abs(est.mean - exact) < 4.5 * est.stderr


def test_sampled_requires_pm1():
    s = SampledFunction(lambda X: X.sum(axis=1), 30, boolean=True)
    with pytest.raises(NSTheoryError, match=r"\+-1-valued"):
        s.stability(0.5, samples=100)
    with pytest.raises(NSTheoryError):
        s.stability(1.5, samples=100)


# ------------------------------------------------------------------ majority closed forms
def test_majority_closed_forms():
    for n in (1, 3, 5, 7, 9, 11):
        f = zoo.majority(n)
        assert total_influence(f) == majority_total_influence(n)
        assert majority_total_influence(n) == Fraction(n * comb(n - 1, (n - 1) // 2),
                                                       2 ** (n - 1))
        for r in (Fraction(1, 2), Fraction(-7, 9), Fraction(1), Fraction(-1)):
            assert majority_stability(n, r) == stability(f, r)
    with pytest.raises(NSTheoryError):
        majority_stability(4, Fraction(1, 2))


# ------------------------------------------------------------------ CLI
def _run(argv, capsys):
    from nstheory.cli import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_json_majority(capsys):
    rc, out, _ = _run(["boolean", "majority", "11", "--rho", "0.5", "--json"], capsys)
    assert rc == 0
    d = json.loads(out)
    assert d["stab"]["exact"] == "47104957/134217728"
    assert round(d["stab"]["float"], 6) == 0.350959
    assert d["total_influence"]["exact"] == "693/256"
    assert len(d["weights"]) == 12 and len(d["influences"]) == 11
    assert sum(Fraction(w["exact"]) for w in d["weights"]) == 1
    assert "raw" in d["view"]


def test_cli_text_tribes_and_parity(capsys):
    rc, out, _ = _run(["boolean", "tribes", "3,3"], capsys)
    assert rc == 0 and "Stab_rho" in out and "influences" in out
    rc, out, _ = _run(["boolean", "parity", "5", "--rho", "1/3"], capsys)
    assert rc == 0 and "1/243" in out


def test_cli_errors(capsys):
    rc, _, err = _run(["boolean", "parity", "5", "--rho", "2"], capsys)
    assert rc == 2 and "rho must lie in [-1, 1]" in err
    rc, _, err = _run(["boolean", "majority", "31"], capsys)
    assert rc == 2 and "--sampling" in err
    rc, _, err = _run(["boolean", "nonsense", "3"], capsys)
    assert rc == 2 and "unknown function" in err
    rc, _, err = _run(["boolean", "tribes", "3"], capsys)
    assert rc == 2


def test_cli_sampling(capsys):
    rc, out, _ = _run(["boolean", "majority", "31", "--sampling", "--samples", "2000", "--json"],
                      capsys)
    d = json.loads(out)
    assert rc == 0 and d["sampling"] and d["stab"]["n"] == 2000
